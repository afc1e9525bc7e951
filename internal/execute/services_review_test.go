package execute

import (
	"context"
	"testing"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestServiceRollbackAfterInterruptedRollback: a rollback whose record was
// written but whose re-activation did not happen (IAM refused it, and the
// record could not be taken back; or keyrot died between the two) leaves
// the credential inactive under a rolled-back record. Running rollback
// again must re-activate it, not refuse it as "not deactivated by keyrot".
func TestServiceRollbackAfterInterruptedRollback(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	if _, _, err := w.cycle(w.executor("day90"), Options{}); err != nil {
		t.Fatal(err)
	}
	old := w.held["git"].ID
	w.advance(10 * day)
	if _, _, err := w.cycle(w.executor("day100"), Options{}); err != nil {
		t.Fatal(err)
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyInactive {
		t.Fatalf("old credential not deactivated: %+v", c)
	}
	for _, f := range []sandbox.Fault{
		{Kind: "error", Service: "iam", Operation: "UpdateServiceSpecificCredential", Code: "AccessDenied", Status: 403, Times: 1},
		{Kind: "error", Service: "secretsmanager", Operation: "UntagResource", Code: "AccessDeniedException", Status: 400, Times: 1},
	} {
		if _, err := w.env.Server.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	o, err := w.executor("rollback-1").RollbackService(context.Background(), w.acct, "git", inventory.ServiceCodeCommit)
	if err == nil || o.Status != Failed {
		t.Fatalf("first rollback (re-activation refused): %+v %v", o, err)
	}
	w.env.Server.ClearFaults("")
	o, err = w.executor("rollback-2").RollbackService(context.Background(), w.acct, "git", inventory.ServiceCodeCommit)
	if err != nil || o.Status != Succeeded {
		t.Errorf("second rollback: %s %s (%v)", o.Status, o.Detail, err)
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyActive {
		t.Errorf("the rollback did not restore access: %+v", c)
	}
}
