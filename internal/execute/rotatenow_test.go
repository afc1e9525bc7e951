package execute

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
)

// twoKeys is a user with two active keys in use: a (the first) and b.
func twoKeys(t *testing.T) (*world, heldKey, heldKey) {
	w := newWorld(t, "app1", "app2")
	w.addReader("security-team")
	a := w.held["app1"]
	w.advance(time.Hour)
	b := w.humanKey("app1")
	w.advance(day)
	w.useKey(a)
	w.useKey(b)
	return w, a, b
}

// TestRotateNowCompromisedNamedKeyOfTwo: rotate --now --compromised --key B
// for a user with two active keys. B is deactivated first, before any
// other write, then deleted to make room; the new key is created, stored,
// verified and only then readable by the user. A is untouched.
func TestRotateNowCompromisedNamedKeyOfTwo(t *testing.T) {
	w, a, b := twoKeys(t)
	name := "keyrot/" + w.acct + "/app1"
	start := w.calls.writes()
	var steps []string
	probe := func(step string) error {
		steps = append(steps, step)
		if step == "before-deactivate" && !cmp.Equal(start, w.calls.writes()) {
			t.Errorf("writes before the compromised key's deactivation: %v -> %v", start, w.calls.writes())
		}
		if strings.HasPrefix(step, "store-") || step == "before-create" {
			if k := findKey(w.keys("app1"), b.ID); k != nil {
				t.Errorf("at %s the compromised key is still there (%s)", step, k.Status)
			}
		}
		return nil
	}
	o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{KeyID: b.ID, Compromised: true}, Options{Crash: probe})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("RotateNow: %v %+v", err, o)
	}
	if o.KeyID != b.ID || !strings.Contains(o.Detail, "deactivated and deleted") {
		t.Errorf("outcome: %+v", o)
	}
	at := func(s string) int { return slices.Index(steps, s) }
	if !(at("before-deactivate") >= 0 && at("before-deactivate") < at("before-delete") && at("before-delete") < at("before-create") &&
		at("before-create") < at("before-verify") && at("before-verify") < at("before-grant")) {
		t.Errorf("step order: %v", steps)
	}
	ks := w.keys("app1")
	if len(ks) != 2 || findKey(ks, b.ID) != nil || findKey(ks, a.ID) == nil || findKey(ks, a.ID).Status != inventory.KeyActive ||
		findKey(ks, o.NewKeyID) == nil || findKey(ks, o.NewKeyID).Status != inventory.KeyActive {
		t.Fatalf("keys: %s (new %s)", keysText(ks), o.NewKeyID)
	}
	if !w.authenticates("app1", a.ID, a.Secret) {
		t.Error("the other key stopped working")
	}
	cur, err := w.current("app1")
	if err != nil || cur.Value.AccessKeyID != o.NewKeyID {
		t.Fatalf("secret: %v %v", cur.Value.AccessKeyID, err)
	}
	if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
		t.Errorf("new key cannot read its secret: %v", err)
	}
	acts, err := w.hist.ActionsFor(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range acts {
		who := x.KeyID
		if who == b.ID {
			who = "B"
		}
		got = append(got, x.Kind+" "+who+" "+x.Outcome.Status)
	}
	want := []string{"deactivate-key B succeeded", "delete-key B succeeded", "create-key B succeeded"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
}

// TestRotateNowRefusals: what RotateNow refuses for a user with two active
// keys, changing nothing.
func TestRotateNowRefusals(t *testing.T) {
	tests := []struct {
		name   string
		req    func(w *world, b heldKey) RotateNowRequest
		rule   error
		detail []string
	}{
		{"no key named", func(*world, heldKey) RotateNowRequest { return RotateNowRequest{Compromised: true} },
			ErrKeyRequired, []string{"two active keys", "--key"}},
		{"another user's key", func(w *world, _ heldKey) RotateNowRequest {
			return RotateNowRequest{KeyID: w.held["app2"].ID, Compromised: true}
		}, ErrNotUsersKey, []string{"not a key of user app1"}},
		{"not compromised", func(_ *world, b heldKey) RotateNowRequest { return RotateNowRequest{KeyID: b.ID} },
			nil, []string{"two active keys", "--compromised"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, b := twoKeys(t)
			before1, before2, writes := w.awsState("app1"), w.awsState("app2"), w.calls.writes()
			o, err := w.executor(w.hist, "x").RotateNow(context.Background(), w.acct, "app1", tt.req(w, b), Options{})
			if o.Status != Blocked {
				t.Errorf("status %s: %s", o.Status, o.Detail)
			}
			if tt.rule != nil && !errors.Is(err, tt.rule) {
				t.Errorf("error %v, want %v", err, tt.rule)
			}
			for _, d := range tt.detail {
				if !strings.Contains(o.Detail, d) {
					t.Errorf("detail %q does not say %q", o.Detail, d)
				}
			}
			if w.awsState("app1") != before1 || w.awsState("app2") != before2 {
				t.Errorf("AWS changed")
			}
			if diff := cmp.Diff(writes, w.calls.writes()); diff != "" {
				t.Errorf("write calls (-before +after):\n%s", diff)
			}
		})
	}
}

// TestRotateNowCompromisedNamedKeyResumes: interrupted after the
// compromised key was cut off, the same request finishes the rotation,
// also once the key was deleted (keyrot's journal says it deleted it).
func TestRotateNowCompromisedNamedKeyResumes(t *testing.T) {
	for _, at := range []string{"after-deactivate", "after-tag-deactivated", "before-delete", "after-delete"} {
		t.Run(at, func(t *testing.T) {
			w, a, b := twoKeys(t)
			req := RotateNowRequest{KeyID: b.ID, Compromised: true}
			if _, err := w.executor(w.hist, "x").RotateNow(context.Background(), w.acct, "app1", req, Options{Crash: crashAt(at)}); !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash, got %v", err)
			}
			if k := findKey(w.keys("app1"), b.ID); k != nil && k.Status != inventory.KeyInactive {
				t.Fatalf("compromised key still active after %s", at)
			}
			w.advance(time.Hour)
			// The same request finishes, also after the named key was deleted.
			o, err := w.executor(w.hist, "y").RotateNow(context.Background(), w.acct, "app1", req, Options{})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("resume: %v %+v", err, o)
			}
			ks := w.keys("app1")
			if len(ks) != 2 || findKey(ks, b.ID) != nil || findKey(ks, a.ID).Status != inventory.KeyActive || findKey(ks, o.NewKeyID) == nil {
				t.Errorf("after resume: %s (new %s)", keysText(ks), o.NewKeyID)
			}
			if cur, err := w.current("app1"); err != nil || cur.Value.AccessKeyID != o.NewKeyID {
				t.Errorf("secret holds %s %v, want %s", cur.Value.AccessKeyID, err, o.NewKeyID)
			}
		})
	}
}

// TestRotateNowNamedOnlyKey: --key naming the user's only key is the usual
// compromised rotation: the new key first, then the old key cut off.
func TestRotateNowNamedOnlyKey(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	o, err := w.executor(w.hist, "x").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{KeyID: k.ID, Compromised: true}, Options{})
	if err != nil || o.Status != Succeeded || o.KeyID != k.ID {
		t.Fatalf("RotateNow: %v %+v", err, o)
	}
	ks := w.keys("app1")
	if len(ks) != 2 || findKey(ks, k.ID).Status != inventory.KeyInactive || findKey(ks, o.NewKeyID).Status != inventory.KeyActive {
		t.Errorf("keys: %s", keysText(ks))
	}
	// keyrot deactivated it, so a rollback may re-activate it.
	if tg := w.tags("app1"); tg.DeactKey != k.ID || tg.DeactOrigin != OriginKeyrot {
		t.Errorf("tags: %+v", tg)
	}
	evs, _ := w.hist.KeyEvents(context.Background(), w.acct, "app1")
	if len(evs) == 0 || evs[len(evs)-1].Event != history.EventDeactivated {
		t.Errorf("events: %+v", evs)
	}
}
