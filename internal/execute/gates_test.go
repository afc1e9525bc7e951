package execute

import (
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
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
