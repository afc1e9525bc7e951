package execute

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

const twoDests = `
destinations:
  - to: [profile:app1, vault:secret/app1]
    users: [app1]
`

var app1Dests = []string{"profile:app1", "vault:secret/app1"}

// deliveryWorld is app1 with its two destinations, each holding its
// original key.
func deliveryWorld(t *testing.T, src string) (*world, *testDests) {
	w := newWorld(t, "app1")
	d := newTestDests(t, src)
	for _, ref := range app1Dests {
		d.seed(ref, w.held["app1"])
	}
	w.dests = d
	return w, d
}

// period is the time before a run: every consumer uses the key it holds
// (the application follows its secret; the destinations' consumers use
// what their destination holds).
func (w *world) period(d *testDests, refs ...string) {
	w.t.Helper()
	w.follow("app1")
	if err := w.use("app1"); err != nil {
		w.t.Fatal(err)
	}
	for _, ref := range refs {
		if err := w.useDest(d, ref); err != nil {
			w.t.Fatal(err)
		}
	}
}

func outcomeOfKind(t *testing.T, res *Result, k plan.Kind) Outcome {
	t.Helper()
	for _, o := range res.Outcomes {
		if o.Kind == k {
			return o
		}
	}
	t.Fatalf("no %s outcome in %+v", k, res.Outcomes)
	return Outcome{}
}

// TestDeliveryLifecycle: the new key goes to both destinations once it
// is verified, each delivery is recorded with the key it wrote, and the
// old key is deactivated once both are read back holding the new key.
func TestDeliveryLifecycle(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	old := w.held["app1"]
	w.advance(90 * day)
	w.period(d, app1Dests...)
	_, res, err := w.cycle(w.executor(w.hist, "r1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := outcomeOfKind(t, res, plan.CreateKey)
	if o.Status != Succeeded || len(o.Deliveries) != 2 || len(undelivered(o.Deliveries)) != 0 {
		t.Fatalf("create: %+v", o)
	}
	if !strings.Contains(o.Detail, "delivered to 2 destination(s)") {
		t.Errorf("detail: %s", o.Detail)
	}
	for _, ref := range app1Dests {
		if h, _ := d.held(ref); h.ID != o.NewKeyID {
			t.Errorf("%s holds %s, want the new key %s", ref, h.ID, o.NewKeyID)
		}
	}
	if err := w.checkDestinations(d, "app1", app1Dests...); err != nil {
		t.Error(err)
	}
	recs, err := w.hist.Deliveries(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Status != history.DeliveryWriting || recs[1].Status != history.DeliveryWritten || recs[1].KeyID != o.NewKeyID || recs[3].Status != history.DeliveryWritten {
		t.Errorf("recorded deliveries: %+v", recs)
	}
	// A rerun the same day (a crash later, say) writes nothing new.
	writes := d.vault("vault:secret/app1").writeCount()
	w.advance(2 * time.Hour)
	w.period(d, app1Dests...)
	if _, _, err := w.cycle(w.executor(w.hist, "r2"), Options{}); err != nil {
		t.Fatal(err)
	}
	if n := d.vault("vault:secret/app1").writeCount(); n != writes {
		t.Errorf("a run with nothing due wrote the destination again (%d writes, was %d)", n, writes)
	}
	w.advance(10 * day)
	w.period(d, app1Dests...)
	_, res, err = w.cycle(w.executor(w.hist, "r3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	o = outcomeOfKind(t, res, plan.DeactivateKey)
	if o.Status != Succeeded || len(o.Deliveries) != 2 || !strings.Contains(o.Detail, "confirmed at every destination") {
		t.Fatalf("deactivate: %+v", o)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyInactive {
		t.Errorf("old key: %+v", k)
	}
	if err := w.checkDestinations(d, "app1", app1Dests...); err != nil {
		t.Error(err)
	}
}

// TestDeliveryFailureBlocksDeactivation: a destination that refuses the
// write leaves the old key active, reported blocked with the
// destination's error, run after run; once it accepts, the next run
// delivers, and the old key goes once its consumer has switched.
func TestDeliveryFailureBlocksDeactivation(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	old := w.held["app1"]
	vault := d.vault("vault:secret/app1")
	vault.set(deliver.HTTPStatusError(403, "policy"), false)
	w.advance(90 * day)
	w.period(d, app1Dests...)
	_, res, err := w.cycle(w.executor(w.hist, "r1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := outcomeOfKind(t, res, plan.CreateKey)
	if o.Status != Succeeded || len(undelivered(o.Deliveries)) != 1 || !strings.Contains(o.Detail, "not to vault:secret/app1") {
		t.Fatalf("create: %+v", o)
	}
	if h, _ := d.held("vault:secret/app1"); h.ID != old.ID {
		t.Fatalf("vault holds %s", h.ID)
	}
	w.advance(10 * day)
	w.period(d, app1Dests...)
	_, res, err = w.cycle(w.executor(w.hist, "r2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	o = outcomeOfKind(t, res, plan.DeactivateKey)
	if o.Status != Blocked || !strings.Contains(o.Detail, "waiting for delivery") || !strings.Contains(o.Detail, "vault:secret/app1") || !strings.Contains(o.Detail, "HTTP 403") {
		t.Fatalf("deactivate with a failing destination: %+v", o)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("old key deactivated while a destination holds it: %+v", k)
	}
	recs, _ := w.hist.Deliveries(context.Background(), w.acct, "app1")
	failedN := 0
	for _, r := range recs {
		if r.Status == history.DeliveryFailed && strings.Contains(r.Error, "HTTP 403") {
			failedN++
		}
	}
	if failedN != 2 {
		t.Errorf("want 2 recorded failures, got %+v", recs)
	}
	// The destination accepts again: delivered now, the old key waits for
	// its consumer to switch.
	vault.set(nil, false)
	w.advance(2 * time.Hour)
	w.period(d, app1Dests...) // the vault consumer still uses the old key
	_, res, err = w.cycle(w.executor(w.hist, "r3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o = outcomeOfKind(t, res, plan.DeactivateKey); o.Status != Blocked || !strings.Contains(o.Detail, "delivered just now to vault:secret/app1") {
		t.Fatalf("deactivate right after the late delivery: %+v", o)
	}
	w.advance(day)
	w.period(d, app1Dests...) // now on the new key
	_, res, err = w.cycle(w.executor(w.hist, "r4"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Its consumers get the switch window from the late delivery.
	if o = outcomeOfKind(t, res, plan.DeactivateKey); o.Status != Blocked || !strings.Contains(o.Detail, "last delivered to a destination") {
		t.Fatalf("deactivate a day after the late delivery: %+v", o)
	}
	w.advance(9 * day)
	w.period(d, app1Dests...)
	_, res, err = w.cycle(w.executor(w.hist, "r5"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o = outcomeOfKind(t, res, plan.DeactivateKey); o.Status != Succeeded {
		t.Fatalf("deactivate once every consumer switched: %+v", o)
	}
	if err := w.checkDestinations(d, "app1", app1Dests...); err != nil {
		t.Error(err)
	}
}

// TestDeliveryConfigChangedBetweenRuns: the deactivation checks the
// destinations the configuration names now: one added after the creation
// is delivered to first.
func TestDeliveryConfigChangedBetweenRuns(t *testing.T) {
	w, d := deliveryWorld(t, "destinations:\n  - to: [profile:app1]\n    users: [app1]\n")
	w.advance(90 * day)
	w.period(d, "profile:app1")
	if _, _, err := w.cycle(w.executor(w.hist, "r1"), Options{}); err != nil {
		t.Fatal(err)
	}
	d.configure(`
user_tag: team-deliver
destinations:
  - to: [profile:app1]
    users: [app1]
`)
	// The user's own tag names a new destination.
	if _, err := w.iam.TagUser(context.Background(), &iam.TagUserInput{UserName: aws.String("app1"),
		Tags: []types.Tag{{Key: aws.String("team-deliver"), Value: aws.String("vault:secret/new")}}}); err != nil {
		t.Fatal(err)
	}
	w.advance(10 * day)
	w.period(d, "profile:app1")
	_, res, err := w.cycle(w.executor(w.hist, "r2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := w.current("app1")
	if o := outcomeOfKind(t, res, plan.DeactivateKey); o.Status != Blocked || !strings.Contains(o.Detail, "delivered just now to vault:secret/new") {
		t.Fatalf("deactivate with a new destination: %+v", o)
	}
	if h, _ := d.held("vault:secret/new"); h.ID != cur.Value.AccessKeyID {
		t.Fatalf("the new destination holds %q, want %s", h.ID, cur.Value.AccessKeyID)
	}
	w.advance(10 * day)
	w.period(d, "profile:app1", "vault:secret/new")
	_, res, err = w.cycle(w.executor(w.hist, "r3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOfKind(t, res, plan.DeactivateKey); o.Status != Succeeded {
		t.Fatalf("deactivate: %+v", o)
	}
}

// TestAuditOnlyRecordsNoDelivery: an audit-only run reads the
// destinations and writes nothing, not even a failed delivery of a
// destination it cannot open.
func TestAuditOnlyRecordsNoDelivery(t *testing.T) {
	w, d := deliveryWorld(t, "destinations:\n  - to: [profile:app1]\n    users: [app1]\n")
	w.advance(90 * day)
	w.period(d, "profile:app1")
	if _, _, err := w.cycle(w.executor(w.hist, "r1"), Options{}); err != nil {
		t.Fatal(err)
	}
	// A destination keyrot cannot open (this harness has no GitHub backend).
	d.configure("destinations:\n  - to: [profile:app1, github:acme/app/AWS_ACCESS_KEY_ID]\n    users: [app1]\n")
	before, err := w.hist.Deliveries(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	w.advance(10 * day)
	w.period(d, "profile:app1")
	_, res, err := w.cycle(w.executor(w.hist, "audit"), Options{AuditOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOfKind(t, res, plan.DeactivateKey); len(undelivered(o.Deliveries)) != 1 {
		t.Fatalf("audit-only deactivate should report the unopened destination: %+v", o)
	}
	after, err := w.hist.Deliveries(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("an audit-only run recorded deliveries: %d before, %d after: %+v", len(before), len(after), after[len(before):])
	}
}

// TestDeliveryNeverWritesDeadKey: a new key that a person deactivated
// after the store is never written to a destination, and the old key
// stays active.
func TestDeliveryNeverWritesDeadKey(t *testing.T) {
	w, d := deliveryWorld(t, "destinations:\n  - to: [profile:app1]\n    users: [app1]\n")
	old := w.held["app1"]
	w.advance(90 * day)
	w.period(d, "profile:app1")
	_, res, err := w.cycle(w.executor(w.hist, "r1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	newID := outcomeOfKind(t, res, plan.CreateKey).NewKeyID
	if _, err := w.iam.UpdateAccessKey(context.Background(), &iam.UpdateAccessKeyInput{UserName: aws.String("app1"),
		AccessKeyId: aws.String(newID), Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	d.configure(twoDests) // a destination that never held the new key
	vault := d.vault("vault:secret/app1")
	before := vault.writeCount()
	w.advance(10 * day)
	if err := w.use("app1"); err != nil { // the application still has the old key
		t.Fatal(err)
	}
	_, res, _ = w.cycle(w.executor(w.hist, "r2"), Options{})
	for _, o := range res.Outcomes {
		if o.Kind == plan.DeactivateKey && o.Status == Succeeded {
			t.Errorf("old key deactivated: %+v", o)
		}
	}
	if vault.writeCount() != before {
		t.Error("a deactivated key was written to a destination")
	}
	if h, _ := d.held("vault:secret/app1"); h.ID != old.ID {
		t.Errorf("vault holds %s, want the old key still", h.ID)
	}
	// deliverKey itself refuses the dead key.
	r := w.executor(w.hist, "r3").runner(Options{})
	a := plan.Action{AccountID: w.acct, User: "app1", KeyID: old.ID}
	ts := d.For(context.Background(), w.acct, inventory.User{Name: "app1"})
	_, err = r.deliverKey(context.Background(), a, w.iam, ts, newID, deliverOpts{mode: writeAll})
	var nd *errNotDeliverable
	if !errors.As(err, &nd) || vault.writeCount() != before {
		t.Errorf("deliverKey of an inactive key: %v (writes %d, was %d)", err, vault.writeCount(), before)
	}
}

// TestEmergencyDeliveryBoundedWait: a compromised key's replacement is
// delivered to the destinations that answer; one that hangs is given up
// after the bounded wait, reported, and the compromised key is cut off
// anyway.
func TestEmergencyDeliveryBoundedWait(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	old := w.held["app1"]
	d.vault("vault:secret/app1").set(nil, true)
	start := time.Now()
	o, err := w.executor(w.hist, "e").RotateNow(context.Background(), w.acct, "app1",
		RotateNowRequest{Compromised: true, DeliverWait: 300 * time.Millisecond}, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rotate --now --compromised: %v %+v", err, o)
	}
	if took := time.Since(start); took > DefaultDeliverTimeout {
		t.Errorf("took %s: the hanging destination was waited on beyond the bound", took)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyInactive {
		t.Errorf("compromised key not cut off: %+v", k)
	}
	if !strings.Contains(o.Detail, "not updated") || !strings.Contains(o.Detail, "vault:secret/app1") {
		t.Errorf("detail does not name the destination not updated: %s", o.Detail)
	}
	if h, _ := d.held("profile:app1"); h.ID != o.NewKeyID {
		t.Errorf("profile holds %s, want %s", h.ID, o.NewKeyID)
	}
	if h, _ := d.held("vault:secret/app1"); h.ID != old.ID {
		t.Errorf("vault holds %s", h.ID)
	}
	bad := undelivered(o.Deliveries)
	if len(bad) != 1 || bad[0].Destination != "vault:secret/app1" {
		t.Errorf("deliveries: %+v", o.Deliveries)
	}
}

// TestEmergencyDeliveryBoundedOpen: the bounded wait of an emergency
// rotation covers opening the destinations too (their tokens are read
// from a secret store, their accounts' roles assumed): when that hangs,
// the compromised key is cut off anyway once the wait is over.
func TestEmergencyDeliveryBoundedOpen(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	old := w.held["app1"]
	d.mu.Lock()
	d.openHang = true
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o, err := w.executor(w.hist, "e").RotateNow(ctx, w.acct, "app1",
		RotateNowRequest{Compromised: true, DeliverWait: 300 * time.Millisecond}, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rotate --now --compromised with destinations that cannot be opened: %v %+v", err, o)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyInactive {
		t.Errorf("compromised key not cut off: %+v", k)
	}
}

// TestEmergencyRerunDeliversWhereTheWaitGaveUp: a destination given up by
// an emergency rotation's bounded wait gets the new key when the same
// request is run again once it answers, as the outcome tells the operator.
func TestEmergencyRerunDeliversWhereTheWaitGaveUp(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	old := w.held["app1"]
	vault := d.vault("vault:secret/app1")
	vault.set(nil, true)
	req := RotateNowRequest{Compromised: true, KeyID: old.ID, DeliverWait: 300 * time.Millisecond}
	o, err := w.executor(w.hist, "e").RotateNow(context.Background(), w.acct, "app1", req, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rotate --now --compromised: %v %+v", err, o)
	}
	vault.set(nil, false)
	again, err := w.executor(w.hist, "e").RotateNow(context.Background(), w.acct, "app1", req, Options{})
	if err != nil || again.Status != Succeeded {
		t.Fatalf("rotate --now --compromised again: %v %+v", err, again)
	}
	if h, _ := d.held("vault:secret/app1"); h.ID != o.NewKeyID {
		t.Errorf("after the rerun vault holds %s, want the new key %s (%s)", h.ID, o.NewKeyID, again.Detail)
	}
	if again.NewKeyID != o.NewKeyID {
		t.Errorf("the rerun made another key %s (first run: %s)", again.NewKeyID, o.NewKeyID)
	}
}
