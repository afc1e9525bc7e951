package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func startRun(t *testing.T, s *Store, at time.Time) int64 {
	t.Helper()
	id, err := s.StartRun(context.Background(), Run{Command: "apply", Mode: ModeEnforce, Host: "h", Version: "v", Started: at})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestActionJournal(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	run1 := startRun(t, s, t0)
	run2 := startRun(t, s, t0.Add(24*time.Hour))

	type step struct {
		run     int64
		action  Action
		outcome *Outcome
	}
	steps := []step{
		{run1, Action{Account: "111111111111", User: "alice", Kind: KindCreateKey, Reason: "key older than 90d",
			Evidence: `{"key_age_days":97,"rotate_after_days":90}`, Started: t0.Add(time.Second)},
			&Outcome{Status: ActionSucceeded, KeyID: "AKIANEWKEY0000000001", Finished: t0.Add(2 * time.Second)}},
		{run1, Action{Account: "111111111111", User: "bob", Kind: KindCreateKey, Reason: "key older than 90d", Started: t0.Add(3 * time.Second)},
			&Outcome{Status: ActionFailed, Error: "LimitExceeded: two keys already", Finished: t0.Add(4 * time.Second)}},
		{run1, Action{Account: "111111111111", User: "alice", KeyID: "AKIANEWKEY0000000001", Kind: KindStoreSecret, Started: t0.Add(5 * time.Second)},
			&Outcome{Status: ActionSucceeded, Finished: t0.Add(6 * time.Second)}},
		{run2, Action{Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001", Kind: KindDeactivateKey,
			Reason: "replacement verified 7d ago", Started: t0.Add(25 * time.Hour)},
			&Outcome{Status: ActionBlocked, Error: "lease held", Finished: t0.Add(25 * time.Hour)}},
		{run2, Action{Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001", Kind: "notify-owner", Started: t0.Add(26 * time.Hour)}, nil},
	}
	var wantAlice, wantRun2 []Action
	for _, st := range steps {
		id, err := s.BeginAction(ctx, st.run, st.action)
		if err != nil {
			t.Fatalf("BeginAction(%s %s): %v", st.action.Kind, st.action.User, err)
		}
		want := st.action
		want.ID, want.RunID = id, st.run
		if want.Evidence == "" {
			want.Evidence = "{}"
		}
		want.Outcome = Outcome{Status: ActionStarted}
		if st.outcome != nil {
			if err := s.EndAction(ctx, id, *st.outcome); err != nil {
				t.Fatalf("EndAction(%d): %v", id, err)
			}
			want.Outcome = *st.outcome
		}
		if want.User == "alice" {
			wantAlice = append(wantAlice, want)
		}
		if st.run == run2 {
			wantRun2 = append(wantRun2, want)
		}
	}

	gotAlice, err := s.ActionsFor(ctx, "111111111111", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantAlice, gotAlice); d != "" {
		t.Errorf("ActionsFor alice (-want +got):\n%s", d)
	}
	gotRun2, err := s.ActionsInRun(ctx, run2)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantRun2, gotRun2); d != "" {
		t.Errorf("ActionsInRun (-want +got):\n%s", d)
	}
	if gotRun2[len(gotRun2)-1].Done() || !gotRun2[0].Done() {
		t.Errorf("Done() wrong: %+v", gotRun2)
	}
	if other, err := s.ActionsFor(ctx, "222222222222", "alice"); err != nil || len(other) != 0 {
		t.Errorf("ActionsFor other account = %v, %v; want none", other, err)
	}

	if err := s.EndAction(ctx, wantAlice[0].ID, Outcome{Status: ActionFailed}); !errors.Is(err, ErrAlreadyFinished) {
		t.Errorf("second EndAction err = %v, want ErrAlreadyFinished", err)
	}
	if err := s.EndAction(ctx, 9999, Outcome{Status: ActionFailed}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EndAction of unknown action err = %v, want ErrNotFound", err)
	}
}

func TestBeginActionValidation(t *testing.T) {
	ok := Action{Account: "111111111111", User: "alice", Kind: KindDeleteKey, Started: t0}
	tests := []struct {
		name   string
		mutate func(a *Action)
		want   error
	}{
		{"no account", func(a *Action) { a.Account = "" }, ErrInvalid},
		{"no user", func(a *Action) { a.User = " " }, ErrInvalid},
		{"no kind", func(a *Action) { a.Kind = "" }, ErrInvalid},
		{"kind with space", func(a *Action) { a.Kind = "delete key" }, ErrInvalid},
		{"kind upper", func(a *Action) { a.Kind = "DeleteKey" }, ErrInvalid},
		{"evidence not json", func(a *Action) { a.Evidence = "{age: 3" }, ErrInvalid},
	}
	s, _ := openTemp(t)
	run := startRun(t, s, t0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ok
			tt.mutate(&a)
			if _, err := s.BeginAction(context.Background(), run, a); !errors.Is(err, tt.want) {
				t.Errorf("BeginAction err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("random-looking user name is journaled", func(t *testing.T) {
		a := ok
		a.User = "TerraformDeployUser2024ProductionAccount" // 40 mixed characters
		if _, err := s.BeginAction(context.Background(), run, a); err != nil {
			t.Errorf("BeginAction for user %s: %v", a.User, err)
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if _, err := s.BeginAction(context.Background(), run+100, ok); err == nil {
			t.Error("BeginAction for a run that does not exist succeeded; want a foreign key error")
		}
	})
	t.Run("bad outcome status", func(t *testing.T) {
		id, err := s.BeginAction(context.Background(), run, ok)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{"", ActionStarted, "ok"} {
			if err := s.EndAction(context.Background(), id, Outcome{Status: st}); !errors.Is(err, ErrInvalid) {
				t.Errorf("EndAction(status %q) err = %v, want ErrInvalid", st, err)
			}
		}
	})
}

// TestCrashLeavesActionStarted simulates a process dying between the AWS
// call and EndAction: the journal entry survives, shows as started, and the
// run shows as running until MarkAbandoned.
func TestCrashLeavesActionStarted(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	run := startRun(t, s, t0)
	done, err := s.BeginAction(ctx, run, Action{Account: "111111111111", User: "alice", Kind: KindCreateKey, Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndAction(ctx, done, Outcome{Status: ActionSucceeded, KeyID: "AKIANEWKEY0000000001", Finished: t0}); err != nil {
		t.Fatal(err)
	}
	inflight, err := s.BeginAction(ctx, run, Action{Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001",
		Kind: KindDeactivateKey, Reason: "rotated", Started: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // "crash": no EndAction, no FinishRun
		t.Fatal(err)
	}

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.UnfinishedActions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{{ID: inflight, RunID: run, Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001",
		Kind: KindDeactivateKey, Reason: "rotated", Evidence: "{}", Started: t0.Add(time.Second), Outcome: Outcome{Status: ActionStarted}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("UnfinishedActions after reopen (-want +got):\n%s", d)
	}
	if got[0].Done() {
		t.Error("unfinished action reports Done")
	}
	r, err := s2.Run(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != RunRunning || !r.Finished.IsZero() {
		t.Errorf("crashed run = %s finished %v, want running with no finish", r.Status, r.Finished)
	}
	if n, err := s2.MarkAbandoned(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("MarkAbandoned = %d, %v; want 1", n, err)
	}
	// Abandoning the run does not invent an outcome for its in-flight action.
	if still, err := s2.UnfinishedActions(ctx); err != nil || len(still) != 1 {
		t.Errorf("UnfinishedActions after MarkAbandoned = %v, %v; want the one action", still, err)
	}
}
