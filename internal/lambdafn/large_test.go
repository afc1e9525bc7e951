package lambdafn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/lambdafn"
)

// stepFunctionsLimit is Step Functions' payload quota: 256 KiB of UTF-8
// for a state's input or output.
const stepFunctionsLimit = 256 * 1024

// TestTenThousandAccountsFitPayloads: an organization of 10,000 accounts
// in batches of the default size does not fit Step Functions' 256 KiB
// payloads when the batches travel in them (what the coordinator returned
// before its batches went to the table), and fits when the coordinator
// stores them in the DynamoDB history and returns references: its output,
// the Distributed Map's items, and the reporter's input with every
// batch's final answer are all measured under the limit. A worker reads
// its batch back from the reference, and the reporter its state.
func TestTenThousandAccountsFitPayloads(t *testing.T) {
	o := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
	store := dynamostore.New(dynamodb.NewFromConfig(o.env.Admin()), "keyrot-history")
	f := &lambdafn.Functions{App: &app.App{History: store}}
	ctx := context.Background()

	const accounts = 10000
	run := lambdafn.Run{Execution: "arn:aws:states:us-east-1:111122223333:execution:keyrot:2026-03-02T12-00-00Z-0123456789abcdef",
		Mode: "enforce", OrganizationID: "o-fanout0001", MaxChanges: 25, Planned: 25}
	wl := lambdafn.WorkList{Run: run, MaxConcurrency: 10}
	for i := range accounts {
		if i%lambdafn.DefaultBatchSize == 0 {
			wl.Batches = append(wl.Batches, lambdafn.Batch{Index: len(wl.Batches)})
		}
		b := &wl.Batches[len(wl.Batches)-1]
		id := fmt.Sprintf("%012d", 100000000000+i*7919)
		b.Accounts = append(b.Accounts, inventory.Account{ID: id, Name: fmt.Sprintf("workload-%05d", i), Email: fmt.Sprintf("aws+workload-%05d@example.com", i),
			OUPath: []string{"r-ab12", "ou-ab12-workload1", "ou-ab12-production"}, Status: inventory.AccountAudited})
		if i < 25 {
			b.Admitted = append(b.Admitted, id+"/deploy")
			b.Budget++
		}
	}
	size := func(v any) int {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	inline := size(wl)
	want := wl.Batches[537]
	if err := lambdafn.StoreBatches(ctx, f, &wl); err != nil {
		t.Fatal(err)
	}
	stored := size(wl)
	t.Logf("coordinator's output for %d accounts in %d batches: %d bytes with the batches inline, %d with references (limit %d)", accounts, len(wl.Batches), inline, stored, stepFunctionsLimit)
	if inline <= stepFunctionsLimit {
		t.Errorf("inline work list of %d accounts is %d bytes: the test does not reach the limit", accounts, inline)
	}
	if stored >= stepFunctionsLimit {
		t.Errorf("the coordinator's output is %d bytes, over Step Functions' %d", stored, stepFunctionsLimit)
	}

	// One batch's worker reads its batch from the reference (the Map's
	// item: the run and the batch's reference).
	item := lambdafn.WorkerState{Run: wl.Run, Batch: wl.Batches[537]}
	if n := size(item); n > 1024 {
		t.Errorf("a Map item is %d bytes", n)
	}
	st := item
	if err := lambdafn.LoadBatch(ctx, f, &st); err != nil {
		t.Fatal(err)
	}
	want.Stored = true
	if diff := cmp.Diff(want, st.Batch); diff != "" {
		t.Errorf("batch 537 read back (-stored +read):\n%s", diff)
	}

	// Every batch done: the reporter's input (the work list and one
	// answer per batch) stays under the limit; the answers' results and
	// held notices are in the table.
	var results []json.RawMessage
	for i, ref := range wl.Batches {
		done := lambdafn.WorkerState{Run: wl.Run, Batch: ref, Next: lambdafn.DefaultBatchSize, Invocations: 1, Done: true}
		if i == 537 {
			done.Batch = st.Batch
			done.Results = []lambdafn.AccountResult{{Account: st.Batch.Accounts[0].ID, Status: "succeeded", Summary: "1 succeeded"}}
		}
		ans, err := lambdafn.Stow(ctx, f, &done)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ans)
		results = append(results, b)
	}
	in := lambdafn.ReporterInput{Run: wl.Run, Batches: wl.Batches, Results: results}
	reporter := size(in)
	t.Logf("reporter's input with %d answers: %d bytes (limit %d)", len(results), reporter, stepFunctionsLimit)
	if reporter >= stepFunctionsLimit {
		t.Errorf("the reporter's input is %d bytes, over Step Functions' %d", reporter, stepFunctionsLimit)
	}
	if strings.Contains(string(results[537]), "succeeded") {
		t.Errorf("a batch's answer carries its results: %s", results[537])
	}
}

// TestReporterReadsStoredStates: the reporter replaces each batch's short
// answer with the state its worker stored, and a batch whose Map item
// failed (null, as moto gives it) with the last state its worker stored,
// not done, so what it did is still told and the batch counts as failed.
func TestReporterReadsStoredStates(t *testing.T) {
	o := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
	f := &lambdafn.Functions{App: &app.App{History: dynamostore.New(dynamodb.NewFromConfig(o.env.Admin()), "keyrot-history")}}
	ctx := context.Background()
	run := lambdafn.Run{Execution: "exec-1", Mode: "enforce"}
	wl := lambdafn.WorkList{Run: run, Batches: []lambdafn.Batch{
		{Index: 0, Accounts: []inventory.Account{{ID: "222233334444"}}},
		{Index: 1, Accounts: []inventory.Account{{ID: "333344445555"}, {ID: "444455556666"}}},
	}}
	if err := lambdafn.StoreBatches(ctx, f, &wl); err != nil {
		t.Fatal(err)
	}
	var answers []json.RawMessage
	for i, ref := range wl.Batches {
		st := lambdafn.WorkerState{Run: run, Batch: ref}
		if err := lambdafn.LoadBatch(ctx, f, &st); err != nil {
			t.Fatal(err)
		}
		st.Results = []lambdafn.AccountResult{{Account: st.Batch.Accounts[0].ID, Status: "succeeded"}}
		st.Next, st.Done = 1, i == 0
		ans, err := lambdafn.Stow(ctx, f, &st)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ans)
		answers = append(answers, b)
	}
	in := lambdafn.ReporterInput{Run: run, Batches: wl.Batches, Results: []json.RawMessage{answers[0], json.RawMessage("null")}}
	if err := lambdafn.CompleteResults(ctx, f, &in); err != nil {
		t.Fatal(err)
	}
	var done, failed lambdafn.WorkerState
	if err := json.Unmarshal(in.Results[0], &done); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(in.Results[1], &failed); err != nil {
		t.Fatal(err)
	}
	if !done.Done || len(done.Results) != 1 || done.Results[0].Account != "222233334444" {
		t.Errorf("batch 0: %+v", done)
	}
	if failed.Done || len(failed.Results) != 1 || failed.Results[0].Account != "333344445555" || len(failed.Batch.Accounts) != 2 {
		t.Errorf("batch 1 (item failed): %+v", failed)
	}
}

// TestWorkerRetriedAfterLostAnswer: when an invocation stored its state but
// its answer was lost, and the state machine retries it with its input
// (here the Map's item, for the first invocation), the worker goes on from
// the stored position: no account is worked on or counted twice.
func TestWorkerRetriedAfterLostAnswer(t *testing.T) {
	o := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
	f := &lambdafn.Functions{App: &app.App{History: dynamostore.New(dynamodb.NewFromConfig(o.env.Admin()), "keyrot-history")}}
	ctx := context.Background()
	run := lambdafn.Run{Execution: "exec-retry", Mode: "enforce"}
	wl := lambdafn.WorkList{Run: run, Batches: []lambdafn.Batch{{Index: 0, Accounts: []inventory.Account{{ID: "222233334444"}, {ID: "333344445555"}}}}}
	if err := lambdafn.StoreBatches(ctx, f, &wl); err != nil {
		t.Fatal(err)
	}
	first := lambdafn.WorkerState{Run: run, Batch: wl.Batches[0]}
	st := first
	if err := lambdafn.LoadBatch(ctx, f, &st); err != nil {
		t.Fatal(err)
	}
	st.Results, st.Next, st.Used, st.Invocations = []lambdafn.AccountResult{{Account: "222233334444", Status: "succeeded"}}, 1, 1, 1
	if _, err := lambdafn.Stow(ctx, f, &st); err != nil {
		t.Fatal(err)
	}
	// The answer is lost; the state machine retries the first invocation
	// with its input, the Map's item.
	retry := first
	if err := lambdafn.LoadBatch(ctx, f, &retry); err != nil {
		t.Fatal(err)
	}
	if retry.Next != 1 || retry.Used != 1 || len(retry.Results) != 1 || len(retry.Batch.Accounts) != 2 {
		t.Errorf("retried state: next %d, used %d, %d results, %d accounts", retry.Next, retry.Used, len(retry.Results), len(retry.Batch.Accounts))
	}
}
