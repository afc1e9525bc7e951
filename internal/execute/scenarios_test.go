package execute

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandbox"
)

var chaosRuns = flag.Int("chaos.runs", 0, "passes over every crash point in TestChaos, each in other variants; 0 (the CI form) crashes at every third step once")

var errDie = errors.New("die")

// TestOrphanPath: a crash right after CreateAccessKey leaves a key whose
// secret is lost; after the grace period it is deleted and the rotation is
// done again, in one run.
func TestOrphanPath(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	w.advance(90 * day)
	w.use("app1")
	_, res, err := w.cycle(w.executor(w.hist, "run-1"), Options{Crash: func(s string) error {
		if s == "after-create" {
			return errDie
		}
		return nil
	}})
	if !errors.Is(err, ErrCrashed) || !res.Crashed {
		t.Fatalf("want a crash, got %v", err)
	}
	if len(w.keys("app1")) != 2 || w.tags("app1").PendingSince.IsZero() {
		t.Fatalf("want an orphan and a pending tag: %s %+v", keysText(w.keys("app1")), w.tags("app1"))
	}
	// Within the grace period nothing happens; the user is blocked at two keys.
	p, res, err := w.cycle(w.executor(w.hist, "run-2"), Options{})
	if err != nil || len(res.Outcomes) != 0 {
		t.Fatalf("within grace: %v %v", err, kinds(p))
	}
	w.advance(2 * time.Hour)
	p, res, err = w.cycle(w.executor(w.hist, "run-3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Outcomes {
		got = append(got, string(o.Kind)+" "+string(o.Status))
	}
	if diff := cmp.Diff([]string{"delete-orphan succeeded", "create-key succeeded"}, got); diff != "" {
		t.Fatalf("after grace (-want +got):\n%s", diff)
	}
	ks := w.keys("app1")
	cur, err := w.current("app1")
	if err != nil || len(ks) != 2 || ks[0].ID != orig || cur.Value.AccessKeyID != ks[1].ID {
		t.Fatalf("after orphan removal: %s, secret %v %v", keysText(ks), cur.Value.AccessKeyID, err)
	}
	if !w.tags("app1").PendingSince.IsZero() {
		t.Error("pending tag left")
	}
}

// TestCompromisedRotation: the old key can never read the new secret.
func TestCompromisedRotation(t *testing.T) {
	w := newWorld(t, "app1")
	w.addReader("security-team")
	old := w.held["app1"]
	name := "keyrot/" + w.acct + "/app1"
	leaks := 0
	probes := 0
	probe := func(step string) error {
		probes++
		if readWith(w, old.ID, old.Secret, name) == nil {
			leaks++
			t.Errorf("old key read the new secret at step %s", step)
		}
		return nil
	}
	w.env.Server.SetNewKeyDelay(30 * time.Millisecond)
	o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{Crash: probe})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("RotateNow: %v %+v", err, o)
	}
	probe("end")
	t.Logf("probed %d steps, %d leaks", probes, leaks)
	ks := w.keys("app1")
	if k := findKey(ks, old.ID); k == nil || k.Status != inventory.KeyInactive {
		t.Errorf("old key not deactivated: %s", keysText(ks))
	}
	cur, err := w.current("app1")
	if err != nil || cur.Value.AccessKeyID != o.NewKeyID {
		t.Fatalf("secret: %v %v", cur.Value.AccessKeyID, err)
	}
	// The user reads its secret with the new key once granted.
	if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
		t.Errorf("new key cannot read its secret: %v", err)
	}
	if w.tags("app1").DeactKey != old.ID {
		t.Error("no deactivated tag")
	}
}

// TestCompromisedRotationResumes: interrupted before the old key is
// deactivated, a second RotateNow finishes without a new key.
func TestCompromisedRotationResumes(t *testing.T) {
	for _, at := range []string{"after-store", "before-verify", "before-deactivate", "after-deactivate", "before-grant"} {
		t.Run(at, func(t *testing.T) {
			w := newWorld(t, "app1")
			old := w.held["app1"]
			name := "keyrot/" + w.acct + "/app1"
			_, err := w.executor(w.hist, "a").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{Crash: func(s string) error {
				if s == at {
					return errDie
				}
				return nil
			}})
			if !errors.Is(err, ErrCrashed) {
				t.Fatalf("want crash, got %v", err)
			}
			if readWith(w, old.ID, old.Secret, name) == nil {
				t.Fatal("old key reads the new secret after the crash")
			}
			w.advance(time.Hour)
			o, err := w.executor(w.hist, "b").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("resume: %v %+v", err, o)
			}
			ks := w.keys("app1")
			if len(ks) != 2 || ks[0].Status != inventory.KeyInactive || ks[1].ID != o.NewKeyID {
				t.Errorf("after resume: %s (new %s)", keysText(ks), o.NewKeyID)
			}
			if readWith(w, old.ID, old.Secret, name) == nil {
				t.Error("old key reads the new secret")
			}
		})
	}
}

// chaosTimeline is when keyrot runs in the chaos test, in hours from day 0.
var chaosTimeline = []time.Duration{90 * day, 90*day + 2*time.Hour, 91 * day, 100 * day, 100*day + 2*time.Hour, 101 * day,
	110 * day, 110*day + 2*time.Hour, 111 * day, 121 * day, 122 * day}

type chaosStats struct {
	runs, crashes, violations int
	// blockedInUse counts end states where a second consumer's use of the
	// old key after the store held its deactivation (as it must).
	blockedInUse int
}

// chaosVariant is one combination of the chaos test's dimensions.
type chaosVariant struct {
	// skew is how far keyrot's clock (the host's) is ahead of AWS's.
	skew time.Duration
	// lateShared: the second consumer of "shared" switches to the new key
	// only at day 101, using the old key after the store meanwhile.
	lateShared bool
	// lateApp: app1 follows its secret a day late around day 100.
	lateApp bool
	// tamper: before each honest run, the executor is also handed a
	// tampered copy of the plan (kinds swapped, gates and expected keys
	// dropped, blocked items promoted to deletions), as a hand-edited or
	// foreign plan file would be if it got past the plan's own checks.
	tamper bool
}

// variant decodes the dimensions of variant number v: every crash point
// of one pass gets the next one, so a single pass covers them all.
func variant(v int) chaosVariant {
	return chaosVariant{
		skew:       []time.Duration{0, 5 * time.Minute, -5 * time.Minute, 90 * time.Second}[v%4],
		lateShared: (v/4)%2 == 1,
		lateApp:    (v/8)%2 == 1,
		tamper:     (v/16)%2 == 1,
	}
}

// tampered returns forged one-action plans made from p: every action
// turned into each kind, with its gate dropped but its expected keys kept
// (as a forger who read the live state would), and every blocked item
// promoted to a deletion of its key. One plan per action, so that each
// forged action meets the executor's rules on its own.
func tampered(p *plan.Plan) []*plan.Plan {
	kinds := []plan.Kind{plan.CreateKey, plan.DeactivateKey, plan.DeleteKey, plan.DeleteOrphan}
	var out []*plan.Plan
	one := func(a plan.Action) {
		out = append(out, &plan.Plan{GeneratedAt: p.GeneratedAt, Lifecycle: p.Lifecycle, Accounts: p.Accounts, Actions: []plan.Action{a}})
	}
	for _, a := range append(append([]plan.Action(nil), p.Actions...), p.Deferred...) {
		for _, k := range kinds {
			f := a
			f.ID = string(k) + "/forged/" + a.ID
			f.Kind, f.Gate, f.Deferred = k, plan.Gate{}, ""
			one(f)
		}
	}
	for _, b := range p.Blocked {
		if b.KeyID == "" {
			continue
		}
		f := b
		f.ID = "promoted/" + b.ID
		f.Kind, f.Gate = plan.DeleteKey, plan.Gate{}
		one(f)
	}
	return out
}

// chaosUsers are the chaos test's users: app1 (one application), shared
// (two applications share its key), full (IAM's maximum of 50 tags: no
// room for keyrot's pending mark) and twokeys (IAM's maximum of two keys,
// both in use).
var chaosUsers = []string{"app1", "shared", "full", "twokeys"}

// chaosRun runs the timeline in variant v, crashing at the crashAt-th step
// (-1: never). It returns how many steps it saw, whether it crashed, the
// invariant violations, and whether shared ended held by its second
// consumer's use after the store.
func chaosRun(t *testing.T, v chaosVariant, crashAt int) (steps int, crashed bool, violations []string, heldInUse bool) {
	w := newWorld(t, chaosUsers...)
	// app1's key is also delivered to two destinations (a credentials file
	// profile and a Vault stand-in), whose consumers use what they hold.
	dests := newTestDests(t, twoDests)
	for _, ref := range app1Dests {
		dests.seed(ref, w.held["app1"])
	}
	w.dests = dests
	destInvariant := func(when string) {
		if err := w.checkDestinations(dests, "app1", app1Dests...); err != nil {
			violations = append(violations, when+": "+err.Error())
		}
	}
	w.fillTags("full", MaxUserTags)
	second := w.humanKey("twokeys")
	shared2 := w.held["shared"] // the second consumer of shared's key
	twoKeys := keysText(w.keys("twokeys"))
	// The users of the account are worked on at once: the hook counts
	// under a lock, and which user's step is the crashAt-th varies.
	var mu sync.Mutex
	n := 0
	crash := func(string) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n-1 == crashAt {
			crashed = true
			return errDie
		}
		return nil
	}
	usedOldAfterStore := false
	var last time.Duration
	for i, at := range chaosTimeline {
		w.advance(at - last)
		last = at
		for _, u := range chaosUsers {
			late := v.lateApp && u == "app1" && at >= 100*day && at < 101*day
			if !late {
				w.follow(u) // the secret may not exist yet after a crash
			}
			if err := w.use(u); err != nil {
				violations = append(violations, fmt.Sprintf("%s: %s's key fails: %v", at, u, err))
			}
		}
		// The second consumer of shared: follows its secret like the first,
		// or, late, only from day 101, using the old key until then.
		if !v.lateShared || at >= 101*day {
			if cur, err := w.current("shared"); err == nil && cur.Value.AccessKeyID != shared2.ID {
				shared2 = heldKey{ID: cur.Value.AccessKeyID, Secret: cur.Value.SecretAccessKey.Reveal()}
			}
		} else if cur, err := w.current("shared"); err == nil && cur.Value.AccessKeyID != shared2.ID {
			usedOldAfterStore = true
		}
		if !w.authenticates("shared", shared2.ID, shared2.Secret) {
			violations = append(violations, fmt.Sprintf("%s: shared's second consumer's key %s fails", at, inventory.MaskKeyID(shared2.ID)))
		}
		w.useKey(shared2)
		w.useKey(second)
		for _, ref := range app1Dests {
			if err := w.useDest(dests, ref); err != nil {
				violations = append(violations, fmt.Sprintf("%s: %v", at, err))
			}
		}
		ex := w.executor(w.hist, fmt.Sprintf("run-%d", i))
		ex.Now = func() time.Time { return w.now().Add(v.skew) }
		if v.tamper {
			// Refused forged actions may fail: only safety is judged.
			for _, fp := range tampered(w.savePlan(ex)) {
				_, _ = ex.Apply(context.Background(), fp, Options{Crash: crash})
			}
			for _, u := range chaosUsers {
				if err := w.checkSafe(u); err != nil {
					violations = append(violations, fmt.Sprintf("%s: after a tampered plan: %v", at, err))
				}
			}
			destInvariant(fmt.Sprintf("%s: after a tampered plan", at))
		}
		_, _, err := w.cycle(ex, Options{Crash: crash})
		if err != nil && !errors.Is(err, ErrCrashed) {
			violations = append(violations, fmt.Sprintf("%s: apply: %v", at, err))
		}
		for _, u := range chaosUsers {
			if err := w.checkSafe(u); err != nil {
				violations = append(violations, fmt.Sprintf("%s: %v", at, err))
			}
		}
		destInvariant(at.String())
	}
	// Converged: every destination holds the user's one remaining key.
	if ks := w.keys("app1"); len(ks) == 1 {
		for _, ref := range app1Dests {
			if h, err := dests.held(ref); err != nil || h.ID != ks[0].ID {
				violations = append(violations, fmt.Sprintf("end: destination %s holds %s, not app1's key %s (%v)", ref, inventory.MaskKeyID(h.ID), inventory.MaskKeyID(ks[0].ID), err))
			}
		}
	}
	for _, u := range []string{"app1", "shared"} {
		w.follow(u)
		err := w.checkConverged(u)
		if u == "shared" && usedOldAfterStore {
			// The old key was used after the store: it must still be
			// active (held by the usage gate), next to the stored key.
			ks := w.keys(u)
			cur, cerr := w.current(u)
			if len(ks) == 2 && ks[0].Status == inventory.KeyActive && cerr == nil && cur.Value.AccessKeyID == ks[1].ID {
				heldInUse, err = true, nil
			} else {
				err = fmt.Errorf("shared: old key used after the store, want it held active next to the stored key: %s", keysText(ks))
			}
		}
		if err != nil {
			violations = append(violations, "end: "+err.Error())
		}
	}
	if ks := w.keys("full"); len(ks) != 1 || ks[0].ID != w.held["full"].ID {
		violations = append(violations, "end: full (50 tags) changed: "+keysText(ks))
	}
	if got := keysText(w.keys("twokeys")); got != twoKeys {
		violations = append(violations, "end: twokeys changed: "+got+", was "+twoKeys)
	}
	return n, crashed, violations, heldInUse
}

// TestChaos crashes keyrot at every step of a rotation lifecycle and checks
// after every run that each user keeps a working key whose secret somebody
// holds (every consumer's key works, a second consumer's included), that
// every destination of app1 holds an active key of app1 whose secret
// works (so never a key keyrot deactivated or deleted, while its
// consumers read it), and at the end that all converged, every
// destination holding the user's one key (or, where a consumer used the old key after
// the store, that the old key is held active). The dimensions vary by
// variant: keyrot's clock against AWS's (0, +5m, -5m, +90s), a second
// consumer of shared's key that switches late, an application that follows
// late; tampered plans handed to the executor before each run; users at
// IAM's quotas (50 tags; two keys) are never changed. A
// pass crashes once at every step, each crash point in the next variant;
// -chaos.runs=N makes N passes, each shifted by one variant. Without the
// flag (the CI form, run by make test with -race) one pass crashes at every
// third step.
func TestChaos(t *testing.T) {
	total, _, v, _ := chaosRun(t, variant(0), -1)
	if len(v) > 0 {
		t.Fatalf("without crashes: %v", v)
	}
	var st chaosStats
	points, passes, stride := total, *chaosRuns, 1
	if passes <= 0 {
		passes, stride = 1, 3 // the CI form: short enough for make test's -race
	}
	if testing.Short() {
		points = min(points, 25)
	}
	for pass := 0; pass < passes; pass++ {
		for at := 0; at < points; at += stride {
			vr := variant(pass + at)
			_, crashed, v, held := chaosRun(t, vr, at)
			st.runs++
			if crashed {
				st.crashes++
			}
			if held {
				st.blockedInUse++
			}
			st.violations += len(v)
			for _, x := range v {
				t.Errorf("pass %d crash at step %d (%+v): %s", pass, at, vr, x)
			}
		}
	}
	t.Logf("chaos: %d crash points, %d runs, %d crashes, %d held in use by a second consumer, %d invariant violations",
		total, st.runs, st.crashes, st.blockedInUse, st.violations)
	if st.crashes != st.runs {
		t.Errorf("only %d of %d runs crashed", st.crashes, st.runs)
	}
}

// TestThrottling: with 30% of all calls throttled, the lifecycle ends the same.
func TestThrottling(t *testing.T) {
	w := newWorld(t, "app1", "app2")
	if _, err := w.env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultThrottle, Probability: 0.3}); err != nil {
		t.Fatal(err)
	}
	var last time.Duration
	for _, at := range chaosTimeline {
		w.advance(at - last)
		last = at
		for _, u := range []string{"app1", "app2"} {
			w.follow(u)
			if err := w.use(u); err != nil {
				t.Fatalf("%s: %v", at, err)
			}
		}
		if _, _, err := w.cycle(w.executor(w.hist, "t"), Options{}); err != nil {
			t.Fatalf("%s: %v", at, err)
		}
	}
	for _, u := range []string{"app1", "app2"} {
		w.follow(u)
		if err := w.checkConverged(u); err != nil {
			t.Error(err)
		}
	}
	fired := 0
	for _, f := range w.env.Server.Faults() {
		fired += f.Fired
	}
	if fired == 0 {
		t.Error("no call was throttled")
	}
	t.Logf("throttled %d calls", fired)
}

// TestConcurrentApply: two keyrot processes (separate history handles on
// one file) apply the same rotation at once.
func TestConcurrentApply(t *testing.T) {
	w := newWorld(t, "app1", "app2")
	w.advance(90 * day)
	w.use("app1")
	w.use("app2")
	h2 := w.openHistory()
	exA, exB := w.executor(w.hist, "proc-a"), w.executor(h2, "proc-b")
	snap := w.snapshot()
	lc := plan.DefaultLifecycle()
	mk := func(ex *Executor) *plan.Plan {
		rots, err := ex.Gather(context.Background(), snap, GatherOptions{RotateAfter: lc.RotateAfter})
		if err != nil {
			t.Fatal(err)
		}
		return plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now())
	}
	pa, pb := mk(exA), mk(exB)
	var wg sync.WaitGroup
	var ra, rb *Result
	wg.Add(2)
	go func() { defer wg.Done(); ra, _ = exA.Apply(context.Background(), pa, Options{}) }()
	go func() { defer wg.Done(); rb, _ = exB.Apply(context.Background(), pb, Options{}) }()
	wg.Wait()
	// Then B again with its stale plan, after A released the lease.
	rc, _ := exB.Apply(context.Background(), pb, Options{})
	succ := ra.Count(Succeeded) + rb.Count(Succeeded) + rc.Count(Succeeded)
	if succ != 2 {
		t.Errorf("want exactly one rotation per user, got %d successes: %+v %+v %+v", succ, ra.Outcomes, rb.Outcomes, rc.Outcomes)
	}
	if n := w.calls.count("CreateAccessKey"); n != 2+2 { // 2 in setup
		t.Errorf("CreateAccessKey called %d times, want 4", n)
	}
	for _, u := range []string{"app1", "app2"} {
		ks := w.keys(u)
		cur, err := w.current(u)
		if len(ks) != 2 || err != nil || cur.Value.AccessKeyID != ks[1].ID {
			t.Errorf("%s: keys %s, secret %s %v", u, keysText(ks), cur.Value.AccessKeyID, err)
		}
	}
	for _, o := range append(rb.Outcomes, rc.Outcomes...) {
		if o.Status == Skipped && !strings.Contains(o.Detail, "proc-a") && !strings.Contains(o.Detail, "state changed") {
			t.Errorf("skip without a clear reason: %s", o.Detail)
		}
	}
}

// TestDryRunAndAuditOnlyMakeNoWrites counts the calls on the wire.
func TestDryRunAndAuditOnlyMakeNoWrites(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	for _, o := range []Options{{DryRun: true}, {AuditOnly: true}} {
		before := w.calls.writes()
		p, res, err := w.cycle(w.executor(w.hist, "dry"), o)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, w.calls.writes()); diff != "" {
			t.Errorf("%+v made write calls (-before +after):\n%s", o, diff)
		}
		if len(p.Actions) != 1 || len(res.Outcomes) != 1 || !res.Outcomes[0].WouldDo || res.Outcomes[0].Status != Skipped {
			t.Errorf("%+v: outcomes %+v", o, res.Outcomes)
		}
	}
	if len(w.keys("app1")) != 1 {
		t.Error("a key was created")
	}
}

// TestCancelStopsBetweenActions: a cancelled context finishes nothing new.
func TestCancelStopsBetweenActions(t *testing.T) {
	w := newWorld(t, "app1", "app2")
	w.advance(90 * day)
	w.use("app1")
	w.use("app2")
	ctx, cancel := context.WithCancel(context.Background())
	ex := w.executor(w.hist, "c")
	ex.Concurrency, ex.UserConcurrency = 1, 1 // one action at a time
	snap := w.snapshot()
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle()}, w.now())
	// Cancel during the first action's store: it must still finish.
	res, err := ex.Apply(ctx, p, Options{Crash: func(s string) error {
		if s == "store-put-value" {
			cancel()
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []Status
	for _, o := range res.Outcomes {
		got = append(got, o.Status)
	}
	if diff := cmp.Diff([]Status{Succeeded, Skipped}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}
