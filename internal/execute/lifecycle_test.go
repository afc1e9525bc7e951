package execute

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestLifecycle runs keyrot daily from day 0 to 120 for an application that
// switches to the new key as soon as it is stored.
func TestLifecycle(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	var newKey string
	got := map[int][]string{}
	for d := 0; d <= 120; d++ {
		if err := w.use("app1"); err != nil {
			t.Fatalf("day %d: application key stopped working: %v", d, err)
		}
		_, res, err := w.cycle(w.executor(w.hist, "lifecycle"), Options{})
		if err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		for _, o := range res.Outcomes {
			got[d] = append(got[d], string(o.Kind)+" "+string(o.Status))
			if o.NewKeyID != "" {
				newKey = o.NewKeyID
				if !strings.Contains(o.FetchCommand, "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:") || o.SecretARN == "" {
					t.Errorf("outcome lacks where the secret is: %+v", o)
				}
			}
		}
		if _, err := w.follow("app1"); err != nil && d >= 90 {
			t.Fatalf("day %d: follow: %v", d, err)
		}
		if err := w.checkSafe("app1"); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		w.advance(day)
	}
	want := map[int][]string{
		90:  {"create-key succeeded"},
		100: {"deactivate-key succeeded"},
		110: {"delete-key succeeded"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions by day (-want +got):\n%s", diff)
	}
	if err := w.checkConverged("app1"); err != nil {
		t.Error(err)
	}
	// The secret keeps the old key as AWSPREVIOUS.
	st := w.store()
	prev, err := st.Stage(context.Background(), "keyrot/"+w.acct+"/app1", "AWSPREVIOUS")
	if err == nil {
		t.Errorf("first store has an AWSPREVIOUS version holding %s", prev.Value.AccessKeyID)
	}
	evs, err := w.hist.KeyEvents(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	var evGot []string
	for _, e := range evs {
		who := "old"
		if e.KeyID == newKey {
			who = "new"
		} else if e.KeyID != orig {
			who = e.KeyID
		}
		evGot = append(evGot, who+" "+e.Event)
	}
	evWant := []string{"new created", "new stored", "new verified", "old deactivated", "old deleted"}
	if diff := cmp.Diff(evWant, evGot); diff != "" {
		t.Errorf("key events (-want +got):\n%s", diff)
	}
	acts, err := w.hist.ActionsFor(context.Background(), w.acct, "app1")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Outcome.Status != history.ActionSucceeded {
			t.Errorf("journaled action %s is %s", a.Kind, a.Outcome.Status)
		}
	}
}

// TestSecondRotationKeepsPrevious rotates twice: AWSPREVIOUS is the first new key.
func TestSecondRotationKeepsPrevious(t *testing.T) {
	w := newWorld(t, "app1")
	for d := 0; d <= 181; d++ {
		if err := w.use("app1"); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		w.follow("app1")
		w.advance(day)
	}
	ks := w.keys("app1")
	if len(ks) != 2 {
		t.Fatalf("after day 180 want the second rotation in progress (2 keys), got %s", keysText(ks))
	}
	st := w.store()
	cur, err1 := st.Stage(context.Background(), "keyrot/"+w.acct+"/app1", "AWSCURRENT")
	prev, err2 := st.Stage(context.Background(), "keyrot/"+w.acct+"/app1", "AWSPREVIOUS")
	if err1 != nil || err2 != nil {
		t.Fatalf("read versions: %v, %v", err1, err2)
	}
	if cur.Value.AccessKeyID != ks[1].ID || prev.Value.AccessKeyID != ks[0].ID {
		t.Errorf("AWSCURRENT=%s AWSPREVIOUS=%s, keys %s", cur.Value.AccessKeyID, prev.Value.AccessKeyID, keysText(ks))
	}
}

// TestStillInUseBlocksDeactivation: an application that keeps the old key
// blocks its deactivation, and the block stays after it switches: IAM keeps
// only the last use, which is after the store; a person decides.
func TestStillInUseBlocksDeactivation(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	if _, res, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	for d := 91; d <= 103; d++ {
		w.advance(day)
		if err := w.use("app1"); err != nil { // still the old key
			t.Fatal(err)
		}
		_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d < 100 {
			if len(res.Outcomes) != 0 {
				t.Fatalf("day %d: unexpected actions %+v", d, res.Outcomes)
			}
			continue
		}
		if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || res.Outcomes[0].LastUsed == nil ||
			res.Outcomes[0].LastUsedService != "sts" || !strings.Contains(res.Outcomes[0].Detail, "still in use") {
			t.Fatalf("day %d: want deactivation blocked as still in use, got %+v", d, res.Outcomes)
		}
		if w.keys("app1")[0].Status != inventory.KeyActive {
			t.Fatalf("old key deactivated while in use")
		}
	}
	// The application switches; IAM's last use of the old key stays at day
	// 103, after the store. The gate is "unused since the store", whatever
	// the new key's use says (a second application may still hold the old
	// key): it stays blocked, with its last use, for a person to decide.
	if _, err := w.follow("app1"); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{day / 2, day, 30 * day} {
		w.advance(after)
		w.use("app1")
		_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Blocked || res.Outcomes[0].LastUsed == nil {
			t.Fatalf("%s after switching, want still blocked with its last use: %+v", after, res.Outcomes)
		}
	}
	if err := w.checkSafe("app1"); err != nil {
		t.Error(err)
	}
}

// TestRollback re-activates the deactivated key and holds further deactivation.
func TestRollback(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	w.advance(90 * day)
	w.use("app1")
	w.cycle(w.executor(w.hist, "x"), Options{})
	w.follow("app1")
	w.advance(5 * day)
	w.use("app1")
	w.advance(5 * day)
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || res.Count(Succeeded) != 1 || res.Outcomes[0].Kind != plan.DeactivateKey {
		t.Fatalf("deactivation: %v %+v", err, res)
	}
	o, err := w.executor(w.hist, "x").Rollback(context.Background(), w.acct, "app1", Options{})
	if err != nil || o.Status != Succeeded || o.KeyID != orig {
		t.Fatalf("rollback: %v %+v", err, o)
	}
	if k := findKey(w.keys("app1"), orig); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("old key not active after rollback")
	}
	tg := w.tags("app1")
	if tg.RolledKey != orig || tg.DeactKey != "" {
		t.Errorf("tags after rollback: %+v", tg)
	}
	if !w.authenticates("app1", orig, w.known[orig]) {
		t.Error("rolled-back key does not authenticate")
	}
	w.advance(day)
	p, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || len(p.Actions) != 0 || len(p.Blocked) != 1 || !strings.Contains(p.Blocked[0].Reason, "rollback") {
		t.Fatalf("after rollback want deactivation held: %v actions=%v blocked=%+v", err, kinds(p), p.Blocked)
	}
	_ = res
}

// TestStoreFailureCompensates: when the secret cannot be stored the new key
// is deleted again and the old key is untouched.
func TestStoreFailureCompensates(t *testing.T) {
	w := newWorld(t, "app1")
	orig := w.held["app1"].ID
	w.advance(90 * day)
	w.use("app1")
	if _, err := w.env.Server.AddFault(sandboxFault("error", "secretsmanager", "PutSecretValue", 20)); err != nil {
		t.Fatal(err)
	}
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err == nil || res.Count(Failed) != 1 || !strings.Contains(err.Error(), "new key deleted again") {
		t.Fatalf("want a failed create with compensation, got %v %+v", err, res)
	}
	ks := w.keys("app1")
	if len(ks) != 1 || ks[0].ID != orig || ks[0].Status != inventory.KeyActive {
		t.Fatalf("keys after compensation: %s", keysText(ks))
	}
	if !w.tags("app1").PendingSince.IsZero() {
		t.Error("pending tag left after compensation")
	}
	if _, err := w.current("app1"); err == nil {
		t.Error("a value was stored")
	}
	w.env.Server.ClearFaults("")
	w.advance(day)
	w.use("app1")
	if _, res, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("retry next day: %v %+v", err, res)
	}
}

func TestSecretNameTemplateAndVersionsAreIdempotent(t *testing.T) {
	w := newWorld(t, "app1")
	st := w.store()
	e := secretstore.Entry{Name: secretstore.NameData{AccountID: w.acct, UserName: "app1"}, UserARN: "arn:aws:iam::" + w.acct + ":user/app1",
		StoredAt: w.now(), Value: secretstore.Value{AccessKeyID: w.held["app1"].ID, SecretAccessKey: secretstore.NewSecret(w.held["app1"].Secret), UserName: "app1", AccountID: w.acct}}
	a, err := st.Put(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Put(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if a.VersionID != b.VersionID || a.ARN != b.ARN || a.Name != "keyrot/"+w.acct+"/app1" {
		t.Errorf("retried store made a new version: %+v %+v", a, b)
	}
	l, err := st.List(context.Background(), w.acct, "")
	if err != nil || len(l) != 1 || l[0].KeyID != w.held["app1"].ID || l[0].UserName != "app1" {
		t.Errorf("List = %+v, %v", l, err)
	}
	// The user can read it with its own key.
	k := w.held["app1"]
	if err := readWith(w, k.ID, k.Secret, a.ARN); err != nil {
		t.Errorf("user cannot read its secret: %v", err)
	}
}
