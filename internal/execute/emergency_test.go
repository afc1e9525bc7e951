package execute

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Regression tests of issue 9's "Compromised-key rotation", "Durable
// rollback" and the rerun of rotate --now after a crash past the store.
// Each failed against the code before the fix (see the commit message).

// readValueWith reads a secret's AWSCURRENT signing with a key and returns
// the key ID it holds.
func readValueWith(w *world, id, secret, secretID string) (string, error) {
	out, err := secretsmanager.NewFromConfig(w.keyConfig(id, secret)).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", err
	}
	v, err := secretstore.ParseValue(aws.ToString(out.SecretString))
	return v.AccessKeyID, err
}

// rotationInProgress has the schedule rotate app1's key A: the new key N is
// stored (readable by app1) and A still active, as for the switch window.
func rotationInProgress(t *testing.T) (*world, heldKey, heldKey) {
	t.Helper()
	w := newWorld(t, "app1")
	w.addReader("security-team")
	a := w.held["app1"]
	w.advance(90 * day)
	w.useKey(a)
	if _, res, err := w.cycle(w.executor(w.hist, "sched"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("scheduled rotation: %v %+v", err, res)
	}
	cur, err := w.current("app1")
	if err != nil {
		t.Fatal(err)
	}
	n := heldKey{ID: cur.Value.AccessKeyID, Secret: cur.Value.SecretAccessKey.Reveal()}
	w.known[n.ID] = n.Secret
	w.advance(day)
	return w, a, n
}

// TestCompromisedDuringRotationReplacesStoredKey: a rotation is in
// progress (new key N stored, old key A active) when A is reported
// compromised. Whoever holds A could read N from the secret (the user
// reads its own secret), so N is compromised too: it is deactivated as
// well, a fresh key is stored, and A never reads the fresh key. Before the
// fix, rotate --now --compromised took N for the new key and left it active.
func TestCompromisedDuringRotationReplacesStoredKey(t *testing.T) {
	for _, named := range []bool{true, false} {
		t.Run(map[bool]string{true: "key named", false: "no key named"}[named], func(t *testing.T) {
			w, a, n := rotationInProgress(t)
			name := "keyrot/" + w.acct + "/app1"
			if got, err := readValueWith(w, a.ID, a.Secret, name); err != nil || got != n.ID {
				t.Fatalf("precondition: the old key reads the stored new key: %q %v", got, err)
			}
			probe := func(step string) error {
				if got, err := readValueWith(w, a.ID, a.Secret, name); err == nil && got != n.ID {
					t.Errorf("at %s the compromised key read the fresh key %s", step, got)
				}
				return nil
			}
			req := RotateNowRequest{Compromised: true}
			if named {
				req.KeyID = a.ID
			}
			o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", req, Options{Crash: probe})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("RotateNow: %v %+v", err, o)
			}
			if o.NewKeyID == n.ID || o.NewKeyID == a.ID || o.KeyID != a.ID {
				t.Fatalf("outcome: %+v (A %s, N %s)", o, a.ID, n.ID)
			}
			ks := w.keys("app1")
			for _, k := range []heldKey{a, n} {
				if kk := findKey(ks, k.ID); kk != nil && kk.Status == inventory.KeyActive {
					t.Errorf("key %s whose secret the compromised key could read is still active: %s", k.ID, keysText(ks))
				}
				if w.authenticates("app1", k.ID, k.Secret) {
					t.Errorf("key %s still authenticates", k.ID)
				}
			}
			if k := findKey(ks, o.NewKeyID); k == nil || k.Status != inventory.KeyActive {
				t.Fatalf("fresh key not active: %s", keysText(ks))
			}
			cur, err := w.current("app1")
			if err != nil || cur.Value.AccessKeyID != o.NewKeyID {
				t.Fatalf("secret holds %s %v, want %s", cur.Value.AccessKeyID, err, o.NewKeyID)
			}
			if !w.authenticates("app1", o.NewKeyID, cur.Value.SecretAccessKey.Reveal()) {
				t.Error("the fresh key does not authenticate")
			}
			if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
				t.Errorf("the user cannot read its fresh key once the compromised keys are off: %v", err)
			}
			if !strings.Contains(o.Detail, inventory.MaskKeyID(n.ID)) {
				t.Errorf("detail does not name the stored key it cut off: %s", o.Detail)
			}
		})
	}
}

// adminWorld is a world whose user app1 is an administrator: its identity
// policy allows it every Secrets Manager action, so only an explicit deny
// in a secret's resource policy keeps it out.
func adminWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	sc, err := sandbox.ParseScenario("admin.yaml", []byte(`organization:
  management:
    name: management
    users:
      - name: app1
        admin: true
        keys:
          - {age: 1d}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	k, err := w.env.Server.ActiveKey(w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	w.held["app1"] = heldKey{ID: k.AccessKeyID, Secret: k.SecretAccessKey}
	w.known[k.AccessKeyID] = k.SecretAccessKey
	w.addReader("security-team")
	return w
}

// TestCompromisedDeniesUserWithIdentityPolicy: the user is an admin (an
// identity policy allows it secretsmanager:GetSecretValue on every
// secret). Leaving the user out of the secret's policy did not keep the
// compromised key out; an explicit deny does, at every step, and is
// lifted once the compromised key is off.
func TestCompromisedDeniesUserWithIdentityPolicy(t *testing.T) {
	for _, crash := range []string{"", "before-deactivate", "before-grant"} {
		t.Run("crash "+crash, func(t *testing.T) {
			w := adminWorld(t)
			old := w.held["app1"]
			name := "keyrot/" + w.acct + "/app1"
			leaks := 0
			probe := func(step string) error {
				if got, err := readValueWith(w, old.ID, old.Secret, name); err == nil && got != old.ID {
					leaks++
					t.Errorf("at %s the compromised key read the new key", step)
				}
				if step == crash {
					return errDie
				}
				return nil
			}
			o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{Crash: probe})
			if crash != "" {
				if !errors.Is(err, ErrCrashed) {
					t.Fatalf("want a crash, got %v", err)
				}
				probe("after the crash")
				crash = ""
				w.advance(time.Hour)
				o, err = w.executor(w.hist, "sec2").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{Crash: probe})
			}
			if err != nil || o.Status != Succeeded {
				t.Fatalf("RotateNow: %v %+v", err, o)
			}
			if leaks > 0 {
				t.Fatalf("%d leaks", leaks)
			}
			pol, err := w.sm.GetResourcePolicy(context.Background(), &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if p := aws.ToString(pol.ResourcePolicy); strings.Contains(p, "Deny") || !strings.Contains(p, ":user/app1") {
				t.Errorf("after the grant the policy is %s", p)
			}
			cur, err := w.current("app1")
			if err != nil {
				t.Fatal(err)
			}
			if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
				t.Errorf("new key cannot read its secret after the grant: %v", err)
			}
		})
	}
}

// TestCompromisedRerunAfterCreateCleansUp: an emergency rotation killed
// right after CreateAccessKey leaves the compromised key active beside a
// key nobody holds. Before the fix the rerun refused ("two active keys")
// until the orphan's grace period ended, for ever for an exempt user (the
// planner skips it). Now the same request deletes keyrot's leftover at
// once and finishes. (The lease of the dead run expires after 15 minutes.)
func TestCompromisedRerunAfterCreateCleansUp(t *testing.T) {
	for _, at := range []string{"after-tag-pending", "before-create", "after-create", "store-policy", "store-put-value"} {
		t.Run(at, func(t *testing.T) {
			w := newWorld(t, "app1")
			old := w.held["app1"]
			w.advance(time.Hour)
			w.useKey(old)
			req := RotateNowRequest{Compromised: true}
			if _, err := w.executor(w.hist, "a").RotateNow(context.Background(), w.acct, "app1", req, Options{Crash: crashAt(at)}); !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash, got %v", err)
			}
			w.advance(16 * time.Minute)
			o, err := w.executor(w.hist, "b").RotateNow(context.Background(), w.acct, "app1", req, Options{})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("rerun: %v %+v", err, o)
			}
			ks := w.keys("app1")
			if len(ks) != 2 || findKey(ks, old.ID).Status != inventory.KeyInactive || findKey(ks, o.NewKeyID) == nil {
				t.Errorf("after rerun: %s (new %s)", keysText(ks), o.NewKeyID)
			}
			if w.authenticates("app1", old.ID, old.Secret) {
				t.Error("compromised key still works")
			}
			if cur, err := w.current("app1"); err != nil || cur.Value.AccessKeyID != o.NewKeyID {
				t.Errorf("secret holds %s %v", cur.Value.AccessKeyID, err)
			}
			if !w.tags("app1").PendingSince.IsZero() {
				t.Error("pending tag left")
			}
		})
	}
}

// TestCompromisedNamedKeyRerunFinishes: rotate --now --compromised --key B
// for a user with two active keys, killed after B was deleted and the new
// key created, before the user was granted read. Before the fix the same
// command was refused (B is no longer the user's) and the suggested
// rotation without --compromised was skipped as a rotation in progress.
func TestCompromisedNamedKeyRerunFinishes(t *testing.T) {
	for _, at := range []string{"after-delete", "after-create", "store-put-value", "after-store", "before-verify", "before-grant"} {
		t.Run(at, func(t *testing.T) {
			w, a, b := twoKeys(t)
			name := "keyrot/" + w.acct + "/app1"
			req := RotateNowRequest{KeyID: b.ID, Compromised: true}
			if _, err := w.executor(w.hist, "x").RotateNow(context.Background(), w.acct, "app1", req, Options{Crash: crashAt(at)}); !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash, got %v", err)
			}
			w.advance(time.Hour)
			o, err := w.executor(w.hist, "y").RotateNow(context.Background(), w.acct, "app1", req, Options{})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("rerun of the same command: %v %+v", err, o)
			}
			ks := w.keys("app1")
			if len(ks) != 2 || findKey(ks, b.ID) != nil || findKey(ks, a.ID).Status != inventory.KeyActive || findKey(ks, o.NewKeyID) == nil {
				t.Fatalf("after rerun: %s (new %s)", keysText(ks), o.NewKeyID)
			}
			cur, err := w.current("app1")
			if err != nil || cur.Value.AccessKeyID != o.NewKeyID {
				t.Fatalf("secret holds %s %v, want %s", cur.Value.AccessKeyID, err, o.NewKeyID)
			}
			if err := readWith(w, o.NewKeyID, cur.Value.SecretAccessKey.Reveal(), name); err != nil {
				t.Errorf("the user cannot read its new secret: %v", err)
			}
			if !w.tags("app1").PendingSince.IsZero() {
				t.Error("pending tag left")
			}
		})
	}
}

// TestRollbackRecordedBeforeReactivation: the rollback's tag write fails.
// Before the fix the key was re-activated anyway, unrecorded, and the next
// apply deactivated it again. Now an active key is always recorded as
// rolled back, and no apply deactivates it without a new rotation.
func TestRollbackRecordedBeforeReactivation(t *testing.T) {
	w := newWorld(t, "app1")
	k := deactivatedUnused(t, w, Options{})
	w.advance(day)
	f, err := w.env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "TagUser", Code: "ServiceFailure", Status: 500})
	if err != nil {
		t.Fatal(err)
	}
	o, err := w.executor(w.hist, "rb").Rollback(context.Background(), w.acct, "app1", Options{})
	w.env.Server.ClearFaults(f.ID)
	active := w.keys("app1")[0].Status == inventory.KeyActive
	if tg := w.tags("app1"); active && tg.RolledKey != k.ID {
		t.Fatalf("key re-activated without its rollback recorded: %+v, tags %+v", o, tg)
	}
	if !active && (err == nil || o.Status != Failed) {
		t.Errorf("key left inactive, outcome %+v %v", o, err)
	}
	if !active {
		// The person retries the rollback.
		if o, err := w.executor(w.hist, "rb2").Rollback(context.Background(), w.acct, "app1", Options{}); err != nil || o.Status != Succeeded {
			t.Fatalf("retried rollback: %v %+v", err, o)
		}
	}
	for i := 0; i < 3; i++ {
		w.advance(day)
		if _, _, err := w.cycle(w.executor(w.hist, "apply"), Options{}); err != nil {
			t.Fatal(err)
		}
		if ks := w.keys("app1"); ks[0].Status != inventory.KeyActive {
			t.Fatalf("day %d after the rollback, apply deactivated the rolled-back key again: %s", i+1, keysText(ks))
		}
	}
}

// TestRotateNowRerunAfterStoreFinishes: rotate --now killed past the store;
// before the fix the rerun was skipped ("a rotation is already in
// progress", exit 1). Now the rerun finishes it: repairs the secret's tags
// and the pending tag if the store was cut short, verifies the stored key
// and reports it.
func TestRotateNowRerunAfterStoreFinishes(t *testing.T) {
	for _, at := range []string{"store-tag", "after-store", "before-untag", "before-verify", "after-verify"} {
		t.Run(at, func(t *testing.T) {
			w := newWorld(t, "app1")
			old := w.held["app1"]
			if _, err := w.executor(w.hist, "a").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{}, Options{Crash: crashAt(at)}); !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash, got %v", err)
			}
			cur, err := w.current("app1")
			if err != nil {
				t.Fatal(err)
			}
			w.advance(time.Hour)
			o, err := w.executor(w.hist, "b").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{}, Options{})
			if err != nil || o.Status != Succeeded {
				t.Fatalf("rerun: %v %+v", err, o)
			}
			if o.NewKeyID != cur.Value.AccessKeyID || o.KeyID != old.ID || o.SecretARN == "" || o.FetchCommand == "" {
				t.Errorf("outcome %+v, want new key %s replacing %s", o, cur.Value.AccessKeyID, old.ID)
			}
			ks := w.keys("app1")
			if len(ks) != 2 || ks[0].Status != inventory.KeyActive || ks[1].ID != o.NewKeyID {
				t.Errorf("keys: %s", keysText(ks))
			}
			if !w.tags("app1").PendingSince.IsZero() {
				t.Error("pending tag left")
			}
			listed, err := w.store().List(context.Background(), w.acct, "management")
			if err != nil || len(listed) != 1 || listed[0].KeyID != o.NewKeyID {
				t.Errorf("secret tags: %+v %v", listed, err)
			}
		})
	}
}

// TestCompromisedStoredKeyAfterSwitch: after a rotation's old key A was
// deactivated, the new key N (the secret's current value, the user's only
// active key) is reported compromised. N is not taken for a "resumed"
// emergency key (which once reported success with N still active): with A
// inactive there is no room for a fresh key, and cutting N off first would
// leave the user no working key, so the run is blocked with what to do, and
// nothing changes.
func TestCompromisedStoredKeyAfterSwitch(t *testing.T) {
	w, a, n := rotationInProgress(t)
	w.useKey(n)
	w.advance(10 * day) // day 101: A's deactivation is due and A is quiet
	if _, res, err := w.cycle(w.executor(w.hist, "sched2"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("scheduled deactivation: %v %+v", err, res)
	}
	before := w.awsState("app1")
	for _, req := range []RotateNowRequest{{Compromised: true}, {Compromised: true, KeyID: n.ID}} {
		o, _ := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", req, Options{})
		if o.Status != Blocked || !strings.Contains(o.Detail, "delete the inactive key "+inventory.MaskKeyID(a.ID)) {
			t.Errorf("rotate --now --compromised %+v: %s %q; want blocked, naming the inactive key to delete", req, o.Status, o.Detail)
		}
		if after := w.awsState("app1"); after != before {
			t.Errorf("a blocked emergency rotation changed AWS:\n%s\n->\n%s", before, after)
		}
	}
}

// TestRollbackRefusesCompromisedKey: a key an emergency rotation cut off
// because it was reported compromised is never re-activated by rollback.
func TestRollbackRefusesCompromisedKey(t *testing.T) {
	w := newWorld(t, "app1")
	a := w.held["app1"]
	w.advance(30 * day)
	o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{Compromised: true}, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rotate --now --compromised: %v %+v", err, o)
	}
	before := w.awsState("app1")
	o, err = w.executor(w.hist, "ops").Rollback(context.Background(), w.acct, "app1", Options{})
	if !errors.Is(err, ErrKeyCompromised) || !strings.Contains(o.Detail, "reported compromised") {
		t.Fatalf("rollback of the compromised key %s: %v %+v", inventory.MaskKeyID(a.ID), err, o)
	}
	if after := w.awsState("app1"); after != before {
		t.Errorf("a refused rollback changed AWS:\n%s\n->\n%s", before, after)
	}
}
