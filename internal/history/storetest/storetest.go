// Package storetest is the contract every history store keeps: one table
// of cases, run against the SQLite store (internal/history) and the
// DynamoDB store (internal/history/dynamostore, on the sandbox and on
// moto), so that their semantics cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history"
)

// Store is what the contract exercises: app.Store and the lease display.
type Store interface {
	app.Store
	LeaseOn(ctx context.Context, scope string) (history.Lease, bool, error)
}

// Case is one contract case: it gets a fresh, empty store.
type Case struct {
	Name string
	Run  func(t *testing.T, s Store)
}

// Run runs every case, each on a store newStore makes for it. skip names
// cases the backend cannot pass through no fault of the store, with the
// reason (a known emulator defect); a name that is not a case fails.
func Run(t *testing.T, newStore func(t *testing.T) Store, skip map[string]string) {
	known := map[string]bool{}
	for _, c := range Cases {
		known[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			if why, ok := skip[c.Name]; ok {
				t.Skip(why)
			}
			c.Run(t, newStore(t))
		})
	}
	for name := range skip {
		if !known[name] {
			t.Errorf("skip names %q, which is not a case", name)
		}
	}
}

// t0 is the cases' reference time; a fraction checks nanosecond round trips.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// A secret-access-key-shaped value: 40 base64 characters.
const secretShaped = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// chk fails the test on err, else returns v: chk(f())(t).
func chk[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %v", what, err, target)
	}
}

var ctx = context.Background()

func startRun(t *testing.T, s Store, command, mode string, started time.Time) int64 {
	t.Helper()
	return chk(s.StartRun(ctx, history.Run{Command: command, Mode: mode, Host: "h1", Version: "v1", Started: started, Heartbeat: started, PID: 42, ProcStart: 7}))(t)
}

// Cases is the contract.
var Cases = []Case{
	{"runs: IDs increase, read back whole, listed newest first", func(t *testing.T, s Store) {
		a := startRun(t, s, "apply", history.ModeEnforce, t0)
		b := startRun(t, s, "audit", history.ModeAuditOnly, t0.Add(time.Hour))
		c := startRun(t, s, "apply", history.ModeDryRun, t0.Add(time.Hour)) // same start: higher ID first
		if !(a > 0 && b > a && c > b) {
			t.Fatalf("IDs %d, %d, %d do not increase", a, b, c)
		}
		runs := chk(s.ListRuns(ctx, 0))(t)
		var ids []int64
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if diff := cmp.Diff([]int64{c, b, a}, ids); diff != "" {
			t.Errorf("ListRuns order (-want +got):\n%s", diff)
		}
		want := history.Run{ID: a, Command: "apply", Mode: history.ModeEnforce, Host: "h1", Version: "v1", Started: t0,
			Status: history.RunRunning, PID: 42, ProcStart: 7, Heartbeat: t0}
		if diff := cmp.Diff(want, runs[2]); diff != "" {
			t.Errorf("run read back (-want +got):\n%s", diff)
		}
		if got := chk(s.ListRuns(ctx, 2))(t); len(got) != 2 || got[0].ID != c {
			t.Errorf("ListRuns(2) = %v", got)
		}
	}},
	{"runs: invalid or secret-looking input is refused", func(t *testing.T, s Store) {
		_, err := s.StartRun(ctx, history.Run{Command: "apply", Mode: "yolo"})
		wantIs(t, "bad mode", err, history.ErrInvalid)
		_, err = s.StartRun(ctx, history.Run{Command: "", Mode: history.ModeEnforce})
		wantIs(t, "empty command", err, history.ErrInvalid)
		_, err = s.StartRun(ctx, history.Run{Command: "apply", Mode: history.ModeEnforce, Host: secretShaped})
		wantIs(t, "secret host", err, history.ErrSecretMaterial)
		if runs := chk(s.ListRuns(ctx, 0))(t); len(runs) != 0 {
			t.Errorf("refused runs were recorded: %v", runs)
		}
	}},
	{"runs: finish once; interrupted runs can still be finished", func(t *testing.T, s Store) {
		id := startRun(t, s, "apply", history.ModeEnforce, t0)
		mustNil(t, s.FinishRun(ctx, id, history.RunSucceeded, "2 rotated", t0.Add(time.Minute)))
		wantIs(t, "second finish", s.FinishRun(ctx, id, history.RunFailed, "", t0.Add(2*time.Minute)), history.ErrAlreadyFinished)
		wantIs(t, "unknown run", s.FinishRun(ctx, id+1000, history.RunSucceeded, "", t0), history.ErrNotFound)
		wantIs(t, "bad status", s.FinishRun(ctx, id, history.RunRunning, "", t0), history.ErrInvalid)
		wantIs(t, "secret summary", s.FinishRun(ctx, id, history.RunSucceeded, "key "+secretShaped, t0), history.ErrSecretMaterial)
		runs := chk(s.ListRuns(ctx, 0))(t)
		if r := runs[0]; r.Status != history.RunSucceeded || r.Summary != "2 rotated" || !r.Finished.Equal(t0.Add(time.Minute)) {
			t.Errorf("finished run: %+v", r)
		}

		id2 := startRun(t, s, "apply", history.ModeEnforce, t0)
		dead := func(string, int, int64) (bool, bool) { return false, true }
		marked := chk(s.MarkInterrupted(ctx, dead, t0, t0.Add(time.Hour)))(t)
		if len(marked) != 1 || marked[0].ID != id2 || marked[0].Status != history.RunInterrupted {
			t.Fatalf("MarkInterrupted = %+v", marked)
		}
		mustNil(t, s.FinishRun(ctx, id2, history.RunFailed, "late", t0.Add(2*time.Hour)))
	}},
	{"runs: heartbeat moves only a running run", func(t *testing.T, s Store) {
		id := startRun(t, s, "apply", history.ModeEnforce, t0)
		mustNil(t, s.Heartbeat(ctx, id, t0.Add(5*time.Minute)))
		if r := chk(s.ListRuns(ctx, 0))(t)[0]; !r.Heartbeat.Equal(t0.Add(5 * time.Minute)) {
			t.Errorf("heartbeat %v", r.Heartbeat)
		}
		mustNil(t, s.FinishRun(ctx, id, history.RunSucceeded, "", t0.Add(6*time.Minute)))
		mustNil(t, s.Heartbeat(ctx, id, t0.Add(10*time.Minute)))
		if r := chk(s.ListRuns(ctx, 0))(t)[0]; !r.Heartbeat.Equal(t0.Add(5 * time.Minute)) {
			t.Errorf("heartbeat of a finished run moved to %v", r.Heartbeat)
		}
		mustNil(t, s.Heartbeat(ctx, id+1000, t0)) // unknown run: nothing to do
		if runs := chk(s.ListRuns(ctx, 0))(t); len(runs) != 1 {
			t.Errorf("a heartbeat created a run: %+v", runs)
		}
	}},
	{"runs: interrupted by liveness, else by stale heartbeat", func(t *testing.T, s Store) {
		old1 := startRun(t, s, "apply", history.ModeEnforce, t0)                 // old heartbeat
		old2 := startRun(t, s, "apply", history.ModeEnforce, t0)                 // old heartbeat
		fresh := startRun(t, s, "apply", history.ModeEnforce, t0.Add(time.Hour)) // fresh heartbeat
		done := startRun(t, s, "apply", history.ModeEnforce, t0)
		mustNil(t, s.FinishRun(ctx, done, history.RunSucceeded, "", t0))
		// A process known to be alive is never taken for dead, however old
		// its heartbeat.
		marked := chk(s.MarkInterrupted(ctx, func(string, int, int64) (bool, bool) { return true, true }, t0.Add(30*time.Minute), t0.Add(2*time.Hour)))(t)
		if len(marked) != 0 {
			t.Fatalf("runs whose process is alive were marked: %+v", marked)
		}
		// Where liveness is unknown, a stale heartbeat decides.
		live := func(string, int, int64) (bool, bool) { return false, false }
		marked = chk(s.MarkInterrupted(ctx, live, t0.Add(30*time.Minute), t0.Add(2*time.Hour)))(t)
		var ids []int64
		for _, r := range marked {
			ids = append(ids, r.ID)
			if r.Status != history.RunInterrupted {
				t.Errorf("marked run %d has status %s", r.ID, r.Status)
			}
		}
		if diff := cmp.Diff([]int64{old1, old2}, ids); diff != "" {
			t.Errorf("marked (-want +got):\n%s", diff)
		}
		for _, r := range chk(s.ListRuns(ctx, 0))(t) {
			switch r.ID {
			case old1, old2:
				if r.Status != history.RunInterrupted || !r.Finished.Equal(t0.Add(2*time.Hour)) ||
					r.Summary != "interrupted: its process ended without finishing the run" {
					t.Errorf("interrupted run: %+v", r)
				}
			case fresh:
				if r.Status != history.RunRunning {
					t.Errorf("fresh run: %+v", r)
				}
			}
		}
		if again := chk(s.MarkInterrupted(ctx, live, t0.Add(30*time.Minute), t0.Add(3*time.Hour)))(t); len(again) != 0 {
			t.Errorf("runs marked twice: %+v", again)
		}
	}},
	{"runs: unnotified runs until marked notified", func(t *testing.T, s Store) {
		a := startRun(t, s, "apply", history.ModeEnforce, t0)
		b := startRun(t, s, "apply", history.ModeEnforce, t0.Add(time.Minute))
		running := startRun(t, s, "apply", history.ModeEnforce, t0.Add(2*time.Minute))
		other := startRun(t, s, "apply", history.ModeDryRun, t0)
		for _, id := range []int64{a, b, other} {
			mustNil(t, s.FinishRun(ctx, id, history.RunSucceeded, "", t0.Add(time.Hour)))
		}
		_ = running
		got := chk(s.UnnotifiedRuns(ctx, "apply", history.ModeEnforce))(t)
		if len(got) != 2 || got[0].ID != a || got[1].ID != b || got[0].Notified {
			t.Fatalf("UnnotifiedRuns = %+v", got)
		}
		mustNil(t, s.MarkNotified(ctx, a, 9999))
		got = chk(s.UnnotifiedRuns(ctx, "apply", history.ModeEnforce))(t)
		if len(got) != 1 || got[0].ID != b {
			t.Fatalf("after MarkNotified(a): %+v", got)
		}
		if runs := chk(s.ListRuns(ctx, 0))(t); len(runs) != 4 {
			t.Errorf("MarkNotified of an unknown run created one: %d runs", len(runs))
		}
	}},
	{"journal: begin, end once, read by run and by user", func(t *testing.T, s Store) {
		r1 := startRun(t, s, "apply", history.ModeEnforce, t0)
		r2 := startRun(t, s, "apply", history.ModeEnforce, t0.Add(time.Hour))
		a := history.Action{Account: "111111111111", User: "alice", KeyID: "AKIAOLD", Kind: history.KindDeactivateKey,
			Reason: "older than 100d", Evidence: `{"age_days":101}`, Started: t0}
		id1 := chk(s.BeginAction(ctx, r1, a))(t)
		id2 := chk(s.BeginAction(ctx, r1, history.Action{Account: "111111111111", User: "bob", Kind: history.KindCreateKey, Started: t0}))(t)
		id3 := chk(s.BeginAction(ctx, r2, history.Action{Account: "111111111111", User: "alice", Kind: history.KindDeleteKey, KeyID: "AKIAOLD", Started: t0.Add(time.Hour)}))(t)
		if !(id2 > id1 && id3 > id2) {
			t.Fatalf("action IDs %d %d %d", id1, id2, id3)
		}
		out := history.Outcome{Status: history.ActionSucceeded, KeyID: "AKIANEW", Finished: t0.Add(time.Second)}
		mustNil(t, s.EndAction(ctx, id1, out))
		wantIs(t, "second end", s.EndAction(ctx, id1, history.Outcome{Status: history.ActionFailed}), history.ErrAlreadyFinished)
		wantIs(t, "unknown action", s.EndAction(ctx, id3+1000, out), history.ErrNotFound)
		wantIs(t, "bad status", s.EndAction(ctx, id2, history.Outcome{Status: history.ActionStarted}), history.ErrInvalid)
		wantIs(t, "secret error", s.EndAction(ctx, id2, history.Outcome{Status: history.ActionFailed, Error: secretShaped}), history.ErrSecretMaterial)

		inRun := chk(s.ActionsInRun(ctx, r1))(t)
		want1 := a
		want1.ID, want1.RunID, want1.Outcome = id1, r1, out
		want2 := history.Action{ID: id2, RunID: r1, Account: "111111111111", User: "bob", Kind: history.KindCreateKey, Evidence: "{}", Started: t0,
			Outcome: history.Outcome{Status: history.ActionStarted}}
		if diff := cmp.Diff([]history.Action{want1, want2}, inRun); diff != "" {
			t.Errorf("ActionsInRun (-want +got):\n%s", diff)
		}
		var ids []int64
		for _, x := range chk(s.ActionsFor(ctx, "111111111111", "alice"))(t) {
			ids = append(ids, x.ID)
			if x.ID == id1 && x.Outcome != out {
				t.Errorf("ActionsFor sees outcome %+v", x.Outcome)
			}
		}
		if diff := cmp.Diff([]int64{id1, id3}, ids); diff != "" {
			t.Errorf("ActionsFor alice (-want +got):\n%s", diff)
		}
		if got := chk(s.ActionsFor(ctx, "111111111111", "nobody"))(t); len(got) != 0 {
			t.Errorf("ActionsFor nobody = %+v", got)
		}
	}},
	{"journal: invalid or secret-looking actions are refused", func(t *testing.T, s Store) {
		r := startRun(t, s, "apply", history.ModeEnforce, t0)
		for name, a := range map[string]history.Action{
			"no account":      {User: "u", Kind: history.KindCreateKey},
			"bad kind":        {Account: "1", User: "u", Kind: "Create Key"},
			"bad evidence":    {Account: "1", User: "u", Kind: history.KindCreateKey, Evidence: "{"},
			"secret evidence": {Account: "1", User: "u", Kind: history.KindCreateKey, Evidence: `{"SecretAccessKey":"x"}`},
			"secret reason":   {Account: "1", User: "u", Kind: history.KindCreateKey, Reason: secretShaped},
		} {
			if _, err := s.BeginAction(ctx, r, a); !errors.Is(err, history.ErrInvalid) && !errors.Is(err, history.ErrSecretMaterial) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if got := chk(s.ActionsInRun(ctx, r))(t); len(got) != 0 {
			t.Errorf("refused actions were journaled: %+v", got)
		}
	}},
	{"journal: of two concurrent EndActions exactly one succeeds", func(t *testing.T, s Store) {
		r := startRun(t, s, "apply", history.ModeEnforce, t0)
		id := chk(s.BeginAction(ctx, r, history.Action{Account: "1", User: "u", Kind: history.KindCreateKey, Started: t0}))(t)
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.EndAction(ctx, id, history.Outcome{Status: history.ActionSucceeded, Error: fmt.Sprint(i), Finished: t0})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, history.ErrAlreadyFinished):
				t.Errorf("EndAction: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d EndActions succeeded, want 1", ok)
		}
		a := chk(s.ActionsInRun(ctx, r))(t)[0]
		b := chk(s.ActionsFor(ctx, "1", "u"))(t)[0]
		if a.Outcome != b.Outcome || a.Outcome.Status != history.ActionSucceeded {
			t.Errorf("the copies disagree: %+v and %+v", a.Outcome, b.Outcome)
		}
	}},
	{"key events: latest of a kind, and a user's story in time order", func(t *testing.T, s Store) {
		run := startRun(t, s, "apply", history.ModeEnforce, t0)
		rec := func(key, event string, at time.Time, arn string) int64 {
			return chk(s.RecordKeyEvent(ctx, history.KeyEvent{Account: "1", User: "alice", KeyID: key, Event: event, At: at, RunID: run, SecretARN: arn}))(t)
		}
		e1 := rec("AKIA1", history.EventCreated, t0, "")
		e2 := rec("AKIA1", history.EventStored, t0.Add(time.Minute), "arn:aws:secretsmanager:us-east-1:1:secret:k-1")
		e3 := rec("AKIA1", history.EventDeactivated, t0.Add(48*time.Hour), "")
		e4 := rec("AKIA1", history.EventDeactivated, t0.Add(24*time.Hour), "") // recorded later, happened earlier
		e5 := rec("AKIA2", history.EventCreated, t0.Add(time.Minute), "")
		got, ok := chk2(s.LastKeyEvent(ctx, "1", "alice", "AKIA1", history.EventDeactivated))(t)
		if !ok || got.ID != e3 || !got.At.Equal(t0.Add(48*time.Hour)) || got.RunID != run {
			t.Errorf("LastKeyEvent = %+v, %v", got, ok)
		}
		if _, ok := chk2(s.LastKeyEvent(ctx, "1", "alice", "AKIA1", history.EventDeleted))(t); ok {
			t.Error("LastKeyEvent found an event never recorded")
		}
		if _, ok := chk2(s.LastKeyEvent(ctx, "1", "alice", "AKIA", history.EventCreated))(t); ok {
			t.Error("LastKeyEvent matched a key ID prefix")
		}
		var ids []int64
		for _, e := range chk(s.KeyEvents(ctx, "1", "alice"))(t) {
			ids = append(ids, e.ID)
			if e.ID == e2 && e.SecretARN != "arn:aws:secretsmanager:us-east-1:1:secret:k-1" {
				t.Errorf("secret ARN %q", e.SecretARN)
			}
		}
		// by time, then ID: e2 and e5 share a time
		if diff := cmp.Diff([]int64{e1, e2, e5, e4, e3}, ids); diff != "" {
			t.Errorf("KeyEvents (-want +got):\n%s", diff)
		}
		_, err := s.RecordKeyEvent(ctx, history.KeyEvent{Account: "1", User: "alice", KeyID: "AKIA1", Event: "exploded"})
		wantIs(t, "bad event", err, history.ErrInvalid)
	}},
	{"notices: the latest matching notice", func(t *testing.T, s Store) {
		n := history.Notice{Recipient: "alice@example.com", Account: "1", User: "alice", KeyID: "AKIA1", Kind: "rotation-due",
			DueDate: t0.Add(10 * 24 * time.Hour), SentAt: t0, Channel: "email"}
		first := chk(s.RecordNotice(ctx, n))(t)
		later := n
		later.SentAt = t0.Add(24 * time.Hour)
		later.DueDate = time.Time{}
		second := chk(s.RecordNotice(ctx, later))(t)
		other := n
		other.Kind = "deactivated"
		other.SentAt = t0.Add(48 * time.Hour)
		chk(s.RecordNotice(ctx, other))(t)
		if second <= first {
			t.Errorf("notice IDs %d, %d", first, second)
		}
		got, ok := chk2(s.LastNotice(ctx, "alice@example.com", "1", "alice", "AKIA1", "rotation-due"))(t)
		want := later
		want.ID = second
		if !ok {
			t.Fatal("LastNotice found nothing")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LastNotice (-want +got):\n%s", diff)
		}
		if _, ok := chk2(s.LastNotice(ctx, "bob@example.com", "1", "alice", "AKIA1", "rotation-due"))(t); ok {
			t.Error("LastNotice matched another recipient")
		}
		if _, ok := chk2(s.LastNotice(ctx, "alice@example.com", "1", "alice", "", "rotation-due"))(t); ok {
			t.Error("LastNotice matched another key")
		}
		_, err := s.RecordNotice(ctx, history.Notice{Recipient: "", Account: "1", User: "u", Kind: "k"})
		wantIs(t, "no recipient", err, history.ErrInvalid)
	}},
	{"leases: acquire, refuse, renew, take over at expiry, release", func(t *testing.T, s Store) {
		const scope = "111111111111"
		ttl := 10 * time.Minute
		l := chk(s.AcquireLease(ctx, scope, "a", ttl, t0))(t)
		if diff := cmp.Diff(history.Lease{Scope: scope, Owner: "a", Acquired: t0, Expires: t0.Add(ttl)}, l); diff != "" {
			t.Errorf("acquire (-want +got):\n%s", diff)
		}
		_, err := s.AcquireLease(ctx, scope, "b", ttl, t0.Add(ttl-time.Nanosecond))
		var held *history.LeaseHeldError
		if !errors.As(err, &held) || held.Holder != "a" || !held.Expires.Equal(t0.Add(ttl)) || !errors.Is(err, history.ErrLeaseHeld) {
			t.Errorf("acquire of a held lease: %v", err)
		}
		l = chk(s.AcquireLease(ctx, scope, "a", ttl, t0.Add(5*time.Minute)))(t)
		if !l.Acquired.Equal(t0) || !l.Expires.Equal(t0.Add(5*time.Minute+ttl)) {
			t.Errorf("re-acquire by the owner: %+v", l)
		}
		l = chk(s.RenewLease(ctx, scope, "a", ttl, t0.Add(3*ttl)))(t) // expired, not taken over: still a's
		if !l.Acquired.Equal(t0) || !l.Expires.Equal(t0.Add(4*ttl)) || l.Owner != "a" {
			t.Errorf("renew of an expired lease: %+v", l)
		}
		_, err = s.RenewLease(ctx, scope, "b", ttl, t0)
		wantIs(t, "renew by another", err, history.ErrLeaseNotHeld)
		l = chk(s.AcquireLease(ctx, scope, "b", ttl, t0.Add(4*ttl)))(t)
		if diff := cmp.Diff(history.Lease{Scope: scope, Owner: "b", Acquired: t0.Add(4 * ttl), Expires: t0.Add(5 * ttl), Previous: "a"}, l); diff != "" {
			t.Errorf("takeover (-want +got):\n%s", diff)
		}
		wantIs(t, "release by the old owner", s.ReleaseLease(ctx, scope, "a"), history.ErrLeaseNotHeld)
		_, err = s.RenewLease(ctx, scope, "a", ttl, t0.Add(4*ttl))
		wantIs(t, "renew by the old owner", err, history.ErrLeaseNotHeld)
		if cur, ok := chk2(s.LeaseOn(ctx, scope))(t); !ok || cur.Owner != "b" {
			t.Errorf("LeaseOn = %+v, %v", cur, ok)
		}
		mustNil(t, s.ReleaseLease(ctx, scope, "b"))
		mustNil(t, s.ReleaseLease(ctx, scope, "b")) // nobody holds it: no-op
		if _, ok := chk2(s.LeaseOn(ctx, scope))(t); ok {
			t.Error("lease still there after release")
		}
		_, err = s.RenewLease(ctx, scope, "b", ttl, t0)
		wantIs(t, "renew of a free scope", err, history.ErrLeaseNotHeld)
		l = chk(s.AcquireLease(ctx, scope, "c", ttl, t0.Add(4*ttl)))(t)
		if l.Previous != "" {
			t.Errorf("acquire after release reports a takeover from %q", l.Previous)
		}
		_, err = s.AcquireLease(ctx, scope, "c", 0, t0)
		wantIs(t, "zero ttl", err, history.ErrInvalid)
		_, err = s.AcquireLease(ctx, "", "c", ttl, t0)
		wantIs(t, "empty scope", err, history.ErrInvalid)
		wantIs(t, "release with empty owner", s.ReleaseLease(ctx, scope, ""), history.ErrInvalid)
	}},
	{"leases: of owners racing for a scope exactly one wins", func(t *testing.T, s Store) {
		const n = 8
		for round := range 3 {
			scope := fmt.Sprintf("acct-%d", round)
			now := t0.Add(time.Duration(round) * time.Hour)
			if round == 2 {
				// a stale lease everybody races to take over
				chk(s.AcquireLease(ctx, scope, "dead", time.Minute, t0))(t)
			}
			var wg sync.WaitGroup
			winners := make([]string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					owner := fmt.Sprintf("owner-%d", i)
					_, err := s.AcquireLease(ctx, scope, owner, 10*time.Minute, now)
					switch {
					case err == nil:
						winners[i] = owner
					case !errors.Is(err, history.ErrLeaseHeld):
						t.Errorf("acquire: %v", err)
					}
				}()
			}
			wg.Wait()
			var won []string
			for _, w := range winners {
				if w != "" {
					won = append(won, w)
				}
			}
			sort.Strings(won)
			cur, _ := chk2(s.LeaseOn(ctx, scope))(t)
			if len(won) != 1 || cur.Owner != won[0] {
				t.Errorf("round %d: winners %v, lease held by %q", round, won, cur.Owner)
			}
		}
	}},
}

// chk2 is chk for a (value, found, error) result.
func chk2[T any](v T, ok bool, err error) func(t *testing.T) (T, bool) {
	return func(t *testing.T) (T, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}
}
