package execute

import (
	"errors"
	"testing"
	"time"
)

// TestStalePendingTagSparesHumanKey: a run died after tagging the user
// pending, before CreateAccessKey. A key a person creates a day later is
// not an orphan of that run and must not be deleted.
func TestStalePendingTagSparesHumanKey(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{Crash: crashAt("before-create")}); !errors.Is(err, ErrCrashed) {
		t.Fatalf("want a crash, got %v", err)
	}
	if w.tags("app1").PendingSince.IsZero() || len(w.keys("app1")) != 1 {
		t.Fatalf("want a pending tag and one key: %+v %s", w.tags("app1"), keysText(w.keys("app1")))
	}
	w.advance(day)
	human := w.humanKey("app1") // handed to a second application, deployed later
	w.advance(2 * time.Hour)
	p, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if findKey(w.keys("app1"), human.ID) == nil {
		t.Fatalf("a person's key was deleted as an orphan: plan %v, outcomes %+v", kinds(p), res.Outcomes)
	}
}

// TestFailedCreateClearsPendingTag: CreateAccessKey failed and no key was
// created. The pending tag must not stay behind to mark the next key a
// person creates as an orphan.
func TestFailedCreateClearsPendingTag(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	if _, err := w.env.Server.AddFault(sandboxFault("error", "iam", "CreateAccessKey", 1000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err == nil {
		t.Fatal("want a failed create")
	}
	w.env.Server.ClearFaults("")
	if len(w.keys("app1")) != 1 {
		t.Fatalf("keys: %s", keysText(w.keys("app1")))
	}
	if tg := w.tags("app1"); !tg.PendingSince.IsZero() {
		t.Fatalf("pending tag left after a create that created nothing: %+v", tg)
	}
	// An operator creates the key by hand right away; it must survive.
	human := w.humanKey("app1")
	w.advance(2 * time.Hour)
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
		t.Fatal(err)
	}
	if findKey(w.keys("app1"), human.ID) == nil {
		t.Fatal("the operator's key was deleted")
	}
}

// TestAmbiguousCreateLeavesOrphanMarked: CreateAccessKey created a key but
// its reply was lost; the SDK's retry met IAM's two-key quota. The key
// nobody holds stays marked by the pending tag, is deleted after the grace
// period, and the rotation is done again: no third key, convergence.
func TestAmbiguousCreateLeavesOrphanMarked(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	w.advance(90 * day)
	w.use("app1")
	w.calls.drop("CreateAccessKey", 1)
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err == nil || res.Count(Failed) != 1 {
		t.Fatalf("want the create to fail, got %v %+v", err, res)
	}
	if n := w.calls.count("CreateAccessKey"); n != 1+2 { // 1 in setup, 1 + 1 retry
		t.Fatalf("CreateAccessKey sent %d times", n)
	}
	ks := w.keys("app1")
	if len(ks) != 2 || w.tags("app1").PendingSince.IsZero() {
		t.Fatalf("want the lost key marked by the pending tag: %s %+v", keysText(ks), w.tags("app1"))
	}
	w.advance(2 * time.Hour)
	w.use("app1")
	_, res, err = w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || res.Count(Succeeded) != 2 {
		t.Fatalf("orphan removal and rotation: %v %+v", err, res.Outcomes)
	}
	ks = w.keys("app1")
	if len(ks) != 2 || ks[0].ID != orig {
		t.Fatalf("keys: %s", keysText(ks))
	}
	if err := w.checkSafe("app1"); err != nil {
		t.Fatal(err)
	}
}
