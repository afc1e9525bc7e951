package execute

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// AWS exposes no last use for service-specific credentials: the IAM API
// reference's ServiceSpecificCredentialMetadata has CreateDate,
// ExpirationDate, ServiceCredentialAlias, ServiceName,
// ServiceSpecificCredentialId, ServiceUserName, Status and UserName, and
// no last-used field (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceSpecificCredentialMetadata.html;
// the same members in botocore 1.43.11's iam/2010-05-08/service-2.json and
// in the Go SDK's types, which TestNoServiceCredentialLastUse checks);
// the credential report's columns cover passwords, access keys and
// X.509 certificates only (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html).
// So the deactivation gate of these credentials is time and notice: the
// old one is deactivated only deactivate_after - rotate_after after the
// new one was stored (and its owner told), never sooner, and rollback
// re-activates it. TestServiceLifecycleNoUsageGate shows both.

// TestServiceCredentialLifecycle rotates a CodeCommit, a Keyspaces and a
// Bedrock credential through the 90/100/110 lifecycle with the real SDK
// against the sandbox: a second credential created and stored at day 90,
// the old one deactivated at day 100 (and ten days after the store),
// deleted at day 110; the user at IAM's quota of two is blocked and never changed;
// the new Bedrock key expires (never "no expiry").
func TestServiceCredentialLifecycle(t *testing.T) {
	w := newSvcWorld(t)
	kinds := func(p *plan.Plan) string {
		var ks []string
		for _, a := range p.Actions {
			ks = append(ks, string(a.Kind)+" "+a.User)
		}
		for _, a := range p.Blocked {
			ks = append(ks, "blocked "+a.User)
		}
		return strings.Join(ks, ", ")
	}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{50 * day, ""},
		{90 * day, "create-service-credential bed, create-service-credential cass, create-service-credential git, blocked full"},
		{95 * day, "blocked full"},
		{100 * day, "deactivate-service-credential bed, deactivate-service-credential cass, deactivate-service-credential git, blocked full"},
		{105 * day, "blocked full"},
		{110 * day, "delete-service-credential bed, delete-service-credential cass, delete-service-credential git, blocked full"},
	}
	var last time.Duration
	for _, s := range steps {
		w.advance(s.at - last)
		last = s.at
		// The applications switch when told (they read their secret).
		for u := range svcUsers {
			w.follow(u)
		}
		p, res, err := w.cycle(w.executor(fmt.Sprint("run-", s.at)), Options{})
		if err != nil {
			t.Fatalf("day %s: %v", s.at, err)
		}
		if got := kinds(p); got != s.want {
			t.Errorf("day %v: planned %s, want %s", int(s.at/day), got, s.want)
		}
		for _, o := range res.Outcomes {
			if o.Status != Succeeded {
				t.Errorf("day %v: %s %s: %s %s", int(s.at/day), o.Kind, o.User, o.Status, o.Detail)
			}
			if o.Kind == plan.CreateServiceCredential && (!strings.Contains(o.Detail, "reads back equal") || o.SecretARN == "" || o.NewKeyID == "") {
				t.Errorf("create outcome: %+v", o)
			}
		}
		for u := range svcUsers {
			if err := w.checkSafe(u); err != nil {
				t.Errorf("day %v: %v", int(s.at/day), err)
			}
		}
	}
	for u := range svcUsers {
		w.follow(u)
		if err := w.checkConverged(u); err != nil {
			t.Error(err)
		}
	}
	// The new Bedrock key expires after the policy's maximum (the old one never did).
	bed := w.creds("bed")
	if len(bed) != 1 || bed[0].Expires == nil || bed[0].Expires.Sub(bed[0].Created) != 90*day {
		t.Errorf("new Bedrock key: %+v", bed)
	}
	cur, err := w.current("git")
	if err != nil || cur.Value.ServiceUserName == "" || cur.Value.ServicePassword.Empty() || cur.Value.UserName != "git" {
		t.Errorf("git's secret: %+v %v", cur.Value, err)
	}
	// The access keys' records never take a service secret for the user's
	// key secret.
	rots, err := w.executor("keys").Gather(context.Background(), w.world.snapshot(), GatherOptions{RotateAfter: 90 * day, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for ref, rot := range rots {
		if rot.SecretARN != "" || rot.NewKeyID != "" {
			t.Errorf("%s: access key records from a service secret: %+v", ref.User, rot)
		}
	}
}

// TestServiceLifecycleNoUsageGate: with no last use to read, a credential
// still in use is deactivated on time (the owner was told ten days
// before), and rollback re-activates it; keyrot then leaves it active.
func TestServiceLifecycleNoUsageGate(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	if _, _, err := w.cycle(w.executor("day90"), Options{}); err != nil {
		t.Fatal(err)
	}
	old := w.held["git"].ID // the application never switches
	w.advance(10 * day)
	if _, _, err := w.cycle(w.executor("day101"), Options{}); err != nil {
		t.Fatal(err)
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyInactive {
		t.Fatalf("old credential not deactivated on time: %+v", c)
	}
	ex := w.executor("rollback")
	o, err := ex.RollbackService(context.Background(), w.acct, "git", inventory.ServiceCodeCommit)
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rollback: %+v %v", o, err)
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyActive {
		t.Fatalf("rollback did not re-activate it: %+v", c)
	}
	w.advance(20 * day)
	p, _, err := w.cycle(w.executor("day121"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Actions {
		if a.User == "git" {
			t.Errorf("after a rollback keyrot planned %s", a.ID)
		}
	}
	if c := findCred(w.creds("git"), old); c == nil || c.Status != inventory.KeyActive {
		t.Errorf("rolled-back credential changed: %+v", c)
	}
}

// failingPut is the secret store with PutSecretValue refused (as a missing
// kms:GenerateDataKey would refuse it).
type failingPut struct{ *secretstore.Store }

func (failingPut) PutService(context.Context, string, secretstore.ServiceEntry) (secretstore.Stored, error) {
	return secretstore.Stored{}, errors.New("put secret value: AccessDeniedException: not authorized to use the KMS key")
}

type failingPutClients struct{ testClients }

func (c failingPutClients) Secrets(context.Context, string) (KeyStore, error) {
	return failingPut{c.w.store()}, nil
}

// TestServiceOrphanCompensated: a store that fails after the credential
// was created deletes it again (nobody holds it) and clears the pending
// mark; the old credential stays; the next run rotates.
func TestServiceOrphanCompensated(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	ex := w.executor("broken-store")
	ex.Clients = failingPutClients{testClients{w.world}}
	_, res, err := w.cycle(ex, Options{})
	if err == nil {
		t.Fatalf("a failed store reported no error: %+v", res.Outcomes)
	}
	for _, o := range res.Outcomes {
		if o.Status != Failed || !strings.Contains(o.Detail, "new credential deleted again") {
			t.Errorf("%s %s: %s %s", o.Kind, o.User, o.Status, o.Detail)
		}
	}
	for _, u := range []string{"git", "cass", "bed"} {
		if cs := w.creds(u); len(cs) != 1 || cs[0].ID != w.held[u].ID {
			t.Errorf("%s: %s", u, keysText(credKeys(cs)))
		}
		if tags, err := w.store().ServiceTagsOf(context.Background(), w.secretName(u)); err != nil || tags.PendingRaw != "" {
			t.Errorf("%s: pending mark left: %+v %v", u, tags, err)
		}
	}
	w.advance(time.Hour)
	if _, res, err := w.cycle(w.executor("fixed"), Options{}); err != nil || res.Count(Succeeded) != 3 {
		t.Fatalf("next run: %v %+v", err, res)
	}
}

// TestServiceDryRunAndAuditOnly: a dry run makes no call; an audit-only
// run reads only; both say what would be done.
func TestServiceDryRunAndAuditOnly(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	for _, o := range []Options{{DryRun: true}, {AuditOnly: true}} {
		w.calls.counts = nil
		_, res, err := w.cycle(w.executor("look"), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Outcomes) != 3 {
			t.Errorf("%+v: %d outcomes", o, len(res.Outcomes))
		}
		for _, oc := range res.Outcomes {
			if !oc.WouldDo {
				t.Errorf("%+v: %s %s: %s", o, oc.Kind, oc.User, oc.Detail)
			}
		}
		if wr := w.calls.writes(); len(wr) > 0 {
			t.Errorf("%+v made writes: %v", o, wr)
		}
	}
}

// TestServiceStaleActionsRefused: an action whose credentials changed
// since the plan, or that comes too early, changes nothing.
func TestServiceStaleActionsRefused(t *testing.T) {
	w := newSvcWorld(t)
	w.advance(90 * day)
	p, _, err := w.cycle(w.executor("plan"), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var create plan.Action
	for _, a := range p.Actions {
		if a.User == "git" {
			create = a
		}
	}
	// A forged deactivation of the only credential, and a deletion of it.
	for _, k := range []plan.Kind{plan.DeactivateServiceCredential, plan.DeleteServiceCredential} {
		f := create
		f.Kind, f.ID = k, "forged/"+string(k)
		res, _ := w.executor("forged").Apply(context.Background(), &plan.Plan{Actions: []plan.Action{f}}, Options{})
		if res.Outcomes[0].Status == Succeeded {
			t.Errorf("forged %s succeeded", k)
		}
	}
	// A person adds a credential after the plan: the creation is skipped.
	if _, err := w.iam.CreateServiceSpecificCredential(context.Background(), &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("git"), ServiceName: aws.String(inventory.ServiceCodeCommit)}); err != nil {
		t.Fatal(err)
	}
	res, _ := w.executor("stale").Apply(context.Background(), &plan.Plan{Actions: []plan.Action{create}}, Options{})
	if o := res.Outcomes[0]; o.Status != Skipped || !strings.Contains(o.Detail, "state changed since plan") {
		t.Errorf("stale create: %s %s", o.Status, o.Detail)
	}
	if n := len(w.creds("git")); n != 2 {
		t.Errorf("git has %d credentials", n)
	}
}

// TestNoServiceCredentialLastUse fails if the IAM model gains a last-used
// field for service-specific credentials: the time-and-notice gate would
// then have a usage gate to add.
func TestNoServiceCredentialLastUse(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[types.ServiceSpecificCredentialMetadata](), reflect.TypeFor[types.ServiceSpecificCredential]()} {
		for i := range typ.NumField() {
			if name := typ.Field(i).Name; strings.Contains(strings.ToLower(name), "used") {
				t.Errorf("%s has %s: AWS now records a last use of service-specific credentials", typ.Name(), name)
			}
		}
	}
}
