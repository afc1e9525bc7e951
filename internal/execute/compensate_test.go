package execute

import (
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// TestStoreTagFailureKeepsStoredKey: PutSecretValue succeeded but the
// store's TagResource failed. The new key is the secret's AWSCURRENT, so
// compensation must not delete it: an application that follows its secret
// would switch to a deleted key.
func TestStoreTagFailureKeepsStoredKey(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(90 * day)
	w.use("app1")
	if _, err := w.env.Server.AddFault(sandboxFault("error", "secretsmanager", "TagResource", 1000)); err != nil {
		t.Fatal(err)
	}
	_, res, _ := w.cycle(w.executor(w.hist, "x"), Options{})
	cur, err := w.current("app1")
	if err != nil {
		t.Fatalf("no value stored: %v", err)
	}
	// The create failed, but its key is stored: the outcome says where, so
	// the owner is told.
	if res == nil || len(res.Outcomes) != 1 || res.Outcomes[0].NewKeyID != cur.Value.AccessKeyID || res.Outcomes[0].SecretARN == "" {
		t.Fatalf("outcome does not locate the stored key %s: %+v", cur.Value.AccessKeyID, res)
	}
	if k := findKey(w.keys("app1"), cur.Value.AccessKeyID); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("the secret's AWSCURRENT holds %s, which is not an active key of the user: %s", cur.Value.AccessKeyID, keysText(w.keys("app1")))
	}
	w.env.Server.ClearFaults("")
	// The application follows its secret and keeps working; the next runs
	// repair the tags and finish the lifecycle.
	var last time.Duration = 90 * day
	for _, at := range []time.Duration{90*day + time.Hour, 100 * day, 110 * day} {
		w.advance(at - last)
		last = at
		if _, err := w.follow("app1"); err != nil {
			t.Fatal(err)
		}
		if err := w.use("app1"); err != nil {
			t.Fatalf("%s: application's key fails: %v", at, err)
		}
		if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
			t.Fatalf("%s: %v", at, err)
		}
		if err := w.checkSafe("app1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.checkConverged("app1"); err != nil {
		t.Error(err)
	}
}
