package execute

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// emergencyCase is a starting point for an emergency rotation: the world,
// the request, the compromised keys (the named key and those whose secret
// it could read) and a key that must survive untouched, if any.
type emergencyCase struct {
	name  string
	setup func(t *testing.T) (w *world, req RotateNowRequest, compromised []heldKey, keep *heldKey)
}

var emergencyCases = []emergencyCase{
	{"only key", func(t *testing.T) (*world, RotateNowRequest, []heldKey, *heldKey) {
		w := newWorld(t, "app1")
		w.addReader("security-team")
		w.advance(time.Hour)
		w.useKey(w.held["app1"])
		return w, RotateNowRequest{Compromised: true}, []heldKey{w.held["app1"]}, nil
	}},
	{"named key of two", func(t *testing.T) (*world, RotateNowRequest, []heldKey, *heldKey) {
		w, a, b := twoKeys(t)
		return w, RotateNowRequest{KeyID: b.ID, Compromised: true}, []heldKey{b}, &a
	}},
	{"during a rotation", func(t *testing.T) (*world, RotateNowRequest, []heldKey, *heldKey) {
		w, a, n := rotationInProgress(t)
		return w, RotateNowRequest{KeyID: a.ID, Compromised: true}, []heldKey{a, n}, nil
	}},
}

// emergencyRun crashes the case's emergency rotation at its crashAt-th
// step (-1: never), then runs the same request again until it succeeds
// (at most 3 times), and returns the steps seen and the invariant
// violations: a compromised key read a fresh key at some step; a user
// without a working key held by someone; three keys; and at the end a
// compromised key still active, the kept key touched, the fresh key not
// stored, not readable by the user, not at the user's destination, or a
// pending tag left.
func emergencyRun(t *testing.T, c emergencyCase, crashAt int) (steps int, crashed bool, violations []string) {
	crashStep := ""
	defer func() {
		for i := range violations {
			violations[i] = "(crashed at " + crashStep + ") " + violations[i]
		}
	}()
	w, req, bad, keep := c.setup(t)
	// app1's key is also delivered to a credentials file profile.
	dests := newTestDests(t, "destinations:\n  - to: [profile:app1]\n    users: [app1]\n")
	dests.seed("profile:app1", w.held["app1"])
	w.dests = dests
	name := "keyrot/" + w.acct + "/app1"
	stale := map[string]bool{}
	for _, k := range bad {
		stale[k.ID] = true // keys the compromised keys may know already
	}
	n := 0
	probe := func(step string) error {
		n++
		for _, k := range bad {
			if got, err := readValueWith(w, k.ID, k.Secret, name); err == nil && !stale[got] {
				violations = append(violations, fmt.Sprintf("step %s: compromised key %s read fresh key %s", step, k.ID, got))
			}
		}
		if n-1 == crashAt {
			crashed = true
			crashStep = step
			return errDie
		}
		return nil
	}
	var o Outcome
	var err error
	for run := 0; run < 4; run++ {
		o, err = w.executor(w.hist, fmt.Sprintf("run-%d", run)).RotateNow(context.Background(), w.acct, "app1", req, Options{Crash: probe})
		if e := w.checkSafe("app1"); e != nil {
			violations = append(violations, fmt.Sprintf("run %d: %v", run, e))
		}
		if err == nil && o.Status == Succeeded {
			break
		}
		if !errors.Is(err, ErrCrashed) {
			violations = append(violations, fmt.Sprintf("run %d: %v %s", run, err, o.Detail))
		}
		w.advance(16 * time.Minute) // the dead run's lease expires
	}
	if o.Status != Succeeded {
		return n, crashed, append(violations, "never finished: "+o.Detail)
	}
	ks := w.keys("app1")
	for _, k := range bad {
		if kk := findKey(ks, k.ID); kk != nil && kk.Status == inventory.KeyActive {
			violations = append(violations, "compromised key still active: "+k.ID)
		}
	}
	if keep != nil {
		if kk := findKey(ks, keep.ID); kk == nil || kk.Status != inventory.KeyActive {
			violations = append(violations, "the other key was touched: "+keysText(ks))
		}
	}
	cur, cerr := w.current("app1")
	if cerr != nil || cur.Value.AccessKeyID != o.NewKeyID || findKey(ks, o.NewKeyID) == nil {
		return n, crashed, append(violations, fmt.Sprintf("fresh key %s not stored: %s %v", o.NewKeyID, keysText(ks), cerr))
	}
	if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
		violations = append(violations, "the user cannot read its fresh key: "+err.Error())
	}
	if !w.tags("app1").PendingSince.IsZero() {
		violations = append(violations, "pending tag left")
	}
	if h, err := dests.held("profile:app1"); err != nil || h.ID != o.NewKeyID {
		violations = append(violations, fmt.Sprintf("the destination holds %s, not the fresh key %s (%v)", h.ID, o.NewKeyID, err))
	}
	return n, crashed, violations
}

// TestChaosEmergency crashes rotate --now --compromised at every step of
// each emergencyCase and checks that the rerun of the same request
// finishes it without a compromised key ever reading the fresh key.
func TestChaosEmergency(t *testing.T) {
	var runs, crashes, violations, points int
	for _, c := range emergencyCases {
		t.Run(c.name, func(t *testing.T) {
			total, _, v := emergencyRun(t, c, -1)
			if len(v) > 0 {
				t.Fatalf("without crashes: %v", v)
			}
			points += total
			for at := 0; at < total; at++ {
				_, crashed, v := emergencyRun(t, c, at)
				runs++
				if crashed {
					crashes++
				}
				violations += len(v)
				for _, x := range v {
					t.Errorf("crash at step %d: %s", at, x)
				}
			}
		})
	}
	t.Logf("emergency chaos: %d crash points, %d runs, %d crashes, %d invariant violations", points, runs, crashes, violations)
	if crashes != runs {
		t.Errorf("only %d of %d runs crashed", crashes, runs)
	}
}
