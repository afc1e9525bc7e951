package execute

import (
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"
)

// svcChaosFull makes TestServiceChaos crash at every step (the full form);
// without it, CI's short form crashes at every svcChaosStride-th step.
var svcChaosFull = flag.Bool("chaos.services", false, "crash TestServiceChaos at every step of the service-credential lifecycle (slow)")

// svcChaosStride is the short form's distance between crash points.
const svcChaosStride = 12

// svcChaosRun runs chaosTimeline over the service-credential lifecycle,
// crashing at the crashAt-th step (-1: never), the applications following
// their secrets before each run, and checks the invariants after every
// run (svcWorld.checkSafe) and the convergence at the end. It returns the
// steps seen, whether it crashed, and the violations.
func svcChaosRun(t *testing.T, crashAt int, skew time.Duration) (steps int, crashed bool, violations []string) {
	w := newSvcWorld(t)
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
	var last time.Duration
	for i, at := range chaosTimeline {
		w.advance(at - last)
		last = at
		for _, u := range svcUserNames() {
			w.follow(u)
		}
		ex := w.executor(fmt.Sprintf("run-%d", i))
		ex.Now = func() time.Time { return w.now().Add(skew) }
		if _, _, err := w.cycle(ex, Options{Crash: crash}); err != nil && !errors.Is(err, ErrCrashed) {
			violations = append(violations, fmt.Sprintf("%s: apply: %v", at, err))
		}
		for _, u := range svcUserNames() {
			if err := w.checkSafe(u); err != nil {
				violations = append(violations, fmt.Sprintf("%s: %v", at, err))
			}
		}
	}
	for _, u := range svcUserNames() {
		w.follow(u)
		if err := w.checkConverged(u); err != nil {
			violations = append(violations, "end: "+err.Error())
		}
	}
	return n, crashed, violations
}

// TestServiceChaos crashes keyrot at every step of the service-specific
// credential lifecycle (CodeCommit, Keyspaces, Bedrock; a user at IAM's
// quota of two) and checks after every run that each user's application
// still holds an active credential, that the stored credential is active
// and holds what IAM returned, that no active credential is held by nobody
// unless a pending mark names it as an interrupted creation's (which a
// later run deletes), and at most two per service; and at the end that
// every user converged to one new credential, stored and held, and the
// user at the quota was never changed. keyrot's clock is off AWS's by
// -5m, 0 or +5m in turn. -chaos.services crashes at every step; without
// it (CI) every twelfth.
func TestServiceChaos(t *testing.T) {
	total, _, v := svcChaosRun(t, -1, 0)
	if len(v) > 0 {
		t.Fatalf("without crashes: %v", v)
	}
	stride := svcChaosStride
	if *svcChaosFull {
		stride = 1
	}
	runs, crashes, violations := 0, 0, 0
	for at := 0; at < total; at += stride {
		skew := []time.Duration{0, 5 * time.Minute, -5 * time.Minute}[at%3]
		_, crashed, v := svcChaosRun(t, at, skew)
		runs++
		if crashed {
			crashes++
		}
		violations += len(v)
		for _, x := range v {
			t.Errorf("crash at step %d (skew %s): %s", at, skew, x)
		}
	}
	t.Logf("service chaos: %d crash points, %d runs, %d crashes, %d invariant violations", total, runs, crashes, violations)
	if crashes != runs {
		t.Errorf("only %d of %d runs crashed", crashes, runs)
	}
}
