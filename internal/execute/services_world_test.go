package execute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// svcWorld is a world whose users hold service-specific credentials: the
// applications (a git client, a Cassandra driver, a Bedrock client) hold
// one credential each, read from keyrot's secret once keyrot stores one.
type svcWorld struct {
	*world
	// svc is each user's service.
	svc map[string]string
	// held is the credential each user's application uses, by user.
	held map[string]heldKey
	// original are the credentials the test created (not keyrot).
	original map[string]bool
}

// svcUsers are the users of the service-credential tests: one per
// service, and full, with IAM's maximum of two CodeCommit credentials.
var svcUsers = map[string]string{
	"git": inventory.ServiceCodeCommit, "cass": inventory.ServiceKeyspaces, "bed": inventory.ServiceBedrock, "full": inventory.ServiceCodeCommit,
}

func svcUserNames() []string {
	var us []string
	for u := range svcUsers {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

func newSvcWorld(t testing.TB) *svcWorld {
	t.Helper()
	w := &svcWorld{world: newWorld(t, svcUserNames()...), svc: svcUsers, held: map[string]heldKey{}, original: map[string]bool{}}
	for _, u := range svcUserNames() {
		n := 1
		if u == "full" {
			n = 2
		}
		for range n {
			out, err := w.iam.CreateServiceSpecificCredential(context.Background(), &iam.CreateServiceSpecificCredentialInput{
				UserName: aws.String(u), ServiceName: aws.String(w.svc[u])})
			if err != nil {
				t.Fatalf("create %s credential of %s: %v", w.svc[u], u, err)
			}
			m := out.ServiceSpecificCredential
			k := heldKey{ID: aws.ToString(m.ServiceSpecificCredentialId), Secret: aws.ToString(m.ServicePassword) + aws.ToString(m.ServiceCredentialSecret)}
			w.held[u], w.known[k.ID], w.original[k.ID] = k, k.Secret, true
		}
	}
	return w
}

// services are the periods of the tests: the default lifecycle, Bedrock
// keys of at most 90 days.
func (w *svcWorld) services() plan.Services {
	return plan.Services{Lifecycle: plan.DefaultLifecycle(), APIKeyMaxLifetime: 90 * day}
}

func (w *svcWorld) executor(owner string) *Executor {
	ex := w.world.executor(w.hist, owner)
	ex.ServiceCredentials = w.services()
	return ex
}

func (w *svcWorld) creds(user string) []liveCred {
	w.t.Helper()
	cs, err := listCreds(context.Background(), w.iam, user, w.svc[user])
	if err != nil {
		w.t.Fatalf("list credentials: %v", err)
	}
	return cs
}

// snapshot is the world's snapshot with the service credentials.
func (w *svcWorld) snapshot() *inventory.Snapshot {
	snap := w.world.snapshot()
	a := &snap.Accounts[0]
	for i := range a.Users {
		u := &a.Users[i]
		if w.svc[u.Name] == "" {
			continue
		}
		for _, c := range w.creds(u.Name) {
			u.ServiceCredentials = append(u.ServiceCredentials, c.inventory(w.svc[u.Name]))
		}
	}
	return snap
}

// cycle is one keyrot apply of the service-credential lifecycle only:
// collect, gather the records, plan, apply.
func (w *svcWorld) cycle(ex *Executor, o Options) (*plan.Plan, *Result, error) {
	w.t.Helper()
	ctx := context.Background()
	snap := w.snapshot()
	recs, err := ex.GatherServices(ctx, snap)
	if err != nil {
		return nil, nil, err
	}
	svcs := w.services()
	svcs.Records = recs
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Services: &svcs}, w.now())
	p.Actions = slices.DeleteFunc(p.Actions, func(a plan.Action) bool { return !plan.ServiceKind(a.Kind) })
	res, err := ex.Apply(ctx, p, o)
	return p, res, err
}

func (w *svcWorld) secretName(user string) string {
	return "keyrot/" + w.acct + "/" + user + "/" + plan.ServiceShort(w.svc[user])
}

// current reads the user's service secret's AWSCURRENT (as a reader).
func (w *svcWorld) current(user string) (secretstore.ServiceVersion, error) {
	return w.store().StageService(context.Background(), w.secretName(user), "AWSCURRENT")
}

// follow switches the user's application to the stored credential.
func (w *svcWorld) follow(user string) {
	v, err := w.current(user)
	if err != nil || v.Value.CredentialID == w.held[user].ID {
		return
	}
	k := heldKey{ID: v.Value.CredentialID, Secret: v.Value.ServicePassword.Reveal() + v.Value.ServiceCredentialSecret.Reveal()}
	w.held[user], w.known[k.ID] = k, k.Secret
}

// checkSafe checks the invariants for a user: at most two credentials of
// its service; the one its application holds is active; the secret's
// current credential, if any, is active and holds what IAM returned; and
// every active credential is held by somebody (the application, the
// secret) or is the never-stored credential of an interrupted creation,
// named by the secret's pending mark (a later run deletes it).
func (w *svcWorld) checkSafe(user string) error {
	cs := w.creds(user)
	if len(cs) > 2 {
		return fmt.Errorf("%s: %d credentials", user, len(cs))
	}
	if c := findCred(cs, w.held[user].ID); c == nil || c.Status != inventory.KeyActive {
		return fmt.Errorf("%s: the application's credential %s is not active: %s", user, w.held[user].ID, keysText(credKeys(cs)))
	}
	cur, err := w.current(user)
	stored := ""
	switch {
	case errors.Is(err, secretstore.ErrNoVersion):
	case err != nil:
		return fmt.Errorf("%s: read the secret: %w", user, err)
	default:
		stored = cur.Value.CredentialID
		if c := findCred(cs, stored); c == nil || c.Status != inventory.KeyActive {
			return fmt.Errorf("%s: the stored credential %s is not active: %s", user, stored, keysText(credKeys(cs)))
		}
		if s, ok := w.known[stored]; ok && s != cur.Value.ServicePassword.Reveal()+cur.Value.ServiceCredentialSecret.Reveal() {
			return fmt.Errorf("%s: the secret of %s changed", user, stored)
		}
	}
	tags, err := w.store().ServiceTagsOf(context.Background(), w.secretName(user))
	if err != nil {
		return err
	}
	rec := recordOf(tags)
	for _, c := range cs {
		if c.Status != inventory.KeyActive || c.ID == stored || w.known[c.ID] != "" {
			continue
		}
		if !rec.CreatedByPending(c.ID, c.Created) {
			return fmt.Errorf("%s: active credential %s is held by nobody and no pending mark names it", user, c.ID)
		}
	}
	return nil
}

// checkConverged checks the end state: one active credential, stored,
// held by the application, no pending mark; full is unchanged.
func (w *svcWorld) checkConverged(user string) error {
	cs := w.creds(user)
	if user == "full" {
		if len(cs) != 2 || !w.original[cs[0].ID] || !w.original[cs[1].ID] {
			return fmt.Errorf("full (two credentials, IAM's quota) changed: %s", keysText(credKeys(cs)))
		}
		return nil
	}
	if len(cs) != 1 || cs[0].Status != inventory.KeyActive || w.original[cs[0].ID] {
		return fmt.Errorf("%s did not converge to one new active credential: %s", user, keysText(credKeys(cs)))
	}
	cur, err := w.current(user)
	if err != nil {
		return err
	}
	if cur.Value.CredentialID != cs[0].ID || w.held[user].ID != cs[0].ID {
		return fmt.Errorf("%s: secret holds %s, the application %s, IAM lists %s", user, cur.Value.CredentialID, w.held[user].ID, cs[0].ID)
	}
	tags, err := w.store().ServiceTagsOf(context.Background(), w.secretName(user))
	if err != nil {
		return err
	}
	if rec := recordOf(tags); rec.CredentialID != cs[0].ID {
		return fmt.Errorf("%s: the secret's record names %s, not %s", user, rec.CredentialID, cs[0].ID)
	}
	return nil
}
