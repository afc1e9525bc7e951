package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// skewed returns an executor whose clock (the host's) is skew ahead of
// AWS's (the sandbox's); negative skew is behind.
func (w *world) skewed(owner string, skew time.Duration) *Executor {
	ex := w.executor(w.hist, owner)
	ex.Now = func() time.Time { return w.now().Add(skew) }
	return ex
}

// cyclePlan is one keyrot apply with the planner's exemptions: collect,
// gather, plan with exempt, apply. Now is the executor's clock.
func (w *world) cyclePlan(ex *Executor, exempt func(a *inventory.Account, u *inventory.User) plan.Exemption, o Options) (*plan.Plan, *Result, error) {
	w.t.Helper()
	ctx := context.Background()
	snap := w.snapshot()
	lc := plan.DefaultLifecycle()
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter, ReadOnly: o.DryRun || o.AuditOnly})
	if err != nil {
		return nil, nil, err
	}
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots, Exempt: exempt}, ex.Now())
	res, err := ex.Apply(ctx, p, o)
	return p, res, err
}

func outcomeKinds(res *Result) []string {
	var got []string
	for _, o := range res.Outcomes {
		got = append(got, string(o.Kind)+" "+string(o.Status))
	}
	return got
}

// TestOrphanWithClockSkew: a run killed right after CreateAccessKey, on a
// host whose clock is off AWS's by up to SigV4's allowance. The key it
// created is found as an orphan by AWS's dates (its CreateDate, the keys
// the user had when the mark was written), deleted after the grace period,
// and the rotation done again. The old code compared the key's CreateDate
// (AWS's clock) with the pending mark (the host's) within one minute: with
// the host 90 s ahead the orphan was never found and the user stayed
// "blocked: two active keys, both in use".
func TestOrphanWithClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{90 * time.Second, 5 * time.Minute, -5 * time.Minute} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			w := newWorld(t, "app1")
			orig := w.held["app1"].ID
			w.advance(90 * day)
			w.use("app1")
			if _, _, err := w.cycle(w.skewed("run-1", skew), Options{Crash: crashAt("after-create")}); !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash, got %v", err)
			}
			if len(w.keys("app1")) != 2 {
				t.Fatalf("want an orphan: %s", keysText(w.keys("app1")))
			}
			w.advance(2 * time.Hour)
			w.use("app1")
			p, res, err := w.cycle(w.skewed("run-2", skew), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"delete-orphan succeeded", "create-key succeeded"}, outcomeKinds(res)); diff != "" {
				t.Fatalf("after grace (-want +got):\n%s\nblocked: %+v", diff, p.Blocked)
			}
			ks := w.keys("app1")
			cur, err := w.current("app1")
			if err != nil || len(ks) != 2 || ks[0].ID != orig || cur.Value.AccessKeyID != ks[1].ID {
				t.Fatalf("keys %s, secret %v %v", keysText(ks), cur.Value.AccessKeyID, err)
			}
			if !w.tags("app1").PendingSince.IsZero() {
				t.Error("pending tag left")
			}
		})
	}
}

// TestStoreWithClockSkewClearsPendingTag: killed after the store and before
// the pending mark was removed, on a host 90 s ahead of AWS. The next
// gathering recognises the stored key as the mark's (AWS's dates) and
// removes the mark; the old code compared the clocks within a minute and
// left the mark for ever.
func TestStoreWithClockSkewClearsPendingTag(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	if _, _, err := w.cycle(w.skewed("run-1", 90*time.Second), Options{Crash: crashAt("before-untag")}); !errors.Is(err, ErrCrashed) {
		t.Fatalf("want a crash, got %v", err)
	}
	w.advance(time.Hour)
	if _, _, err := w.cycle(w.skewed("run-2", 90*time.Second), Options{}); err != nil {
		t.Fatal(err)
	}
	if tg := w.tags("app1"); !tg.PendingSince.IsZero() {
		t.Fatalf("pending tag left: %+v", tg)
	}
}

// TestExemptUserOrphanCleanedUp: a rotate --now for an exempt user killed
// after CreateAccessKey. The planner skips exempt users, so the old code
// never cleaned up the orphan; keyrot's own leftovers are now cleaned up for
// every user, and nothing else is done to the exempt user.
func TestExemptUserOrphanCleanedUp(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	w.advance(200 * day) // old enough to rotate, were it not exempt
	w.use("app1")
	_, err := w.executor(w.hist, "now").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{}, Options{Crash: crashAt("after-create")})
	if !errors.Is(err, ErrCrashed) || len(w.keys("app1")) != 2 {
		t.Fatalf("want a crash leaving an orphan: %v %s", err, keysText(w.keys("app1")))
	}
	exempt := func(*inventory.Account, *inventory.User) plan.Exemption {
		return plan.Exemption{Exempt: true, Reason: "break-glass"}
	}
	w.advance(2 * time.Hour)
	w.use("app1")
	p, res, err := w.cyclePlan(w.skewed("x", 90*time.Second), exempt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"delete-orphan succeeded"}, outcomeKinds(res)); diff != "" {
		t.Fatalf("exempt user's orphan (-want +got):\n%s\nplan %v", diff, kinds(p))
	}
	if ks := w.keys("app1"); len(ks) != 1 || ks[0].ID != orig || ks[0].Status != inventory.KeyActive {
		t.Fatalf("keys: %s", keysText(ks))
	}
	if !w.tags("app1").PendingSince.IsZero() {
		t.Error("pending tag left")
	}
	// Nothing else: the exempt user's old key is not rotated.
	w.advance(day)
	if _, res, err := w.cyclePlan(w.executor(w.hist, "y"), exempt, Options{}); err != nil || len(res.Outcomes) != 0 {
		t.Fatalf("exempt user acted on: %v %+v", err, res.Outcomes)
	}
}

// TestFrozenCreateDoesNotDemoteNewerKey: a run stops right after
// CreateAccessKey (SIGSTOP) for longer than the orphan grace. Meanwhile
// another run deletes its key as an orphan and rotates: a new key, stored
// as AWSCURRENT. When the frozen run resumes it must not store its deleted
// key over the newer one (the old code did: the live key was left only in
// AWSPREVIOUS), at whichever step of the store it was frozen.
func TestFrozenCreateDoesNotDemoteNewerKey(t *testing.T) {
	for _, at := range []string{"after-create", "store-describe", "store-policy", "store-put-value"} {
		t.Run(at, func(t *testing.T) {
			w := newWorld(t, "app1")
			w.advance(90 * day)
			w.use("app1")
			var other *Result
			frozen := w.executor(w.hist, "frozen")
			_, res, err := w.cycle(frozen, Options{Crash: func(s string) error {
				if s != at || other != nil {
					return nil
				}
				// Frozen here: two hours later another run acts.
				w.advance(2 * time.Hour)
				w.use("app1")
				_, r2, err := w.cycle(w.executor(w.openHistory(), "other"), Options{})
				if err != nil {
					t.Fatalf("other run: %v", err)
				}
				other = r2
				return nil
			}})
			if other == nil {
				t.Fatal("the frozen step was never reached")
			}
			if diff := cmp.Diff([]string{"delete-orphan succeeded", "create-key succeeded"}, outcomeKinds(other)); diff != "" {
				t.Fatalf("the other run (-want +got):\n%s", diff)
			}
			newKey := other.Outcomes[1].NewKeyID
			cur, cerr := w.current("app1")
			if cerr != nil || cur.Value.AccessKeyID != newKey {
				t.Fatalf("AWSCURRENT holds %s (%v), want the other run's live key %s; frozen run: %v %+v", cur.Value.AccessKeyID, cerr, newKey, err, res.Outcomes)
			}
			if k := findKey(w.keys("app1"), newKey); k == nil || k.Status != inventory.KeyActive {
				t.Fatalf("the live key is gone: %s", keysText(w.keys("app1")))
			}
			if len(res.Outcomes) != 1 || res.Outcomes[0].Status == Succeeded || !strings.Contains(res.Outcomes[0].Detail, "superseded") {
				t.Errorf("frozen run's outcome: %+v", res.Outcomes)
			}
			if ks := w.keys("app1"); len(ks) != 2 {
				t.Errorf("keys: %s", keysText(ks))
			}
			if err := w.checkSafe("app1"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReplacementGoneBeforeDeactivation: the deactivation's gates pass,
// then, before UpdateAccessKey (a slow verification, a stopped process), a
// person deactivates the new key. The old key must not be deactivated too:
// the old code did, leaving the user with no active key.
func TestReplacementGoneBeforeDeactivation(t *testing.T) {
	w := newWorld(t, "app1")
	old := w.held["app1"]
	w.advance(90 * day)
	w.use("app1")
	w.advance(time.Hour) // its last use is well before the store
	if _, res, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	newKey := w.keys("app1")[1].ID
	w.advance(10 * day)
	_, res, err := w.cycle(w.executor(w.hist, "y"), Options{Crash: func(s string) error {
		if s == "before-deactivate" {
			w.setStatus("app1", newKey, "Inactive")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("old key deactivated after its replacement was: %s %+v", keysText(w.keys("app1")), res.Outcomes)
	}
	if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || !strings.Contains(res.Outcomes[0].Detail, "replacement") {
		t.Errorf("outcome: %+v", res.Outcomes)
	}
}
