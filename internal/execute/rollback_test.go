package execute

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/inventory"
)

// TestRollbackRefusesKeyFirstSeenInactive: a person deactivated a key and
// keyrot recorded it as first seen inactive. Rollback re-activates only
// what keyrot deactivated; today's code re-activated this key because the
// keyrot:deactivated tag named it.
func TestRollbackRefusesKeyFirstSeenInactive(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(30 * day)
	w.setStatus("app1", k.ID, types.StatusTypeInactive)
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
		t.Fatal(err)
	}
	seen := w.now()
	w.advance(day)
	before, writes := w.awsState("app1"), w.calls.writes()
	o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{})
	if !errors.Is(err, ErrNotDeactivatedByKeyrot) {
		t.Errorf("error %v, want ErrNotDeactivatedByKeyrot", err)
	}
	want := "key " + inventory.MaskKeyID(k.ID) + " was already inactive when keyrot first saw it on " + seen.Format("2006-01-02") +
		"; keyrot did not deactivate it and will not re-activate it"
	if o.Status != Blocked || !strings.Contains(o.Detail, want) {
		t.Errorf("outcome %s %q, want blocked with %q", o.Status, o.Detail, want)
	}
	if after := w.awsState("app1"); after != before {
		t.Errorf("AWS changed:\n%s\n->\n%s", before, after)
	}
	if got := w.calls.writes(); got["UpdateAccessKey"] != writes["UpdateAccessKey"] || got["TagUser"] != writes["TagUser"] {
		t.Errorf("write calls: %v -> %v", writes, got)
	}
}

// deactivatedUnused has keyrot deactivate app1's only key as unused (46
// days without use) and returns it.
func deactivatedUnused(t *testing.T, w *world, o Options) heldKey {
	t.Helper()
	k := w.held["app1"]
	w.useKey(k)
	w.advance(46 * day)
	_, res, err := w.cycle(w.executor(w.hist, "x"), o)
	if o.Crash != nil {
		if !errors.Is(err, ErrCrashed) {
			t.Fatalf("want a crash, got %v", err)
		}
		return k
	}
	if err != nil || res.Count(Succeeded) != 1 || res.Outcomes[0].Kind != "deactivate-key" {
		t.Fatalf("unused deactivation: %v %+v", err, res)
	}
	return k
}

// TestRollbackLegacyTag: a keyrot:deactivated tag written before origins
// were recorded says nothing of who deactivated the key; the history
// journal decides.
func TestRollbackLegacyTag(t *testing.T) {
	for _, tt := range []struct {
		name        string
		freshHist   bool
		want        Status
		wantInState string
	}{
		{"journaled by keyrot", false, Succeeded, "Active"},
		{"no journal", true, Blocked, "Inactive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "app1")
			k := deactivatedUnused(t, w, Options{})
			tg := w.tags("app1")
			w.setTag("app1", TagDeactivated, keyAtValue(k.ID, tg.DeactAt)) // as an earlier keyrot wrote it
			h := w.hist
			if tt.freshHist {
				w.dbPath = t.TempDir() + "/other.db"
				h = w.openHistory()
			}
			w.advance(day)
			o, err := w.executor(h, "x").Rollback(context.Background(), w.acct, "app1", Options{})
			if o.Status != tt.want {
				t.Fatalf("rollback: %v %+v", err, o)
			}
			if tt.want == Blocked && (!errors.Is(err, ErrNotDeactivatedByKeyrot) || !strings.Contains(o.Detail, "do not show that keyrot deactivated it")) {
				t.Errorf("refusal: %v %q", err, o.Detail)
			}
			if got := string(w.keys("app1")[0].Status); got != tt.wantInState {
				t.Errorf("key is %s, want %s", got, tt.wantInState)
			}
		})
	}
}

// TestRollbackRefusesKeyUsedSinceKeyrotDeactivatedIt: keyrot deactivated
// the key; a person re-activated it, used it and deactivated it again. Its
// deactivation now is the person's, not keyrot's.
func TestRollbackRefusesKeyUsedSinceKeyrotDeactivatedIt(t *testing.T) {
	w := newWorld(t, "app1")
	k := deactivatedUnused(t, w, Options{})
	w.advance(day)
	w.setStatus("app1", k.ID, types.StatusTypeActive)
	w.useKey(k)
	w.setStatus("app1", k.ID, types.StatusTypeInactive)
	w.advance(time.Hour)
	before := w.awsState("app1")
	o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{})
	if !errors.Is(err, ErrNotDeactivatedByKeyrot) || o.Status != Blocked || !strings.Contains(o.Detail, "after keyrot deactivated it") {
		t.Fatalf("rollback: %v %+v", err, o)
	}
	if w.awsState("app1") != before {
		t.Error("AWS changed")
	}
}

// TestRollbackRefusesInterruptedDeactivation: keyrot died right after
// UpdateAccessKey, before recording the deactivation; the next run recorded
// the key as first seen inactive. The journal shows a deactivation that
// began and never ended: whether keyrot or a person deactivated the key is
// unknown, and rollback says so rather than guess.
func TestRollbackRefusesInterruptedDeactivation(t *testing.T) {
	w := newWorld(t, "app1")
	deactivatedUnused(t, w, Options{Crash: crashAt("after-deactivate")})
	w.advance(time.Hour)
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
		t.Fatal(err)
	}
	if tg := w.tags("app1"); tg.DeactOrigin != OriginSeen {
		t.Fatalf("tags: %+v", tg)
	}
	o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{})
	if !errors.Is(err, ErrNotDeactivatedByKeyrot) || o.Status != Blocked || !strings.Contains(o.Detail, "never recorded the outcome") {
		t.Fatalf("rollback: %v %+v", err, o)
	}
}
