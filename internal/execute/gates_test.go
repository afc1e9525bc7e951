package execute

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// TestHumanKeyAfterRotationNotDeactivated: after a rotation finished, a
// person creates a second key for another application that runs weekly.
// It is not the key the rotation replaced and must not be deactivated as
// such (the "applications switched" rule would let it through).
func TestHumanKeyAfterRotationNotDeactivated(t *testing.T) {
	w := newWorld(t, "app1")
	var last time.Duration
	for _, at := range []time.Duration{90 * day, 100 * day, 110 * day} {
		w.advance(at - last)
		last = at
		w.follow("app1")
		if err := w.use("app1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
			t.Fatalf("%s: %v", at, err)
		}
	}
	w.follow("app1")
	if ks := w.keys("app1"); len(ks) != 1 {
		t.Fatalf("rotation did not finish: %s", keysText(ks))
	}
	w.advance(day)
	weekly := w.humanKey("app1")
	w.useKey(weekly)
	w.advance(98 * day) // day 209: the weekly job runs
	w.useKey(weekly)
	w.advance(2 * day) // day 211: the first application runs as always
	if err := w.use("app1"); err != nil {
		t.Fatal(err)
	}
	p, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := findKey(w.keys("app1"), weekly.ID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("the weekly application's key was deactivated: plan %v, outcomes %+v", kinds(p), res.Outcomes)
	}
}

// TestPlanFileAfterRollback: a plan saved before a deactivation is applied
// after the key was rolled back. The rollback holds deactivation of that key
// (the planner's rule) and the saved plan must not bypass it.
func TestPlanFileAfterRollback(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"]
	w.advance(90 * day)
	w.use("app1")
	w.cycle(w.executor(w.hist, "x"), Options{})
	w.follow("app1")
	w.advance(10 * day)
	w.use("app1")
	saved := w.savePlan(w.executor(w.hist, "plan"))
	if len(saved.Actions) != 1 || saved.Actions[0].Kind != plan.DeactivateKey {
		t.Fatalf("saved plan: %v", kinds(saved))
	}
	if _, res, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("deactivation: %v %+v", err, res)
	}
	// A weekly job still on the old key fails; the owner rolls back and the job runs.
	if o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{}); err != nil || o.Status != Succeeded {
		t.Fatalf("rollback: %v %+v", err, o)
	}
	w.advance(time.Hour)
	w.useKey(orig)
	w.advance(2 * day)
	w.use("app1")
	res, err := w.executor(w.hist, "x").Apply(context.Background(), saved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := findKey(w.keys("app1"), orig.ID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("rolled-back key deactivated again by a saved plan: %+v", res.Outcomes)
	}
	if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || !strings.Contains(res.Outcomes[0].Detail, "roll") {
		t.Errorf("want the action blocked by the rollback: %+v", res.Outcomes)
	}
}

// TestPlanFileDeleteAfterRollback: a plan saved on deletion day is applied
// after the key was rolled back and deactivated again by hand. That is a new
// deactivation, whose deletion window starts anew (docs/rotation.md); the
// saved plan must not delete the key at once.
func TestPlanFileDeleteAfterRollback(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"]
	var last time.Duration
	for _, at := range []time.Duration{90 * day, 100 * day} {
		w.advance(at - last)
		last = at
		w.follow("app1")
		w.use("app1")
		if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	w.advance(10 * day)
	saved := w.savePlan(w.executor(w.hist, "plan"))
	if len(saved.Actions) != 1 || saved.Actions[0].Kind != plan.DeleteKey {
		t.Fatalf("saved plan: %v", kinds(saved))
	}
	if o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{}); err != nil || o.Status != Succeeded {
		t.Fatalf("rollback: %v %+v", err, o)
	}
	w.advance(time.Hour)
	if _, err := w.iam.UpdateAccessKey(context.Background(), &iam.UpdateAccessKeyInput{UserName: aws.String("app1"),
		AccessKeyId: aws.String(orig.ID), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	res, err := w.executor(w.hist, "x").Apply(context.Background(), saved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if findKey(w.keys("app1"), orig.ID) == nil {
		t.Fatalf("key deleted an hour after its new deactivation: %+v", res.Outcomes)
	}
}

// TestRollbackOfUnusedKeyHolds: a key deactivated as unused and rolled back
// by its owner is not deactivated again by the next run.
func TestRollbackOfUnusedKeyHolds(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.useKey(k)
	w.advance(50 * day) // a quarterly job: unused for 50 days
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || res.Count(Succeeded) != 1 || res.Outcomes[0].Kind != plan.DeactivateKey {
		t.Fatalf("unused deactivation: %v %+v", err, res)
	}
	if o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{}); err != nil || o.Status != Succeeded {
		t.Fatalf("rollback: %v %+v", err, o)
	}
	w.advance(day)
	p, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ks := w.keys("app1"); ks[0].Status != inventory.KeyActive {
		t.Fatalf("rolled-back key deactivated again the next day: plan %v outcomes %+v", kinds(p), res.Outcomes)
	}
}

// TestUnusedKeyUsedSincePlan: a key planned for deactivation as unused is
// used before the action runs: the action is blocked as still in use, not
// failed.
func TestUnusedKeyUsedSincePlan(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(46 * day)
	snap := w.snapshot()
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle()}, w.now())
	if len(p.Actions) != 1 || p.Actions[0].Kind != plan.DeactivateKey {
		t.Fatalf("plan: %v", kinds(p))
	}
	w.advance(time.Minute)
	w.use("app1")
	res, err := w.executor(w.hist, "x").Apply(context.Background(), p, Options{})
	if err != nil || len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || !strings.Contains(res.Outcomes[0].Detail, "still in use") {
		t.Fatalf("want blocked as still in use, got %v %+v", err, res.Outcomes)
	}
	if w.keys("app1")[0].Status != inventory.KeyActive {
		t.Fatal("key deactivated")
	}
}

// TestClockSkewRotationGate: keyrot's clock is an hour ahead of AWS's. A
// use of the old key twenty minutes after the new key was stored is after
// the store, and must block the deactivation as it does with true clocks.
func TestClockSkewRotationGate(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	skewed := func(owner string) *Executor {
		ex := w.executor(w.hist, owner)
		ex.Now = func() time.Time { return w.now().Add(time.Hour) }
		return ex
	}
	if _, res, err := w.cycle(skewed("x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	w.advance(20 * time.Minute)
	w.use("app1") // a job on the old key, after the store
	w.advance(11 * day)
	_, res, err := w.cycle(skewed("y"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || !strings.Contains(res.Outcomes[0].Detail, "still in use") {
		t.Fatalf("want deactivation blocked as still in use: %+v", res.Outcomes)
	}
}
