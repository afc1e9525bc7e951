package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/history/dynamostore"
)

var _ workStore = (*dynamostore.Store)(nil)

// workTTL is how long the work documents stay in the table: longer than
// any execution (Step Functions' standard workflows run up to a year, but
// keyrot's in hours), short enough that the table does not grow.
const workTTL = 30 * 24 * time.Hour

// workStore keeps an execution's work documents (the coordinator's
// batches, each batch's state) outside the state machine's payloads,
// which Step Functions caps at 256 KiB: with the history in DynamoDB
// (internal/history/dynamostore), the coordinator returns one small
// reference per batch, whatever the organization's size, and each batch's
// results and held notices stay in the table until the reporter reads
// them. With a SQLite history (one host, the tests), the documents travel
// in the payloads as before.
type workStore interface {
	PutWork(ctx context.Context, execution, name string, data []byte, expires time.Time) error
	Work(ctx context.Context, execution, name string) ([]byte, bool, error)
}

// now is the App's clock, time.Now if it has none.
func (f *Functions) now() time.Time {
	if f.App.Now != nil {
		return f.App.Now()
	}
	return time.Now()
}

// works returns the work store, nil when the history is not one.
func (f *Functions) works() workStore {
	ws, _ := f.App.History.(workStore)
	return ws
}

func batchDoc(index int) string { return fmt.Sprintf("batch/%06d", index) }
func stateDoc(index int) string { return fmt.Sprintf("state/%06d", index) }

func putDoc(ctx context.Context, ws workStore, execution, name string, v any, now time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s of %s: %w", name, execution, err)
	}
	if err := ws.PutWork(ctx, execution, name, b, now.Add(workTTL)); err != nil {
		return fmt.Errorf("store %s of %s: %w", name, execution, err)
	}
	return nil
}

// getDoc reads the document name into v; false when there is none.
func getDoc(ctx context.Context, ws workStore, execution, name string, v any) (bool, error) {
	b, ok, err := ws.Work(ctx, execution, name)
	if err != nil {
		return false, fmt.Errorf("read %s of %s: %w", name, execution, err)
	}
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s of %s: %w", name, execution, err)
	}
	return true, nil
}

// storeBatches moves the work list's batches into the work store, leaving
// a reference to each, and the accounts not dispatched (which every Map
// item would otherwise carry with the run).
func storeBatches(ctx context.Context, ws workStore, wl *WorkList, now time.Time) error {
	if len(wl.Run.Skipped) > 0 {
		if err := putDoc(ctx, ws, wl.Run.Execution, "skipped", wl.Run.Skipped, now); err != nil {
			return err
		}
		wl.Run.Skipped = nil
	}
	for i, b := range wl.Batches {
		if err := putDoc(ctx, ws, wl.Run.Execution, batchDoc(b.Index), b, now); err != nil {
			return err
		}
		wl.Batches[i] = Batch{Index: b.Index, Stored: true}
	}
	return nil
}

// loadBatch fills a worker's state from the work store: the batch its
// reference names, and the results and held notices of its earlier
// invocations.
func (f *Functions) loadBatch(ctx context.Context, st *WorkerState) error {
	ws := f.works()
	if ws == nil || !st.Batch.Stored {
		return nil
	}
	if len(st.Batch.Accounts) == 0 {
		var b Batch
		ok, err := getDoc(ctx, ws, st.Run.Execution, batchDoc(st.Batch.Index), &b)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("batch %d of %s is not in the table", st.Batch.Index, st.Run.Execution)
		}
		b.Stored = true
		st.Batch = b
	}
	// The batch's stored state, if an earlier invocation left one (the
	// first invocation's too: its answer may have been lost).
	{
		var prev WorkerState
		if _, err := getDoc(ctx, ws, st.Run.Execution, stateDoc(st.Batch.Index), &prev); err != nil {
			return err
		}
		st.Results, st.Held = prev.Results, prev.Held
		if prev.Next > st.Next {
			// An invocation stored its state but its answer was lost (the
			// state machine retried it with the input before it): its
			// accounts are done, so go on from where it stopped.
			st.Next, st.Used, st.Invocations = prev.Next, prev.Used, max(st.Invocations, prev.Invocations)
		}
	}
	return nil
}

// stow stores a worker's state and returns what the state machine passes
// on: the state without its batch, results and held notices, and, once
// the batch is done, without the run either (the Distributed Map collects
// one such answer per batch for the reporter).
func (f *Functions) stow(ctx context.Context, st *WorkerState) (*WorkerState, error) {
	ws := f.works()
	if ws == nil || !st.Batch.Stored {
		return st, nil
	}
	if err := putDoc(ctx, ws, st.Run.Execution, stateDoc(st.Batch.Index), st, f.now()); err != nil {
		return nil, err
	}
	out := &WorkerState{Run: st.Run, Batch: Batch{Index: st.Batch.Index, Stored: true}, Next: st.Next, Used: st.Used,
		Invocations: st.Invocations, Done: st.Done, Stored: true}
	if st.Done {
		out.Run = Run{}
	}
	return out, nil
}

// completeResults replaces each stored batch's answer in in.Results with
// its stored state. A batch whose item failed (null) gets the last state
// its worker stored, not done, so that what it did is still told.
func completeResults(ctx context.Context, ws workStore, in *ReporterInput) error {
	for i, raw := range in.Results {
		var st WorkerState
		if string(raw) == "null" || json.Unmarshal(raw, &st) != nil {
			if i >= len(in.Batches) || !in.Batches[i].Stored {
				continue
			}
			st = WorkerState{Batch: in.Batches[i]}
		} else if !st.Stored {
			continue
		}
		failed := string(raw) == "null"
		ok, err := loadResult(ctx, ws, in.Run.Execution, st.Batch.Index, &st)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if failed {
			st.Done = false
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		in.Results[i] = b
	}
	return nil
}

// loadResult completes a batch's answer from the work store for the
// reporter: the stored state of the batch at index.
func loadResult(ctx context.Context, ws workStore, execution string, index int, st *WorkerState) (bool, error) {
	var full WorkerState
	ok, err := getDoc(ctx, ws, execution, stateDoc(index), &full)
	if err != nil || !ok {
		return false, err
	}
	full.Next, full.Done, full.Error = max(full.Next, st.Next), st.Done || full.Done, st.Error
	*st = full
	return true, nil
}
