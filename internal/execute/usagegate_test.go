package execute

import (
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// TestUsageGateSecondConsumer: two applications share a key. After the
// rotation one switches to the new key; the other keeps using the old key
// every three days (days 1, 4 and 7 after the store). On day 10 the old
// key was used after the store: its deactivation is blocked, reported with
// its last use, whatever the new key's use says. (The old code let it
// through once the old key had been quiet for a day and the new key had
// been used since.)
func TestUsageGateSecondConsumer(t *testing.T) {
	w := newWorld(t, "app1")
	old := w.held["app1"]
	w.advance(90 * day)
	w.use("app1")
	if _, res, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	w.follow("app1") // the first application switches at once
	var lastOld time.Time
	for d := 1; d <= 10; d++ {
		w.advance(day)
		if err := w.use("app1"); err != nil {
			t.Fatal(err)
		}
		if d == 1 || d == 4 || d == 7 {
			w.useKey(old) // the second application, still on the old key
			lastOld = w.now()
		}
	}
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := findKey(w.keys("app1"), old.ID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("the old key, used 3 days ago by a second application, was deactivated: %+v", res.Outcomes)
	}
	if len(res.Outcomes) != 1 {
		t.Fatalf("outcomes: %+v", res.Outcomes)
	}
	o := res.Outcomes[0]
	if o.Status != Blocked || o.LastUsed == nil || !strings.Contains(o.Detail, "still in use") ||
		o.LastUsed.Sub(lastOld).Abs() > time.Minute || !strings.Contains(o.Detail, lastOld.UTC().Format("2006-01-02")) {
		t.Fatalf("want blocked as in use with its last use (%s): %+v", lastOld, o)
	}
}
