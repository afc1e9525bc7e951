package execute

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
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

// TestServiceHandReactivationRespected: a credential keyrot deactivated on
// time that a person then re-activated by hand (someone still needed it:
// the console is the rollback they know) is not deactivated again by the
// next run without any new notice; keyrot leaves it active, as after its
// own rollback, and says why.
func TestServiceHandReactivationRespected(t *testing.T) {
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
	w.advance(time.Hour)
	if _, err := w.iam.UpdateServiceSpecificCredential(context.Background(), &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String("git"),
		ServiceSpecificCredentialId: aws.String(old), Status: types.StatusTypeActive}); err != nil {
		t.Fatal(err)
	}
	w.advance(day)
	_, res, err := w.cycle(w.executor("day101"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyActive {
		t.Errorf("the credential a person re-activated was deactivated again: %+v", c)
	}
	for _, o := range res.Outcomes {
		if o.User == "git" && o.Kind == plan.DeactivateServiceCredential && (o.Status != Blocked || !strings.Contains(o.Detail, "re-activated")) {
			t.Errorf("outcome: %s %s", o.Status, o.Detail)
		}
	}
}

// TestServiceNoSecretLeaks: a service credential rotation's logs, outcomes
// and history hold none of the new passwords or the new Bedrock API key,
// a store whose record tags failed (and was repaired from the value)
// included.
func TestServiceNoSecretLeaks(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	// The first store's tags fail: the record is repaired from the value.
	if _, err := w.env.Server.AddFault(sandbox.Fault{Kind: "error", Service: "secretsmanager", Operation: "TagResource",
		Code: "AccessDeniedException", Status: 400, Times: 1, Skip: 1}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ex := w.executor("leak")
	ex.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, res, err := w.cycle(ex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(res)
	db, err := os.ReadFile(w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(w.dbPath + "-wal")
	n := 0
	for _, u := range []string{"git", "cass", "bed"} {
		cur, err := w.current(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		secret := cur.Value.ServicePassword.Reveal() + cur.Value.ServiceCredentialSecret.Reveal()
		if secret == "" || cur.Value.CredentialID == w.held[u].ID {
			t.Fatalf("%s: no new credential stored: %+v", u, cur.Value)
		}
		n++
		for name, s := range map[string]string{"logs": logs.String(), "outcomes": string(js), "outcomes %+v": fmt.Sprintf("%+v", res),
			"history": string(db) + string(wal), "secret value %+v": fmt.Sprintf("%+v", cur), "secret value %v": fmt.Sprint(cur.Value)} {
			if strings.Contains(s, secret) {
				t.Errorf("%s contain %s's new secret", name, u)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d credentials checked", n)
	}
	if fs := w.env.Server.Faults(); len(fs) != 1 || fs[0].Fired != 1 {
		t.Errorf("the tag fault did not fire: %+v", fs)
	}
}

// TestServiceActionsIndependentOfKeyActions: a user's access key action
// that does not complete (here skipped: the keys changed since the plan;
// in practice often a deactivation held back because the old key is still
// in use) does not hold back the user's service credential rotation, nor
// does one service's hold back another's: they are separate credentials.
func TestServiceActionsIndependentOfKeyActions(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	snap := w.snapshot()
	recs, err := w.executor("gather").GatherServices(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	svcs := w.services()
	svcs.Records = recs
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Services: &svcs}, w.now())
	var keyAction *plan.Action
	for i, a := range p.Actions {
		if a.User == "git" && !plan.ServiceKind(a.Kind) {
			keyAction = &p.Actions[i]
		}
	}
	if keyAction == nil {
		t.Fatalf("no key action for git in %v", p.Actions)
	}
	// The plan saw a key that is gone now: the key action is skipped.
	keyAction.Expect = append(keyAction.Expect, plan.KeyState{ID: "AKIAGONE00000000000", Status: inventory.KeyActive})
	res, err := w.executor("run").Apply(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[plan.Kind]Status{}
	for _, o := range res.Outcomes {
		if o.User == "git" {
			got[o.Kind] = o.Status
		}
	}
	if got[keyAction.Kind] != Skipped || got[plan.CreateServiceCredential] != Succeeded {
		t.Errorf("git's outcomes: %v", got)
	}
}

// TestServiceDeleteLostReply: a deletion whose reply was lost (the SDK's
// retry then meets NoSuchEntity) did what it was asked: it succeeds and
// clears keyrot's deactivation record, rather than failing the action
// (and holding back the user's next actions) for a credential that is gone.
func TestServiceDeleteLostReply(t *testing.T) {
	w := newSvcWorld(t)
	for i, at := range []time.Duration{90 * day, 10 * day, 10 * day} {
		w.advance(at)
		for _, u := range svcUserNames() {
			w.follow(u)
		}
		if i == 2 {
			w.calls.drop("DeleteServiceSpecificCredential", 1)
		}
		_, res, err := w.cycle(w.executor(fmt.Sprint("run-", i)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Outcomes {
			if o.Status != Succeeded {
				t.Errorf("run %d: %s %s: %s %s", i, o.Kind, o.User, o.Status, o.Detail)
			}
		}
	}
	for _, u := range []string{"git", "cass", "bed"} {
		if err := w.checkConverged(u); err != nil {
			t.Error(err)
		}
		tags, err := w.store().ServiceTagsOf(context.Background(), w.secretName(u))
		if err != nil || tags.DeactivatedID != "" {
			t.Errorf("%s: deactivation record left: %+v %v", u, tags, err)
		}
	}
}
