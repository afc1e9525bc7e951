package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	id1, err := s.StartRun(ctx, Run{Command: "audit", Mode: ModeAuditOnly, Host: "ci-1", Version: "v0.1.0", Started: t0, Heartbeat: t0})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Host: "ci-1", Version: "v0.1.0", Started: t0.Add(time.Hour), Heartbeat: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id1, RunSucceeded, "3 findings", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListRuns(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Run{
		{ID: id2, Command: "apply", Mode: ModeEnforce, Host: "ci-1", Version: "v0.1.0", Started: t0.Add(time.Hour), Status: RunRunning,
			Heartbeat: t0.Add(time.Hour)},
		{ID: id1, Command: "audit", Mode: ModeAuditOnly, Host: "ci-1", Version: "v0.1.0", Started: t0, Status: RunSucceeded,
			Summary: "3 findings", Finished: t0.Add(time.Minute), Heartbeat: t0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListRuns (-want +got):\n%s", d)
	}
	limited, err := s.ListRuns(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 1 || limited[0].ID != id2 {
		t.Errorf("ListRuns(1) = %+v, want only run %d", limited, id2)
	}

	if err := s.FinishRun(ctx, id1, RunFailed, "again", t0); !errors.Is(err, ErrAlreadyFinished) {
		t.Errorf("second FinishRun err = %v, want ErrAlreadyFinished", err)
	}
	if err := s.FinishRun(ctx, 999, RunFailed, "", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun of unknown run err = %v, want ErrNotFound", err)
	}
	if _, err := s.Run(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(999) err = %v, want ErrNotFound", err)
	}
}

func TestStartRunValidation(t *testing.T) {
	tests := []struct {
		name string
		run  Run
	}{
		{name: "no command", run: Run{Mode: ModeEnforce}},
		{name: "unknown mode", run: Run{Command: "apply", Mode: "yolo"}},
		{name: "empty mode", run: Run{Command: "apply"}},
	}
	s, _ := openTemp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.StartRun(context.Background(), tt.run); !errors.Is(err, ErrInvalid) {
				t.Errorf("StartRun err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestFinishRunValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	id, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"", RunRunning, RunAbandoned, "done"} {
		if err := s.FinishRun(ctx, id, status, "", t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("FinishRun(status %q) err = %v, want ErrInvalid", status, err)
		}
	}
}

func TestMarkAbandoned(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	start := func(at time.Time) int64 {
		id, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: at})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	crashed := start(t0)
	finished := start(t0.Add(time.Minute))
	if err := s.FinishRun(ctx, finished, RunSucceeded, "", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	live := start(t0.Add(3 * time.Hour))

	n, err := s.MarkAbandoned(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("MarkAbandoned marked %d runs, want 1", n)
	}
	got := map[int64]string{}
	for _, id := range []int64{crashed, finished, live} {
		r, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = r.Status
		if id == crashed && !r.Finished.IsZero() {
			t.Errorf("abandoned run has Finished %v, want zero", r.Finished)
		}
	}
	want := map[int64]string{crashed: RunAbandoned, finished: RunSucceeded, live: RunRunning}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if err := s.FinishRun(ctx, crashed, RunSucceeded, "", t0); !errors.Is(err, ErrAlreadyFinished) {
		t.Errorf("FinishRun of abandoned run err = %v, want ErrAlreadyFinished", err)
	}
}

// TestMarkInterrupted: a running run whose local process is gone, or whose
// heartbeat from another host is stale, is marked interrupted; a live one
// is left alone; its notices stay owed until MarkNotified.
func TestMarkInterrupted(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	start := func(host string, pid int) int64 {
		id, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Host: host, PID: pid, Started: t0, Heartbeat: t0.Add(40 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	deadLocal := start("here", 100)
	liveLocal := start("here", 200)
	// A live local run whose heartbeat is stale (the laptop slept) is alive.
	sleptLocal := start("here", 200)
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ?`, formatTime(t0), sleptLocal); err != nil {
		t.Fatal(err)
	}
	staleRemote := start("there", 300)
	freshRemote := start("there", 400)
	if err := s.Heartbeat(ctx, freshRemote, t0.Add(50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// staleRemote last beat before the cut-off, 30 minutes after t0.
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ?`, formatTime(t0.Add(10*time.Minute)), staleRemote); err != nil {
		t.Fatal(err)
	}
	live := func(host string, pid int, _ int64) (bool, bool) {
		if host != "here" {
			return false, false
		}
		return pid == 200, true
	}
	marked, err := s.MarkInterrupted(ctx, live, t0.Add(30*time.Minute), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range marked {
		ids = append(ids, r.ID)
	}
	if d := cmp.Diff([]int64{deadLocal, staleRemote}, ids); d != "" {
		t.Fatalf("marked (-want +got):\n%s", d)
	}
	for id, want := range map[int64]string{deadLocal: RunInterrupted, liveLocal: RunRunning, sleptLocal: RunRunning, staleRemote: RunInterrupted, freshRemote: RunRunning} {
		r, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("run %d (%s/%d) is %s, want %s", id, r.Host, r.PID, r.Status, want)
		}
	}
	owed, err := s.UnnotifiedRuns(ctx, "apply", ModeEnforce)
	if err != nil {
		t.Fatal(err)
	}
	if len(owed) != 2 {
		t.Fatalf("UnnotifiedRuns = %d runs, want the 2 interrupted ones", len(owed))
	}
	if err := s.MarkNotified(ctx, deadLocal); err != nil {
		t.Fatal(err)
	}
	if owed, _ = s.UnnotifiedRuns(ctx, "apply", ModeEnforce); len(owed) != 1 || owed[0].ID != staleRemote {
		t.Errorf("after MarkNotified, UnnotifiedRuns = %+v; want only run %d", owed, staleRemote)
	}
	// The process of a run taken for dead still records how it ended.
	if err := s.FinishRun(ctx, staleRemote, RunSucceeded, "done after all", t0.Add(2*time.Hour)); err != nil {
		t.Errorf("FinishRun over interrupted: %v", err)
	}
	if r, _ := s.Run(ctx, staleRemote); r.Status != RunSucceeded {
		t.Errorf("run %d is %s after its own FinishRun, want succeeded", staleRemote, r.Status)
	}
}
