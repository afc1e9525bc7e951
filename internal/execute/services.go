package execute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// The steps of the service-specific credential lifecycle (plan/services.go,
// docs/rotation.md). The durable state is the service secret's tags: the
// pending mark written before a creation, the stored credential's ID and
// date written with its value, the deactivation written just before the
// deactivation. Every step re-reads the user's credentials of the service
// and the secret before it changes anything.

// ServiceIAM is the part of the IAM client the service-credential steps
// call; the executor's IAM client must also implement it.
type ServiceIAM interface {
	ListServiceSpecificCredentials(ctx context.Context, in *iam.ListServiceSpecificCredentialsInput, opts ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	CreateServiceSpecificCredential(ctx context.Context, in *iam.CreateServiceSpecificCredentialInput, opts ...func(*iam.Options)) (*iam.CreateServiceSpecificCredentialOutput, error)
	UpdateServiceSpecificCredential(ctx context.Context, in *iam.UpdateServiceSpecificCredentialInput, opts ...func(*iam.Options)) (*iam.UpdateServiceSpecificCredentialOutput, error)
	DeleteServiceSpecificCredential(ctx context.Context, in *iam.DeleteServiceSpecificCredentialInput, opts ...func(*iam.Options)) (*iam.DeleteServiceSpecificCredentialOutput, error)
}

var _ ServiceIAM = (*iam.Client)(nil)

// ServiceStore is the part of the secret store the service-credential
// steps use; the executor's KeyStore must also implement it.
type ServiceStore interface {
	ServiceSecretName(d secretstore.NameData, short string) (string, error)
	ServiceTagsOf(ctx context.Context, secretID string) (secretstore.ServiceTags, error)
	MarkPending(ctx context.Context, e secretstore.ServiceEntry, mark string) (string, error)
	PutService(ctx context.Context, arn string, e secretstore.ServiceEntry) (secretstore.Stored, error)
	RetagService(ctx context.Context, arn, credentialID string, storedAt time.Time) error
	TagServiceRecord(ctx context.Context, arn, key, value string) error
	UntagServiceRecord(ctx context.Context, arn string, keys ...string) error
	StageService(ctx context.Context, secretID, stage string) (secretstore.ServiceVersion, error)
	ListServices(ctx context.Context, accountID, accountName string) ([]secretstore.ServiceListed, error)
	Restore(ctx context.Context, secretID string) error
	Config() secretstore.Config
}

var _ ServiceStore = (*secretstore.Store)(nil)

// services returns the executor's service-credential periods.
func (e *Executor) services() plan.Services {
	s := e.ServiceCredentials
	if s.Lifecycle == (plan.Lifecycle{}) {
		s.Lifecycle = plan.DefaultLifecycle()
	}
	return s
}

// svcClients are one action's clients.
type svcClients struct {
	iam   ServiceIAM
	store ServiceStore
	name  string // the service secret's name
	nd    secretstore.NameData
	short string
}

func (r *runner) svcClients(ctx context.Context, a plan.Action) (svcClients, error) {
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return svcClients{}, err
	}
	si, ok := c.(ServiceIAM)
	if !ok {
		return svcClients{}, fmt.Errorf("account %s: the IAM client cannot change service-specific credentials", a.AccountID)
	}
	ks, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return svcClients{}, err
	}
	ss, ok := ks.(ServiceStore)
	if !ok {
		return svcClients{}, fmt.Errorf("account %s: the secret store cannot hold service-specific credentials", a.AccountID)
	}
	sc := svcClients{iam: si, store: ss, nd: nameData(a), short: plan.ServiceShort(a.Service)}
	if sc.name, err = ss.ServiceSecretName(sc.nd, sc.short); err == nil {
		err = validSecretName(sc.name)
	}
	if err != nil {
		return svcClients{}, fmt.Errorf("no valid secret name for the %s credentials of %s: %w", sc.short, a.User, err)
	}
	return sc, nil
}

// liveCred is a service-specific credential as IAM lists it now.
type liveCred struct {
	liveKey
	Expires *time.Time
}

func listCreds(ctx context.Context, c ServiceIAM, user, service string) ([]liveCred, error) {
	out, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String(user), ServiceName: aws.String(service)})
	if err != nil {
		return nil, fmt.Errorf("list %s credentials of %s: %w", service, user, err)
	}
	var cs []liveCred
	for _, m := range out.ServiceSpecificCredentials {
		cs = append(cs, liveCred{liveKey: liveKey{ID: aws.ToString(m.ServiceSpecificCredentialId), Status: inventory.KeyStatus(m.Status),
			Created: aws.ToTime(m.CreateDate)}, Expires: m.ExpirationDate})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Created.Before(cs[j].Created) })
	return cs, nil
}

func credKeys(cs []liveCred) []liveKey {
	ks := make([]liveKey, len(cs))
	for i, c := range cs {
		ks[i] = c.liveKey
	}
	return ks
}

func findCred(cs []liveCred, id string) *liveCred {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return nil
}

func (c liveCred) inventory(service string) inventory.ServiceCredential {
	return inventory.ServiceCredential{ID: c.ID, Service: service, Status: c.Status, CreateDate: c.Created, ExpirationDate: c.Expires}
}

// recordOf is the planner's view of a service secret's tags.
func recordOf(t secretstore.ServiceTags) plan.ServiceRecord {
	return plan.ServiceRecord{SecretARN: t.ARN, CredentialID: t.CredentialID, StoredAt: t.StoredAt,
		PendingSince: t.PendingSince, PendingBefore: t.PendingBefore,
		DeactivatedID: t.DeactivatedID, DeactivatedAt: t.DeactivatedAt, RolledBackID: t.RolledBackID, RolledBackAt: t.RolledBackAt}
}

// svcLive reads the user's credentials of the service and checks them
// against the plan; a non-nil outcome stops the action.
func (r *runner) svcLive(ctx context.Context, a plan.Action, sc svcClients) ([]liveCred, *Outcome) {
	stop := func(o Outcome) ([]liveCred, *Outcome) { return nil, &o }
	if err := r.step("svc-before-list"); err != nil {
		return stop(failed(a, err))
	}
	live, err := listCreds(ctx, sc.iam, a.User, a.Service)
	if err != nil {
		return stop(listFailed(a, err))
	}
	if !sameKeys(credKeys(live), a.Expect) {
		return stop(outcomeOf(a, Skipped, fmt.Sprintf("state changed since plan: %s credentials are %s, plan expected %s",
			sc.short, keysText(credKeys(live)), expectText(a.Expect))))
	}
	if findCred(live, a.KeyID) == nil {
		return stop(outcomeOf(a, Skipped, "credential no longer exists"))
	}
	return live, nil
}

// svcTags reads the service secret's records; a non-nil outcome stops the action.
func (r *runner) svcTags(ctx context.Context, a plan.Action, sc svcClients) (secretstore.ServiceTags, *Outcome) {
	if err := r.step("svc-before-read-tags"); err != nil {
		o := failed(a, err)
		return secretstore.ServiceTags{}, &o
	}
	t, err := sc.store.ServiceTagsOf(ctx, sc.name)
	if err != nil {
		o := failed(a, err)
		return t, &o
	}
	return t, nil
}

// createServiceCredential creates a second credential of the service,
// stores it, clears the pending mark and checks it: IAM lists it Active and
// the secret reads back equal. keyrot cannot sign in to CodeCommit,
// Keyspaces or Bedrock with it, which would be the proof that it works
// (a git ls-remote over HTTPS, a CQL login, a Bedrock call).
func (r *runner) createServiceCredential(ctx context.Context, a plan.Action) Outcome {
	e := r.e
	sc, err := r.svcClients(ctx, a)
	if err != nil {
		return outcomeOf(a, Blocked, err.Error())
	}
	live, stop := r.svcLive(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	old := *findCred(live, a.KeyID)
	svcs := e.services()
	switch {
	case old.Status != inventory.KeyActive:
		return outcomeOf(a, Blocked, "credential "+inventory.MaskKeyID(old.ID)+" is "+string(old.Status)+": keyrot replaces active credentials only")
	case r.tooEarly(svcs.RotateDue(old.inventory(a.Service))):
		return outcomeOf(a, Blocked, fmt.Sprintf("credential %s is not due for rotation before %s (rotate_after %s)",
			inventory.MaskKeyID(old.ID), ymd(svcs.RotateDue(old.inventory(a.Service))), fmtDays(svcs.Lifecycle.RotateAfter)))
	case len(live) >= 2:
		return outcomeOf(a, Blocked, fmt.Sprintf("user already has two %s credentials (IAM's quota per user and service): one must be deleted first", sc.short))
	}
	tags, stop := r.svcTags(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	if tags.CredentialID != "" && tags.CredentialID != old.ID {
		if k := findCred(live, tags.CredentialID); k != nil && k.Created.After(old.Created) {
			return outcomeOf(a, Skipped, "a newer credential keyrot stored already replaces it")
		}
	}
	rec := recordOf(tags)
	for _, c := range live {
		if rec.CreatedByPending(c.ID, c.Created) {
			return outcomeOf(a, Skipped, "credential "+inventory.MaskKeyID(c.ID)+" of an interrupted creation is still there: deleted as an orphan first")
		}
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	arn := a.UserARN
	if arn == "" {
		c, err := e.Clients.IAM(ctx, a.AccountID)
		if err == nil {
			arn, err = userARN(ctx, c, a.User)
		}
		if err != nil {
			return listFailed(a, err)
		}
	}
	var before []string
	for _, c := range live {
		before = append(before, c.ID)
	}
	mark := secretstore.PendingMark(e.now(), before)
	entry := secretstore.ServiceEntry{Name: sc.nd, Short: sc.short, UserARN: arn, Value: secretstore.ServiceValue{ServiceName: a.Service},
		Step: r.step}
	if err := r.step("svc-before-mark"); err != nil {
		return failed(a, err)
	}
	secretARN, err := sc.store.MarkPending(ctx, entry, mark)
	if err != nil {
		return failed(a, fmt.Errorf("no credential created for %s: %w", a.User, err))
	}
	if err := r.step("svc-after-mark"); err != nil {
		return failed(a, err)
	}
	j, err := r.begin(ctx, a, string(plan.CreateServiceCredential), a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	in := &iam.CreateServiceSpecificCredentialInput{UserName: aws.String(a.User), ServiceName: aws.String(a.Service)}
	lifetime := time.Duration(0)
	if a.Service == inventory.ServiceBedrock {
		lifetime = svcs.APIKeyLifetime(old.inventory(a.Service))
		in.CredentialAgeDays = aws.Int32(int32(lifetime / (24 * time.Hour)))
	}
	if err := r.step("svc-before-create"); err != nil {
		return failed(a, err)
	}
	out, err := sc.iam.CreateServiceSpecificCredential(ctx, in)
	if err != nil {
		err = fmt.Errorf("create %s credential for %s: %w", sc.short, a.User, err)
		if after, lerr := listCreds(ctx, sc.iam, a.User, a.Service); lerr == nil && sameKeys(credKeys(after), a.Expect) {
			// Nothing was created: the mark goes.
			r.untagIfService(ctx, sc, secretARN, secretstore.TagServicePending, mark)
			if isPolicyDenied(err) {
				j.end(ctx, Blocked, err.Error(), "")
				return outcomeOf(a, Blocked, fmt.Sprintf("AWS denied the new credential, nothing was changed for %s: %v", a.User, errors.Unwrap(err)))
			}
		} else {
			err = fmt.Errorf("%w (a credential may have been created: the pending mark stays, for a later run to delete it as an orphan)", err)
		}
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	m := out.ServiceSpecificCredential
	newID := aws.ToString(m.ServiceSpecificCredentialId)
	val := secretstore.ServiceValue{ServiceName: a.Service, CredentialID: newID, ServiceUserName: aws.ToString(m.ServiceUserName),
		ServicePassword: secretstore.NewSecret(aws.ToString(m.ServicePassword)), ServiceCredentialAlias: aws.ToString(m.ServiceCredentialAlias),
		ServiceCredentialSecret: secretstore.NewSecret(aws.ToString(m.ServiceCredentialSecret)), UserName: a.User, AccountID: a.AccountID,
		CreateDate: aws.ToTime(m.CreateDate), ExpirationDate: m.ExpirationDate}
	if err := r.step("svc-after-create"); err != nil {
		return failed(a, err)
	}
	entry.Value, entry.StoredAt = val, e.now()
	// Just before the value is written, the world must still be as this
	// creation left it: its credential exists and is active, the mark is
	// still its own.
	entry.Step = func(step string) error {
		if err := r.step(step); err != nil {
			return err
		}
		if step != "store-put-value" {
			return nil
		}
		return r.stillCreatingService(ctx, a, sc, newID, mark)
	}
	stored, err := sc.store.PutService(ctx, secretARN, entry)
	if isCrash(err) {
		return failed(a, err)
	}
	if err != nil {
		var sup *supersededError
		if errors.As(err, &sup) {
			return r.compensateService(ctx, a, sc, j, secretARN, newID, mark, err)
		}
		// Was the value written (a lost reply, a failed tag)? The secret says.
		if err2 := r.step("svc-before-read-secret"); err2 != nil {
			return failed(a, err2)
		}
		v, rerr := sc.store.StageService(ctx, secretARN, "AWSCURRENT")
		switch {
		case rerr == nil && v.Value.CredentialID == newID:
			if terr := sc.store.RetagService(ctx, secretARN, newID, entry.StoredAt); terr != nil {
				err = fmt.Errorf("new %s credential %s of %s is stored but its record is not (kept; the next run repairs it): %w", sc.short, inventory.MaskKeyID(newID), a.User, errors.Join(err, terr))
				j.end(ctx, Failed, err.Error(), newID)
				return failed(a, err)
			}
			stored = secretstore.Stored{ARN: v.ARN, Name: v.Name, VersionID: v.VersionID}
		case rerr == nil || errors.Is(rerr, secretstore.ErrNoVersion):
			return r.compensateService(ctx, a, sc, j, secretARN, newID, mark, err)
		default:
			err = fmt.Errorf("store new %s credential %s of %s: %w; whether it was stored is unknown (%w): it is kept, marked pending, for a later run",
				sc.short, inventory.MaskKeyID(newID), a.User, err, rerr)
			j.end(ctx, Failed, err.Error(), newID)
			return failed(a, err)
		}
	}
	if err := r.step("svc-after-store"); err != nil {
		return failed(a, err)
	}
	r.untagIfService(ctx, sc, secretARN, secretstore.TagServicePending, mark)
	if err := r.step("svc-after-untag"); err != nil {
		return failed(a, err)
	}
	o := outcomeOf(a, Succeeded, "")
	o.NewKeyID, o.SecretARN, o.SecretName = newID, stored.ARN, stored.Name
	o.FetchCommand = secretstore.FetchCommand(stored.ARN, sc.store.Config().Region)
	// The check keyrot can make: IAM lists the credential active, and the
	// secret reads back equal to what IAM returned.
	if err := r.step("svc-before-verify"); err != nil {
		return failed(a, err)
	}
	if err := r.verifyServiceCredential(ctx, a, sc, secretARN, val); err != nil {
		err = fmt.Errorf("new %s credential %s of %s stored but not verified: %w", sc.short, inventory.MaskKeyID(newID), a.User, err)
		j.end(ctx, Failed, err.Error(), newID)
		o.Status, o.Detail, o.Err = Failed, err.Error(), err
		return o
	}
	o.Detail = fmt.Sprintf("new %s credential %s created and stored; IAM lists it active and the secret reads back equal (keyrot cannot sign in to %s to test it)",
		sc.short, inventory.MaskKeyID(newID), sc.short)
	if lifetime > 0 {
		o.Detail += fmt.Sprintf("; it expires after %s", fmtDays(lifetime))
	}
	j.end(ctx, Succeeded, "", newID)
	return o
}

// verifyServiceCredential checks a stored credential: IAM lists it Active,
// and the secret's AWSCURRENT, read again, holds it with the same secret.
func (r *runner) verifyServiceCredential(ctx context.Context, a plan.Action, sc svcClients, secretID string, want secretstore.ServiceValue) error {
	live, err := listCreds(ctx, sc.iam, a.User, a.Service)
	if err != nil {
		return err
	}
	if c := findCred(live, want.CredentialID); c == nil || c.Status != inventory.KeyActive {
		return errors.New("IAM does not list it as active")
	}
	v, err := sc.store.StageService(ctx, secretID, "AWSCURRENT")
	if err != nil {
		return err
	}
	if !v.Value.SameSecret(want) {
		return errors.New("the secret's current version does not hold it")
	}
	return nil
}

// stillCreatingService re-checks, just before the value is written, that
// the creation's credential is an active credential of the user and the
// secret's pending mark is still its own.
func (r *runner) stillCreatingService(ctx context.Context, a plan.Action, sc svcClients, newID, mark string) error {
	live, err := listCreds(ctx, sc.iam, a.User, a.Service)
	if err != nil {
		return fmt.Errorf("re-check before storing: %w", err)
	}
	if c := findCred(live, newID); c == nil || c.Status != inventory.KeyActive {
		return &supersededError{"new credential " + inventory.MaskKeyID(newID) + " is no longer an active credential of the user"}
	}
	t, err := sc.store.ServiceTagsOf(ctx, sc.name)
	if err != nil {
		return fmt.Errorf("re-check before storing: %w", err)
	}
	if t.PendingRaw != mark {
		return &supersededError{fmt.Sprintf("the secret's pending mark is no longer this run's (now %q)", t.PendingRaw)}
	}
	return nil
}

// compensateService deletes a new credential whose secret was not stored:
// nobody holds it. If that fails, the pending mark leaves it to a later
// run as an orphan.
func (r *runner) compensateService(ctx context.Context, a plan.Action, sc svcClients, j *journal, secretARN, newID, mark string, storeErr error) Outcome {
	err := fmt.Errorf("store new %s credential %s of %s: %w", sc.short, inventory.MaskKeyID(newID), a.User, storeErr)
	if cerr := r.step("svc-before-compensate"); cerr != nil {
		return failed(a, cerr)
	}
	if _, derr := sc.iam.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String(a.User),
		ServiceSpecificCredentialId: aws.String(newID)}); derr != nil && !isNoSuchEntity(derr) {
		err = errors.Join(err, fmt.Errorf("delete the unstored credential (left as an orphan for a later run): %w", derr))
		j.end(ctx, Failed, err.Error(), newID)
		return failed(a, err)
	}
	if cerr := r.step("svc-after-compensate"); cerr != nil {
		return failed(a, cerr)
	}
	r.untagIfService(ctx, sc, secretARN, secretstore.TagServicePending, mark)
	err = fmt.Errorf("%w (new credential deleted again; old one untouched)", err)
	j.end(ctx, Failed, err.Error(), "")
	return failed(a, err)
}

// untagIfService removes a record tag of the secret if it still has the
// value it judged; a failure is logged (the records tolerate a stale tag).
func (r *runner) untagIfService(ctx context.Context, sc svcClients, arn, key, value string) {
	t, err := sc.store.ServiceTagsOf(ctx, arn)
	if err == nil {
		cur := map[string]string{secretstore.TagServicePending: t.PendingRaw}[key]
		if key == secretstore.TagServiceDeactivated && t.DeactivatedID != "" {
			cur = secretstore.IDMark(t.DeactivatedID, t.DeactivatedAt)
		}
		if cur != value {
			return
		}
		err = sc.store.UntagServiceRecord(ctx, arn, key)
	}
	if err != nil {
		r.e.log().Warn("clear secret record", "tag", key, "secret", arn, "err", err)
	}
}

// deactivateServiceCredential deactivates the credential a stored one
// replaced, checked live whatever the plan says: the replacement is an
// active credential of the user, newer, held by the secret's AWSCURRENT;
// the old one is at least deactivate_after old and the replacement was
// stored at least deactivate_after - rotate_after ago (the owner's notice);
// no rollback since the store. There is no usage gate: AWS records no last
// use for service-specific credentials.
func (r *runner) deactivateServiceCredential(ctx context.Context, a plan.Action) Outcome {
	sc, err := r.svcClients(ctx, a)
	if err != nil {
		return outcomeOf(a, Blocked, err.Error())
	}
	live, stop := r.svcLive(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	old := *findCred(live, a.KeyID)
	if old.Status != inventory.KeyActive {
		return outcomeOf(a, Skipped, "credential is already "+string(old.Status))
	}
	tags, stop := r.svcTags(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	cur, stop := r.svcReplacement(ctx, a, sc, live, old, tags)
	if stop != nil {
		return *stop
	}
	if tags.RolledBackID == old.ID && !tags.RolledBackAt.Before(cur.Created) {
		return outcomeOf(a, Blocked, "credential was re-activated by rollback on "+ymd(tags.RolledBackAt)+", after its replacement was stored: keyrot leaves it active, a person decides")
	}
	if tags.DeactivatedID == old.ID && r.svcDeactivatedByKeyrot(ctx, a, old.ID) {
		return outcomeOf(a, Blocked, "credential was re-activated after keyrot deactivated it on "+ymd(tags.DeactivatedAt)+
			" (not by keyrot rollback): somebody needed it; keyrot leaves it active, a person decides (deactivate it by hand to finish the rotation)")
	}
	lc := r.e.services().Lifecycle
	if due := later(old.Created.Add(lc.DeactivateAfter), cur.Created.Add(lc.DeactivateAfter-lc.RotateAfter)); r.tooEarly(due) {
		return outcomeOf(a, Blocked, fmt.Sprintf("deactivation not before %s: at least %s old, and %s after its replacement %s was stored and announced on %s (AWS records no last use for these credentials: time and notice are the gate)",
			ymd(due), fmtDays(lc.DeactivateAfter), fmtDays(lc.DeactivateAfter-lc.RotateAfter), inventory.MaskKeyID(cur.Value.CredentialID), ymd(cur.Created)))
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	j, err := r.begin(ctx, a, string(plan.DeactivateServiceCredential), a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	if tags.CredentialID != cur.Value.CredentialID {
		// A store interrupted between its value and its record: the
		// record follows the value, and the creation's mark goes.
		if err := sc.store.RetagService(ctx, tags.ARN, cur.Value.CredentialID, cur.Created); err != nil {
			r.e.log().Warn("repair secret record", "account", a.AccountID, "user", a.User, "err", err)
		} else if tags.PendingRaw != "" {
			r.untagIfService(ctx, sc, tags.ARN, secretstore.TagServicePending, tags.PendingRaw)
		}
	}
	// The record first: a crash after the deactivation still leaves it, so
	// the deletion window starts (a record of a credential still active is
	// ignored, and rewritten by the next deactivation).
	if err := r.step("svc-before-tag-deactivated"); err != nil {
		return failed(a, err)
	}
	if err := sc.store.TagServiceRecord(ctx, tags.ARN, secretstore.TagServiceDeactivated, secretstore.IDMark(old.ID, r.e.now())); err != nil {
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, fmt.Errorf("not deactivated: %w", err))
	}
	if err := r.step("svc-before-deactivate"); err != nil {
		return failed(a, err)
	}
	// The replacement, re-read just before: still active, still stored.
	again, err := listCreds(ctx, sc.iam, a.User, a.Service)
	if err != nil {
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, fmt.Errorf("re-check before deactivating: %w", err))
	}
	if n := findCred(again, cur.Value.CredentialID); n == nil || n.Status != inventory.KeyActive {
		why := "its replacement " + inventory.MaskKeyID(cur.Value.CredentialID) + " is no longer active (credentials are now " + keysText(credKeys(again)) + ")"
		j.end(ctx, Blocked, why, "")
		return outcomeOf(a, Blocked, "not deactivated: "+why)
	}
	if _, err := sc.iam.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String(a.User),
		ServiceSpecificCredentialId: aws.String(old.ID), Status: types.StatusTypeInactive}); err != nil {
		err = fmt.Errorf("deactivate %s credential %s of %s: %w", sc.short, inventory.MaskKeyID(old.ID), a.User, err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("svc-after-deactivate"); err != nil {
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", "")
	return outcomeOf(a, Succeeded, fmt.Sprintf("%s credential %s deactivated; its replacement %s was stored on %s", sc.short, inventory.MaskKeyID(old.ID),
		inventory.MaskKeyID(cur.Value.CredentialID), ymd(cur.Created)))
}

// svcDeactivatedByKeyrot reports whether the journal has a deactivation of
// credential id that succeeded: with the credential active again, a person
// re-activated it. A deactivation record without one (the record is written
// first: a crash or a failure before the deactivation) counts for nothing.
func (r *runner) svcDeactivatedByKeyrot(ctx context.Context, a plan.Action, id string) bool {
	if r.e.History == nil {
		return false
	}
	acts, err := r.e.History.ActionsFor(ctx, a.AccountID, a.User)
	if err != nil {
		r.e.log().Warn("read journal", "account", a.AccountID, "user", a.User, "err", err)
		return false
	}
	return slices.ContainsFunc(acts, func(x history.Action) bool {
		return x.Kind == string(plan.DeactivateServiceCredential) && x.KeyID == id && x.Outcome.Status == history.ActionSucceeded
	})
}

// svcReplacement proves the stored replacement of old: the secret's
// AWSCURRENT holds an active credential of the user, newer than old.
func (r *runner) svcReplacement(ctx context.Context, a plan.Action, sc svcClients, live []liveCred, old liveCred, tags secretstore.ServiceTags) (secretstore.ServiceVersion, *Outcome) {
	block := func(why string) (secretstore.ServiceVersion, *Outcome) {
		o := outcomeOf(a, Blocked, "replacement not proven: "+why)
		return secretstore.ServiceVersion{}, &o
	}
	if !tags.Exists {
		return block("keyrot has no secret for these credentials")
	}
	if err := r.step("svc-before-read-secret"); err != nil {
		o := failed(a, err)
		return secretstore.ServiceVersion{}, &o
	}
	cur, err := sc.store.StageService(ctx, tags.ARN, "AWSCURRENT")
	if err != nil {
		return block(err.Error())
	}
	if want := a.Evidence["new_credential"]; want != "" && want != cur.Value.CredentialID {
		return block("the secret holds " + inventory.MaskKeyID(cur.Value.CredentialID) + ", the plan names " + inventory.MaskKeyID(want))
	}
	n := findCred(live, cur.Value.CredentialID)
	switch {
	case cur.Value.CredentialID == old.ID:
		return block("the secret holds the credential itself")
	case n == nil || n.Status != inventory.KeyActive:
		return block("the stored credential " + inventory.MaskKeyID(cur.Value.CredentialID) + " is not an active credential of the user")
	case !n.Created.After(old.Created):
		return block("the stored credential is older than " + inventory.MaskKeyID(old.ID))
	}
	return cur, nil
}

// deleteServiceCredential deletes a credential, checked live whatever the
// plan says. Never an active one, except the never-stored credential of an
// interrupted creation (Evidence "orphan"): named by the secret's pending
// mark, held by none of its versions, past the orphan grace. Otherwise the
// credential is inactive, keyrot's record says it deactivated it (not
// rolled back since), or it is an expired API key; a stored replacement
// is active; it is at least delete_after old and deactivated at least
// delete_after - deactivate_after ago.
func (r *runner) deleteServiceCredential(ctx context.Context, a plan.Action) Outcome {
	sc, err := r.svcClients(ctx, a)
	if err != nil {
		return outcomeOf(a, Blocked, err.Error())
	}
	live, stop := r.svcLive(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	k := *findCred(live, a.KeyID)
	tags, stop := r.svcTags(ctx, a, sc)
	if stop != nil {
		return *stop
	}
	lc := r.e.services().Lifecycle
	clear, clearValue := "", ""
	if a.Evidence["orphan"] == "true" {
		rec := recordOf(tags)
		if !rec.CreatedByPending(k.ID, k.Created) {
			return outcomeOf(a, Blocked, "no pending mark of keyrot's names this credential as an interrupted creation's: it is not an orphan")
		}
		if r.tooEarly(k.Created.Add(lc.OrphanGrace)) {
			return outcomeOf(a, Blocked, "orphan is left alone for "+lc.OrphanGrace.String()+" after its creation")
		}
		for _, stage := range []string{"AWSCURRENT", "AWSPENDING"} {
			if err := r.step("svc-before-read-secret"); err != nil {
				return failed(a, err)
			}
			v, err := sc.store.StageService(ctx, tags.ARN, stage)
			switch {
			case errors.Is(err, secretstore.ErrNoVersion):
			case err != nil:
				return failed(a, fmt.Errorf("not deleted: %w", err))
			case v.Value.CredentialID == k.ID:
				// Stored after all (a crash before the record): repair it.
				if !r.o.AuditOnly && stage == "AWSCURRENT" {
					if err := sc.store.RetagService(ctx, tags.ARN, k.ID, v.Created); err != nil {
						r.e.log().Warn("repair secret record", "account", a.AccountID, "user", a.User, "err", err)
					}
					r.untagIfService(ctx, sc, tags.ARN, secretstore.TagServicePending, tags.PendingRaw)
				}
				return outcomeOf(a, Skipped, "credential is stored in the secret's "+stage+" version: not an orphan (its record is repaired)")
			}
		}
		clear, clearValue = secretstore.TagServicePending, tags.PendingRaw
	} else {
		if k.Status == inventory.KeyActive {
			return outcomeOf(a, Blocked, "credential is Active: keyrot deletes only inactive or expired credentials")
		}
		at := time.Time{}
		switch {
		case tags.DeactivatedID == k.ID && !(tags.RolledBackID == k.ID && !tags.RolledBackAt.Before(tags.DeactivatedAt)):
			at = tags.DeactivatedAt
			clear, clearValue = secretstore.TagServiceDeactivated, secretstore.IDMark(tags.DeactivatedID, tags.DeactivatedAt)
		case k.Status == inventory.KeyExpired && k.Expires != nil:
			at = *k.Expires
		default:
			return outcomeOf(a, Blocked, "keyrot has no record of deactivating this credential (since its last rollback): its deletion window has not started")
		}
		if _, stop := r.svcReplacement(ctx, a, sc, live, k, tags); stop != nil {
			return *stop
		}
		if due := later(k.Created.Add(lc.DeleteAfter), at.Add(lc.DeleteAfter-lc.DeactivateAfter)); r.tooEarly(due) {
			return outcomeOf(a, Blocked, fmt.Sprintf("deletion not before %s (at least %s old, and %s after it was deactivated or expired on %s: the time to roll back)",
				ymd(due), fmtDays(lc.DeleteAfter), fmtDays(lc.DeleteAfter-lc.DeactivateAfter), ymd(at)))
		}
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	j, err := r.begin(ctx, a, string(plan.DeleteServiceCredential), a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("svc-before-delete"); err != nil {
		return failed(a, err)
	}
	// NoSuchEntity: gone already (a retry whose first reply was lost).
	if _, err := sc.iam.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String(a.User),
		ServiceSpecificCredentialId: aws.String(k.ID)}); err != nil && !isNoSuchEntity(err) {
		err = fmt.Errorf("delete %s credential %s of %s: %w", sc.short, inventory.MaskKeyID(k.ID), a.User, err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("svc-after-delete"); err != nil {
		return failed(a, err)
	}
	if clear != "" {
		r.untagIfService(ctx, sc, tags.ARN, clear, clearValue)
	}
	j.end(ctx, Succeeded, "", "")
	what := "credential"
	if a.Evidence["orphan"] == "true" {
		what = "never-stored credential of an interrupted creation"
	}
	return outcomeOf(a, Succeeded, fmt.Sprintf("%s %s %s deleted", sc.short, what, inventory.MaskKeyID(k.ID)))
}

// GatherServices reads keyrot's records of the service-specific
// credentials (the planner's Services.Records): per account whose users
// have any, one paginated ListSecrets. It writes nothing. A pending mark
// whose creation was stored but not recorded (a crash between the value
// and its tags) is resolved by reading the secret's AWSCURRENT.
func (e *Executor) GatherServices(ctx context.Context, snap *inventory.Snapshot) (map[plan.ServiceRef]plan.ServiceRecord, error) {
	out := map[plan.ServiceRef]plan.ServiceRecord{}
	var errs []error
	for ai := range snap.Accounts {
		a := &snap.Accounts[ai]
		if a.Status != inventory.AccountAudited || !slices.ContainsFunc(a.Users, func(u inventory.User) bool { return len(u.ServiceCredentials) > 0 }) {
			continue
		}
		if err := e.gatherServices(ctx, a, out); err != nil {
			errs = append(errs, fmt.Errorf("gather service credential records of account %s: %w", a.ID, err))
		}
	}
	return out, errors.Join(errs...)
}

func (e *Executor) gatherServices(ctx context.Context, a *inventory.Account, out map[plan.ServiceRef]plan.ServiceRecord) error {
	ks, err := e.Clients.Secrets(ctx, a.ID)
	if err != nil {
		return err
	}
	st, ok := ks.(ServiceStore)
	if !ok {
		return errors.New("the secret store cannot hold service-specific credentials")
	}
	listed, err := st.ListServices(ctx, a.ID, a.Name)
	if err != nil {
		return err
	}
	for _, l := range listed {
		rec := recordOf(l.Tags)
		if !rec.PendingSince.IsZero() {
			v, err := st.StageService(ctx, l.Tags.ARN, "AWSCURRENT")
			if err == nil && v.Value.CredentialID != rec.CredentialID && v.Created.After(rec.StoredAt) {
				rec.CredentialID, rec.StoredAt = v.Value.CredentialID, v.Created
			}
		}
		out[plan.ServiceRef{Account: a.ID, User: l.UserName, Service: l.Tags.Service}] = rec
	}
	return nil
}

// RollbackService re-activates the credential of the service that keyrot
// deactivated last for the user (the service secret's record) and records
// the rollback, which holds its deactivation until a person decides. It
// refuses, with a RefusedError wrapping ErrNotDeactivatedByKeyrot, a
// credential keyrot did not deactivate.
func (e *Executor) RollbackService(ctx context.Context, account, user, service string) (Outcome, error) {
	r := e.runner(Options{})
	a := plan.Action{ID: "rollback/" + account + "/" + user + "/" + plan.ServiceShort(service), Kind: "reactivate-service-credential",
		AccountID: account, User: user, Service: service, Reason: "rollback requested"}
	ctx, cancel := e.detached(ctx)
	defer cancel()
	out := r.withLease(ctx, account, func() Outcome { return r.rollbackService(ctx, a) }, a)
	return out, outcomeErr(out)
}

func (r *runner) rollbackService(ctx context.Context, a plan.Action) Outcome {
	ks, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	st, ok := ks.(ServiceStore)
	if !ok {
		return failed(a, errors.New("the secret store cannot hold service-specific credentials"))
	}
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	si, ok := c.(ServiceIAM)
	if !ok {
		return failed(a, errors.New("the IAM client cannot change service-specific credentials"))
	}
	listed, err := st.ListServices(ctx, a.AccountID, a.AccountName)
	if err != nil {
		return failed(a, err)
	}
	var tags secretstore.ServiceTags
	for _, l := range listed {
		if l.UserName == a.User && l.Tags.Service == a.Service {
			tags = l.Tags
		}
	}
	if tags.DeactivatedID == "" {
		return refused(a, ErrNotDeactivatedByKeyrot, "keyrot has no record of deactivating a "+plan.ServiceShort(a.Service)+" credential of "+a.User)
	}
	// A rollback record at or after the deactivation with the credential
	// still inactive is a rollback that did not finish (its record is
	// written first): this one finishes it.
	a.KeyID = tags.DeactivatedID
	live, err := listCreds(ctx, si, a.User, a.Service)
	if err != nil {
		return listFailed(a, err)
	}
	k := findCred(live, tags.DeactivatedID)
	switch {
	case k == nil:
		return outcomeOf(a, Skipped, "credential "+inventory.MaskKeyID(tags.DeactivatedID)+" no longer exists: it cannot be re-activated")
	case k.Status == inventory.KeyActive:
		return outcomeOf(a, Skipped, "credential "+inventory.MaskKeyID(k.ID)+" is already active")
	case k.Status != inventory.KeyInactive:
		return outcomeOf(a, Blocked, "credential "+inventory.MaskKeyID(k.ID)+" is "+string(k.Status)+": it cannot be re-activated")
	}
	j, err := r.begin(ctx, a, "reactivate-service-credential", k.ID)
	if err != nil {
		return failed(a, err)
	}
	// The rollback is recorded before the credential is re-activated: a
	// re-activation without its record would be undone by the next apply.
	if err := st.TagServiceRecord(ctx, tags.ARN, secretstore.TagServiceRolledBack, secretstore.IDMark(k.ID, r.e.now())); err != nil {
		err = fmt.Errorf("nothing re-activated: the rollback could not be recorded: %w", err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if _, err := si.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String(a.User),
		ServiceSpecificCredentialId: aws.String(k.ID), Status: types.StatusTypeActive}); err != nil {
		err = fmt.Errorf("re-activate %s credential %s of %s: %w", plan.ServiceShort(a.Service), inventory.MaskKeyID(k.ID), a.User, err)
		// The record goes back as it was: no rollback happened.
		var rerr error
		if tags.RolledBackID == "" {
			rerr = st.UntagServiceRecord(ctx, tags.ARN, secretstore.TagServiceRolledBack)
		} else {
			rerr = st.TagServiceRecord(ctx, tags.ARN, secretstore.TagServiceRolledBack, secretstore.IDMark(tags.RolledBackID, tags.RolledBackAt))
		}
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore the secret's %s tag by hand: %w", secretstore.TagServiceRolledBack, rerr))
		}
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", "")
	return outcomeOf(a, Succeeded, plan.ServiceShort(a.Service)+" credential "+inventory.MaskKeyID(k.ID)+" re-activated; keyrot leaves it active until a person decides")
}
