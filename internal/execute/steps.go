package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// usageMargin is IAM's last-used reporting granularity: a use just after a
// moment may be reported up to this much before it.
const usageMargin = 15 * time.Minute

type createOpts struct {
	expect      []plan.KeyState
	checkExpect bool
	// readersOnly stores the secret readable by the readers only (compromised rotation).
	readersOnly bool
	// manual is a rotation a person asked for (RotateNow): the replaced
	// key's age is not checked, and it may already be gone.
	manual bool
	// deliverWait, when positive, bounds the delivery to the destinations
	// in all (an emergency rotation does not wait on a consumer that is down).
	deliverWait time.Duration
}

// createKey creates a new key for the user, stores it, clears the pending
// tag and verifies the key. See docs/rotation.md for the step order.
func (r *runner) createKey(ctx context.Context, a plan.Action, co createOpts) Outcome {
	e := r.e
	c, err := e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	store, err := e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-list-keys"); err != nil {
		return failed(a, err)
	}
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		return listFailed(a, err)
	}
	if co.checkExpect && !sameKeys(live, co.expect) {
		return outcomeOf(a, Skipped, fmt.Sprintf("state changed since plan: keys are %s, plan expected %s", keysText(live), expectText(co.expect)))
	}
	if len(live) >= 2 {
		return outcomeOf(a, Blocked, "user already has two access keys (IAM's quota, inactive keys included); one must be deleted first")
	}
	if !co.manual {
		if o := r.gateCreate(a, live); o != nil {
			return *o
		}
	}
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	now := e.now()
	if age := now.Sub(tags.PendingSince); !tags.PendingSince.IsZero() && tags.PendingOwner != tagSafe(e.owner()) && age < e.leaseTTL() && age > -plan.ClockAllowance {
		return outcomeOf(a, Skipped, fmt.Sprintf("another keyrot run (%s) started creating a key for this user at %s", tags.PendingOwner, tags.PendingSince.Format(time.RFC3339)))
	}
	if !tags.Keys[TagPending] && tags.Count >= MaxUserTags {
		return outcomeOf(a, Blocked, tagQuotaProblem(a.User, TagPending, "a key creation in progress"))
	}
	nd := nameData(a)
	secretName, err := store.Name(nd)
	if err == nil {
		err = validSecretName(secretName)
	}
	if err != nil {
		return outcomeOf(a, Blocked, fmt.Sprintf("no valid secret name for this user (%v): keyrot has nowhere to store a new key; change the secret name template (rotation.secret_name), or rotate this user by hand", err))
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	arn := a.UserARN
	if arn == "" {
		if arn, err = userARN(ctx, c, a.User); err != nil {
			return listFailed(a, err)
		}
	}
	// The world the store will be checked against: the secret's current
	// version now (none is fine), and the replaced key's last use just
	// before the creation (journaled: the usage gate's evidence).
	before, err := r.stageRestoring(ctx, a, store, secretName, "AWSCURRENT")
	if err != nil && !errors.Is(err, secretstore.ErrNoVersion) {
		return failed(a, fmt.Errorf("no key created for %s: %w", a.User, err))
	}
	a = withReplacedLastUse(ctx, c, a, live)

	var beforeIDs []string
	for _, k := range live {
		beforeIDs = append(beforeIDs, k.ID)
	}
	mark := pendingValue(now, e.owner(), beforeIDs)
	if err := r.step("before-tag-pending"); err != nil {
		return failed(a, err)
	}
	if err := tagUser(ctx, c, a.User, TagPending, mark); err != nil {
		if isTagQuota(err) {
			return outcomeOf(a, Blocked, tagQuotaProblem(a.User, TagPending, "a key creation in progress"))
		}
		return failed(a, err)
	}
	if err := r.step("after-tag-pending"); err != nil {
		return failed(a, err)
	}
	j, err := r.begin(ctx, a, history.KindCreateKey, a.KeyID)
	if err != nil {
		_ = untagIfMark(ctx, c, a.User, mark)
		return failed(a, err)
	}
	if err := r.step("before-create"); err != nil {
		return failed(a, err)
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(a.User)})
	if err != nil {
		// The key may have been created with its reply lost (the SDK's retry
		// then meets the quota): if the user's keys changed, the pending tag
		// stays and marks the new key as an orphan for a later run. If they
		// did not, nothing was created and the tag goes, so that it does not
		// mark a key a person creates next as an orphan.
		err = fmt.Errorf("create access key for %s: %w", a.User, err)
		if after, lerr := listKeys(ctx, c, a.User); lerr == nil && sameKeyIDs(after, live) {
			if uerr := untagIfMark(ctx, c, a.User, mark); uerr != nil {
				e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", uerr)
			}
			if isPolicyDenied(err) {
				// A policy refused the creation (an SCP, or keyrot's own
				// permissions, which the run's report tells apart): nothing
				// changed for this user, and a retry would be refused again
				// until a person changes the policy. The user is blocked,
				// with AWS's reason. A refused token (keyrot's own session
				// expired) is not a policy: the creation failed.
				j.end(ctx, Blocked, err.Error(), "")
				return outcomeOf(a, Blocked, fmt.Sprintf("AWS denied the new key, nothing was changed for %s: %v", a.User, errors.Unwrap(err)))
			}
		} else {
			err = fmt.Errorf("%w (a key may have been created: it stays marked pending, as an orphan for a later run)", err)
		}
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	newID := aws.ToString(out.AccessKey.AccessKeyId)
	secret := secretstore.NewSecret(aws.ToString(out.AccessKey.SecretAccessKey))
	created := aws.ToTime(out.AccessKey.CreateDate)
	if err := r.step("after-create"); err != nil {
		return failed(a, err)
	}

	storedAt := e.now()
	// Before the store's first write and again just before PutSecretValue,
	// the world must still be as this creation left it: a run frozen for
	// longer than the orphan grace may find its key deleted as an orphan and
	// a newer key stored by another run, which it must never demote.
	check := func(step string) error {
		if err := r.step(step); err != nil {
			return err
		}
		if step != "store-describe" && step != "store-put-value" {
			return nil
		}
		return r.stillCreating(ctx, c, store, a.User, secretName, newID, mark, before.VersionID)
	}
	stored, err := store.Put(ctx, secretstore.Entry{
		Name: nd, UserARN: arn, StoredAt: storedAt, ReadersOnly: co.readersOnly, Step: check,
		Value: secretstore.Value{AccessKeyID: newID, SecretAccessKey: secret, UserName: a.User, AccountID: a.AccountID, CreateDate: created},
	})
	if isCrash(err) {
		return failed(a, err)
	}
	var sup *supersededError
	if errors.As(err, &sup) {
		return r.abandon(ctx, a, c, j, newID, mark, sup)
	}
	if err != nil {
		var stop *Outcome
		if stored, stop = r.afterStoreError(ctx, a, c, store, j, newID, mark, storedAt, err); stop != nil {
			return *stop
		}
	}
	if err := r.step("after-store"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, newID, history.EventCreated, created, "", "")
	r.event(ctx, a.AccountID, a.User, newID, history.EventStored, storedAt, stored.ARN, stored.VersionID)

	if err := r.step("before-untag"); err != nil {
		return failed(a, err)
	}
	if err := untagIfMark(ctx, c, a.User, mark); err != nil {
		// Harmless: the stored key is not an orphan, and the next gathering
		// removes a pending tag older than the stored key.
		e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", err)
	}
	if err := r.step("after-untag"); err != nil {
		return failed(a, err)
	}

	o := outcomeOf(a, Succeeded, "new key "+inventory.MaskKeyID(newID)+" created, stored and verified")
	o.NewKeyID, o.SecretARN, o.SecretName = newID, stored.ARN, stored.Name
	o.FetchCommand = secretstore.FetchCommand(stored.ARN, store.Config().Region)
	if err := r.step("before-verify"); err != nil {
		return failed(a, err)
	}
	if err := r.verifyKey(ctx, a.AccountID, newID, secret, arn); err != nil {
		// The key is stored; the old key stays active. The deactivation gate
		// verifies again before anything depends on the new key.
		err = fmt.Errorf("new key %s of %s stored but not verified: %w", inventory.MaskKeyID(newID), a.User, err)
		j.end(ctx, Failed, err.Error(), newID)
		o.Status, o.Detail, o.Err = Failed, err.Error(), err
		return o
	}
	if err := r.step("after-verify"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, newID, history.EventVerified, e.now(), "", "")
	// Only now, the key verified, does it go to its destinations.
	o, ok := r.deliverNew(ctx, a, c, tags, newID, o, co.deliverWait)
	if !ok {
		return o // crashed: nothing more is written
	}
	j.end(ctx, Succeeded, "", newID)
	return o
}

// stageRestoring reads a stage of the user's secret before keyrot writes
// to it. AWS refuses to read a secret scheduled for deletion (someone
// deleted keyrot's secret by hand); the store would restore it anyway when
// it writes the new key, so it is restored first, and the rotation is
// checked against the secret's real current version. A dry run restores
// nothing and sees no version.
func (r *runner) stageRestoring(ctx context.Context, a plan.Action, store KeyStore, name, stage string) (secretstore.Version, error) {
	v, err := store.Stage(ctx, name, stage)
	if !errors.Is(err, secretstore.ErrMarkedForDeletion) {
		return v, err
	}
	if r.o.DryRun || r.o.AuditOnly {
		// Changes nothing: the real run restores the secret first.
		return v, fmt.Errorf("%w: %w (a run restores it)", secretstore.ErrNoVersion, err)
	}
	r.e.log().Warn("restore secret scheduled for deletion", "account", a.AccountID, "user", a.User, "secret", name)
	if err := store.Restore(ctx, name); err != nil {
		return v, err
	}
	return store.Stage(ctx, name, stage)
}

// deliverNew delivers a new key, just verified, to every destination of
// the user, and adds the deliveries to o. A destination that fails does
// not fail the creation: the old key stays active until every destination
// holds the new one (deactivate delivers again first). wait, when
// positive, bounds the whole delivery (an emergency rotation), the
// destinations worked on at once. It returns false with the outcome to
// return when the run crashed or the targets could not be read.
func (r *runner) deliverNew(ctx context.Context, a plan.Action, c IAM, tags userTags, newID string, o Outcome, wait time.Duration) (Outcome, bool) {
	dctx, do := ctx, deliverOpts{mode: writeAll, replacedLastUse: a.Evidence[evReplacedLastUse]}
	if wait > 0 {
		// The bound covers opening the destinations too (tokens read from
		// a store, roles assumed): none of it may hold the key's cut-off.
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
		do.parallel = true
	}
	targets, err := r.destinationsOf(dctx, a, c, tags)
	if err != nil {
		o.Detail += "; not delivered: " + redact(err)
		return o, true
	}
	ds, err := r.deliverKey(dctx, a, c, targets, newID, do)
	o.Deliveries = ds
	switch {
	case isCrash(err):
		f := failed(a, err)
		return f, false
	case err != nil:
		o.Detail += "; not delivered: " + redact(err)
	default:
		o.Detail += deliveredSummary(ds)
	}
	return o, true
}

// afterStoreError decides what a failed store means before anything is
// deleted: the failing call may have come after PutSecretValue (TagResource),
// or PutSecretValue may have succeeded with its reply lost. It reads the
// secret's AWSCURRENT: if it holds the new key, the key is stored and must
// be kept (an application following its secret switches to it), so the
// store's tags are finished and the creation goes on; if the tags cannot be
// written, the key is kept with its pending tag for the next gathering to
// repair. If AWSCURRENT holds another key or nothing, the new key is
// compensated (deleted). If it cannot be read, the key is kept, marked by
// the pending tag: orphan deletion re-reads the secret before deleting.
func (r *runner) afterStoreError(ctx context.Context, a plan.Action, c IAM, store KeyStore, j *journal,
	newID, mark string, storedAt time.Time, storeErr error) (secretstore.Stored, *Outcome) {
	stop := func(o Outcome) (secretstore.Stored, *Outcome) { return secretstore.Stored{}, &o }
	nd := nameData(a)
	name, err := store.Name(nd)
	if err != nil {
		return stop(r.compensate(ctx, a, c, j, newID, mark, storeErr))
	}
	if err := r.step("before-read-secret"); err != nil {
		return stop(failed(a, err))
	}
	v, err := store.Stage(ctx, name, "AWSCURRENT")
	switch {
	case err == nil && v.Value.AccessKeyID == newID:
		if terr := store.Retag(ctx, v.ARN, nd, newID, storedAt); terr != nil {
			err := fmt.Errorf("new key %s of %s is stored as the secret's AWSCURRENT but its tags are not (kept; the next run repairs them): %w",
				inventory.MaskKeyID(newID), a.User, errors.Join(storeErr, terr))
			j.end(ctx, Failed, err.Error(), newID)
			o := failed(a, err)
			// The key is the secret's current value: its owner must hear of
			// it (the old key's deactivation is still gated on proving it).
			o.NewKeyID, o.SecretARN, o.SecretName = newID, v.ARN, v.Name
			o.FetchCommand = secretstore.FetchCommand(v.ARN, store.Config().Region)
			return stop(o)
		}
		r.e.log().Warn("store reported an error but the key is stored; tags repaired", "account", a.AccountID, "user", a.User,
			"key", inventory.MaskKeyID(newID), "err", storeErr)
		return secretstore.Stored{ARN: v.ARN, Name: v.Name, VersionID: v.VersionID}, nil
	case err == nil || errors.Is(err, secretstore.ErrNoVersion):
		return stop(r.compensate(ctx, a, c, j, newID, mark, storeErr))
	default:
		err := fmt.Errorf("store new key %s of %s: %w; whether it was stored is unknown (%w): the key is kept, marked pending, for a later run",
			inventory.MaskKeyID(newID), a.User, storeErr, err)
		j.end(ctx, Failed, err.Error(), newID)
		return stop(failed(a, err))
	}
}

// compensate deletes a new key whose secret could not be stored: nobody
// holds its secret, so it is useless. If that fails too, the pending tag
// leaves it detectable as an orphan.
func (r *runner) compensate(ctx context.Context, a plan.Action, c IAM, j *journal, newID, mark string, storeErr error) Outcome {
	err := fmt.Errorf("store new key %s of %s: %w", inventory.MaskKeyID(newID), a.User, storeErr)
	if cerr := r.step("before-compensate"); cerr != nil {
		return failed(a, cerr)
	}
	if _, derr := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(a.User), AccessKeyId: aws.String(newID)}); derr != nil {
		err = errors.Join(err, fmt.Errorf("delete unstored key %s (left as an orphan for a later run): %w", inventory.MaskKeyID(newID), derr))
		j.end(ctx, Failed, err.Error(), newID)
		return failed(a, err)
	}
	if cerr := r.step("after-compensate"); cerr != nil {
		return failed(a, cerr)
	}
	r.event(ctx, a.AccountID, a.User, newID, history.EventDeleted, r.e.now(), "", "")
	if uerr := untagIfMark(ctx, c, a.User, mark); uerr != nil {
		r.e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", uerr)
	}
	err = fmt.Errorf("%w (new key deleted again; old key untouched)", err)
	j.end(ctx, Failed, err.Error(), "")
	return failed(a, err)
}

// checkLive reads the user's keys and checks them against the plan.
// It returns a non-nil outcome when the action must not go on.
func (r *runner) checkLive(ctx context.Context, a plan.Action, c IAM, expect []plan.KeyState) ([]liveKey, *Outcome) {
	if err := r.step("before-list-keys"); err != nil {
		o := failed(a, err)
		return nil, &o
	}
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		o := listFailed(a, err)
		return nil, &o
	}
	if !sameKeys(live, expect) {
		o := outcomeOf(a, Skipped, fmt.Sprintf("state changed since plan: keys are %s, plan expected %s", keysText(live), expectText(expect)))
		return nil, &o
	}
	k := findKey(live, a.KeyID)
	if k == nil {
		o := outcomeOf(a, Skipped, "key no longer exists")
		return nil, &o
	}
	if a.Gate.RequireStatus != "" && k.Status != a.Gate.RequireStatus {
		o := outcomeOf(a, Skipped, fmt.Sprintf("key is %s, not %s", k.Status, a.Gate.RequireStatus))
		return nil, &o
	}
	return live, nil
}

// readTags reads keyrot's user tags live.
func (r *runner) readTags(ctx context.Context, a plan.Action, c IAM) (userTags, *Outcome) {
	if err := r.step("before-list-tags"); err != nil {
		o := failed(a, err)
		return userTags{}, &o
	}
	tags, err := readUserTags(ctx, c, a.User)
	if err != nil {
		o := failed(a, err)
		return userTags{}, &o
	}
	return tags, nil
}

// gateCreate checks a scheduled create-key against keyrot's rules: it
// replaces an active key of the user at least Rules.RotateAfter old. (The
// two-key quota and another run's pending creation are checked by
// createKey for manual rotations too.)
func (r *runner) gateCreate(a plan.Action, live []liveKey) *Outcome {
	block := func(why string) *Outcome {
		o := outcomeOf(a, Blocked, why)
		return &o
	}
	if a.KeyID == "" {
		return block("a create-key replaces a key of the user and this one names none: keyrot does not give a user a key it did not have")
	}
	k := findKey(live, a.KeyID)
	if k == nil {
		return block("key " + inventory.MaskKeyID(a.KeyID) + " to replace is not a key of the user")
	}
	if k.Status != inventory.KeyActive {
		return block("key " + inventory.MaskKeyID(k.ID) + " is " + string(k.Status) + ": keyrot replaces active keys only")
	}
	if rules := r.e.rules(); r.tooEarly(k.Created.Add(rules.RotateAfter)) {
		return block(fmt.Sprintf("key %s is %s: keyrot replaces a key at %s (rotate_after); not before %s",
			inventory.MaskKeyID(k.ID), keyAge(*k, r.e.now()), fmtDays(rules.RotateAfter), ymd(k.Created.Add(rules.RotateAfter))))
	}
	return nil
}

// rolledBack blocks the action when the user's keyrot:rolled-back tag (read
// live) says the key was re-activated by rollback at or after the gate's
// date: the plan was made before the rollback (a saved plan applied later),
// and acting on it would undo the rollback. Plans made after a rollback
// have later gates; the gates' own checks hold a rolled-back key whatever
// the plan's date.
func (r *runner) rolledBack(a plan.Action, tags userTags, notWhat string) *Outcome {
	if tags.RolledKey != a.KeyID || tags.RolledAt.Before(a.Gate.UnusedSince) {
		return nil
	}
	o := outcomeOf(a, Blocked, fmt.Sprintf("key was re-activated by rollback on %s, after this plan was made; not %s",
		tags.RolledAt.UTC().Format(time.RFC3339), notWhat))
	return &o
}

func blockedInUse(a plan.Action, lu lastUse, detail string) Outcome {
	o := outcomeOf(a, Blocked, fmt.Sprintf("%s: last used %s by %s in %s", detail, lu.At.UTC().Format(time.RFC3339), orNA(lu.Service), orNA(lu.Region)))
	o.LastUsed, o.LastUsedService, o.LastUsedRegion = lu.At, lu.Service, lu.Region
	return o
}

func orNA(s string) string {
	if s == "" {
		return "an unknown service"
	}
	return s
}

// deactivate deactivates an active key after its gates pass, checked live
// whatever the plan says: unchanged keys; and either, for a rotation
// (Evidence["new_key"]), gateReplaced, or, for a key with no replacement,
// gateUnused. The plan chooses which gate applies, never how strict it is.
func (r *runner) deactivate(ctx context.Context, a plan.Action, expect []plan.KeyState) Outcome {
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	live, stop := r.checkLive(ctx, a, c, expect)
	if stop != nil {
		return *stop
	}
	k := *findKey(live, a.KeyID)
	if k.Status != inventory.KeyActive {
		return outcomeOf(a, Skipped, "key is already "+string(k.Status))
	}
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	if o := r.rolledBack(a, tags, "deactivated again by keyrot: after a rollback a person decides"); o != nil {
		return *o
	}
	var ds []Delivery
	if newKey := a.Evidence["new_key"]; newKey != "" {
		if ds, stop = r.deliverBeforeDeactivate(ctx, a, c, live, tags, newKey); stop != nil {
			return *stop
		}
	}
	if err := r.step("before-last-used"); err != nil {
		return failed(a, err)
	}
	lu, err := lastUsed(ctx, c, a.KeyID)
	if err != nil {
		return failed(a, fmt.Errorf("not deactivated: %w", err))
	}
	if newKey := a.Evidence["new_key"]; newKey != "" {
		stop = r.gateReplaced(ctx, a, live, k, tags, lu, newKey)
	} else {
		stop = r.gateUnused(a, live, k, tags, lu)
	}
	if stop != nil {
		stop.Deliveries = ds
		return *stop
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo, o.Deliveries = true, ds
		return o
	}
	j, err := r.begin(ctx, a, history.KindDeactivateKey, a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	recheck := func() error { return r.stillDeactivatable(ctx, a, c) }
	if err := r.deactivateWith(ctx, a.AccountID, a.User, c, a.KeyID, recheck); err != nil {
		var ch *changedError
		if errors.As(err, &ch) {
			j.end(ctx, Blocked, ch.why, "")
			return outcomeOf(a, Blocked, "not deactivated: "+ch.why)
		}
		if !isCrash(err) {
			j.end(ctx, Failed, err.Error(), "")
		}
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", "")
	o := outcomeOf(a, Succeeded, "key "+inventory.MaskKeyID(a.KeyID)+" deactivated")
	if len(ds) > 0 {
		o.Deliveries = ds
		o.Detail += fmt.Sprintf(" after its replacement was confirmed at every destination (%d)", len(ds))
	}
	return o
}

// deliverBeforeDeactivate is the delivery gate of a rotation's old key:
// every destination resolved for the user now must hold newKey, read back
// live. It first proves newKey (the secret's AWSCURRENT, an active key of
// the user, authenticating: nothing unverified is delivered), then
// delivers it to each destination that does not hold it (in audit-only
// runs it only reads them). When newKey cannot be proven it leaves the
// verdict to gateReplaced. A destination that does not hold newKey blocks
// the deactivation with its error; the next run delivers again.
func (r *runner) deliverBeforeDeactivate(ctx context.Context, a plan.Action, c IAM, live []liveKey, tags userTags, newKey string) ([]Delivery, *Outcome) {
	targets, err := r.destinationsOf(ctx, a, c, tags)
	if err != nil {
		o := failed(a, fmt.Errorf("not deactivated: %w", err))
		return nil, &o
	}
	if len(targets) == 0 {
		return nil, nil
	}
	cur, o := r.currentHolds(ctx, a, newKey)
	if o != nil {
		if o.Status == Failed {
			return nil, o
		}
		return nil, nil
	}
	if o := r.proveNewKey(ctx, a, live, newKey, cur); o != nil {
		if o.Status == Failed {
			return nil, o
		}
		return nil, nil
	}
	do := deliverOpts{mode: writeMissing}
	if r.o.AuditOnly {
		do.mode = readOnly
	} else {
		if err := r.step("before-last-used"); err != nil {
			o := failed(a, err)
			return nil, &o
		}
		lu, err := lastUsed(ctx, c, a.KeyID)
		if err != nil {
			o := failed(a, fmt.Errorf("not deactivated: %w", err))
			return nil, &o
		}
		do.replacedLastUse = lastUseText(lu)
	}
	ds, err := r.deliverKey(ctx, a, c, targets, newKey, do)
	var nd *errNotDeliverable
	switch {
	case isCrash(err):
		o := failed(a, err)
		return ds, &o
	case errors.As(err, &nd):
		// It changed since it was proven: not deactivated on its account.
		o := outcomeOf(a, Blocked, "new key "+inventory.MaskKeyID(newKey)+" not proven: "+nd.why)
		return nil, &o
	case err != nil:
		o := failed(a, fmt.Errorf("not deactivated: %w", err))
		return ds, &o
	}
	if bad := undelivered(ds); len(bad) > 0 {
		o := outcomeOf(a, Blocked, fmt.Sprintf("waiting for delivery: new key %s is not at every destination of %s yet, so %s stays active: %s; keyrot delivers again on its next run",
			inventory.MaskKeyID(newKey), a.User, inventory.MaskKeyID(a.KeyID), deliveryText(bad)))
		o.Deliveries = ds
		return ds, &o
	}
	var now []string
	for _, d := range ds {
		if d.Written {
			now = append(now, d.Destination)
		}
	}
	if len(now) > 0 {
		o := outcomeOf(a, Blocked, fmt.Sprintf("new key %s delivered just now to %s: %s stays active until a later run finds it unused since then, so that their consumers can switch",
			inventory.MaskKeyID(newKey), strings.Join(now, ", "), inventory.MaskKeyID(a.KeyID)))
		o.Deliveries = ds
		return ds, &o
	}
	return ds, nil
}

// changedError says the world changed between an action's gates and its
// write: the write is not made.
type changedError struct{ why string }

func (e *changedError) Error() string { return e.why }

// stillDeactivatable re-checks, just before UpdateAccessKey, what the
// deactivation's gates found (their reads, the new key's verification
// above all, take time): the key is still active and, for a rotation's
// replaced key, its replacement is still an active key of the user held
// by the secret's AWSCURRENT. Deactivating the old key after its
// replacement was deactivated, deleted or superseded would leave the user
// without the key its applications move to.
func (r *runner) stillDeactivatable(ctx context.Context, a plan.Action, c IAM) error {
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		return fmt.Errorf("re-check before deactivating: %w", err)
	}
	if k := findKey(live, a.KeyID); k == nil || k.Status != inventory.KeyActive {
		return &changedError{"key " + inventory.MaskKeyID(a.KeyID) + " changed since its gates were checked: keys are now " + keysText(live)}
	}
	newKey := a.Evidence["new_key"]
	if newKey == "" {
		return nil
	}
	if k := findKey(live, newKey); k == nil || k.Status != inventory.KeyActive {
		return &changedError{"its replacement " + inventory.MaskKeyID(newKey) + " is no longer an active key of the user (keys are now " + keysText(live) + ")"}
	}
	if _, o := r.currentHolds(ctx, a, newKey); o != nil {
		return &changedError{o.Detail}
	}
	return nil
}

// gateReplaced checks the deactivation of k as the key a rotation
// replaced: newKey is the secret's AWSCURRENT (read live), an active key
// of the user created after k; k is at least Rules.DeactivateAfter old and
// the replacement was stored at least Rules.SwitchWindow ago; k was not
// re-activated by rollback since the store; k is unused since the store
// (allowing IAM's 15-minute granularity), whatever the new key's use; and
// newKey authenticates as the user. The store's date is the secret version's
// creation (AWS's clock); a plan's date may only make the gate stricter.
func (r *runner) gateReplaced(ctx context.Context, a plan.Action, live []liveKey, k liveKey, tags userTags, lu lastUse, newKey string) *Outcome {
	block := func(why string) *Outcome {
		o := outcomeOf(a, Blocked, why)
		return &o
	}
	mk, mn := inventory.MaskKeyID(k.ID), inventory.MaskKeyID(newKey)
	if newKey == k.ID {
		return block("the plan names key " + mk + " as its own replacement")
	}
	cur, o := r.currentHolds(ctx, a, newKey)
	if o != nil {
		return o
	}
	nk := findKey(live, newKey)
	if nk == nil || nk.Status != inventory.KeyActive {
		return block("new key " + mn + " not proven: it is not an active key of the user")
	}
	if nk.Created.Before(k.Created) {
		return block(fmt.Sprintf("key %s was created on %s, after the new key %s: it is not the key the rotation replaced", mk, ymd(k.Created), mn))
	}
	// The earliest date of the store bounds the usage gate, the latest the window.
	early, late := cur.Created, cur.Created
	if g := a.Gate.UnusedSince; !g.IsZero() {
		if early.IsZero() || g.Before(early) {
			early = g
		}
		late = later(late, g)
	}
	if early.IsZero() {
		return block("new key " + mn + " not proven: when it was stored is unknown")
	}
	// A destination written after the store: its consumers could switch
	// only then, so the usage gate counts from that write.
	lw := r.latestWrite(ctx, a, newKey)
	since, sinceWhat := early, "its replacement "+mn+" was stored on "+early.UTC().Format(time.RFC3339)
	if lw.at.After(early) {
		since, sinceWhat = lw.at, "its replacement "+mn+" was last delivered to a destination on "+lw.at.UTC().Format(time.RFC3339)
	}
	if tags.RolledKey == k.ID && !tags.RolledAt.Before(early) {
		return block(fmt.Sprintf("key was re-activated by rollback on %s, after its replacement %s was stored: keyrot leaves it active, a person decides",
			tags.RolledAt.UTC().Format(time.RFC3339), mn))
	}
	rules := r.e.rules()
	if due := later(k.Created.Add(rules.DeactivateAfter), late.Add(rules.SwitchWindow)); r.tooEarly(due) {
		return block(fmt.Sprintf("replaced key %s: deactivation not before %s (at least %s old, and %s after its replacement %s was stored on %s, for its owners to switch)",
			mk, ymd(due), fmtDays(rules.DeactivateAfter), fmtDays(rules.SwitchWindow), mn, ymd(late)))
	}
	// A destination written well after the store (it failed, or was added
	// since) gets the same window from its write: its consumers could not
	// switch before.
	if lw.at.After(late.Add(plan.ClockAllowance)) {
		if due := lw.at.Add(rules.SwitchWindow); r.tooEarly(due) {
			return block(fmt.Sprintf("replaced key %s: deactivation not before %s (%s after its replacement %s was last delivered to a destination, on %s, for that destination's consumers to switch)",
				mk, ymd(due), fmtDays(rules.SwitchWindow), mn, ymd(lw.at)))
		}
	}
	// The usage gate: the old key has not been used since its replacement
	// was stored. A use reported within IAM's granularity of the store may
	// be after it. Whatever the new key's use says, another application may
	// still depend on the old key (two consumers sharing it, one switched).
	if lu.At != nil && !lu.At.Before(since.Add(-usageMargin)) && !r.sameUseAsBefore(ctx, a, k.ID, *lu.At, since, lw) {
		o := blockedInUse(a, lu, "still in use after "+sinceWhat)
		o.Detail += "; keyrot deactivates it only once nothing has used it since the store: move every application that uses it to the new key (its secret), or deactivate it by hand"
		return &o
	}
	return r.proveNewKey(ctx, a, live, newKey, cur)
}

// sameUseAsBefore reports whether the key's last use at is the one keyrot
// read just before the moment the usage gate counts from: the latest
// write to a destination when that is it, else the store.
func (r *runner) sameUseAsBefore(ctx context.Context, a plan.Action, keyID string, at, since time.Time, lw lastWrite) bool {
	if !lw.at.IsZero() && since.Equal(lw.at) {
		return sameUse(lw.replacedLastUse, at)
	}
	return r.sameUseAsAtStore(ctx, a, keyID, at)
}

// sameUseAsAtStore reports whether the key's last use at is the one keyrot
// read live just before it created and stored the key's replacement (the
// create-key journal's evidence): then the key has not been used since the
// store, although IAM's granularity puts that use within a margin of it.
// Without that record (another history database) it is false: the gate
// stays conservative.
func (r *runner) sameUseAsAtStore(ctx context.Context, a plan.Action, keyID string, at time.Time) bool {
	if r.e.History == nil {
		return false
	}
	acts, err := r.e.History.ActionsFor(ctx, a.AccountID, a.User)
	if err != nil {
		r.e.log().Warn("read journal", "account", a.AccountID, "user", a.User, "err", err)
		return false
	}
	var last *history.Action
	for i := range acts {
		x := &acts[i]
		if x.Kind == history.KindCreateKey && x.KeyID == keyID && x.Evidence != "" && (last == nil || x.Started.After(last.Started)) {
			last = x
		}
	}
	if last == nil {
		return false
	}
	var ev plan.Evidence // numbers and booleans are written as such
	if err := json.Unmarshal([]byte(last.Evidence), &ev); err != nil {
		return false
	}
	seen, err := time.Parse(time.RFC3339Nano, ev[evReplacedLastUse])
	return err == nil && seen.Sub(at).Abs() < time.Second
}

// gateUnused checks the deactivation of k with no replacement: keyrot's
// unused rule, read live. k must have gone Rules.UnusedAfter without use
// (a never-used key counts from its creation, a rolled-back key from its
// rollback), and not have been used since the plan's gate date. This is
// also what keeps a user's only active key: a key in use is deactivated
// only through a rotation (gateReplaced), once its replacement is proven.
func (r *runner) gateUnused(a plan.Action, live []liveKey, k liveKey, tags userTags, lu lastUse) *Outcome {
	rules := r.e.rules()
	idle, idleWhat := k.Created, "created "+ymd(k.Created)+" and never used"
	if lu.At != nil {
		idle, idleWhat = *lu.At, "last used "+ymd(*lu.At)
	}
	if tags.RolledKey == k.ID && tags.RolledAt.After(idle) {
		idle, idleWhat = tags.RolledAt, "re-activated by rollback on "+ymd(tags.RolledAt)
	}
	usedSincePlan := !a.Gate.UnusedSince.IsZero() && lu.At != nil && !lu.At.Before(a.Gate.UnusedSince)
	if !usedSincePlan && !r.tooEarly(idle.Add(rules.UnusedAfter)) {
		return nil
	}
	why := "no newer key keyrot created and stored replaces it, and keyrot deactivates such a key only after " + fmtDays(rules.UnusedAfter) + " without use"
	only := true
	for _, l := range live {
		if l.ID != k.ID && l.Status == inventory.KeyActive {
			only = false
		}
	}
	if only {
		why = "it is the user's only active key, " + why
	}
	if lu.At != nil && (usedSincePlan || idle.Equal(*lu.At)) {
		o := blockedInUse(a, lu, "still in use")
		o.Detail += "; " + why
		return &o
	}
	o := outcomeOf(a, Blocked, "not unused long enough: "+idleWhat+"; "+why)
	return &o
}

// deactivateNow sets the key inactive and records when.
func (r *runner) deactivateNow(ctx context.Context, acct, user string, c IAM, keyID string) error {
	return r.deactivateWith(ctx, acct, user, c, keyID, nil)
}

// deactivateWith is deactivateNow with recheck, if set, called just before
// UpdateAccessKey: an error it returns stops the deactivation.
func (r *runner) deactivateWith(ctx context.Context, acct, user string, c IAM, keyID string, recheck func() error) error {
	if err := r.step("before-deactivate"); err != nil {
		return err
	}
	if recheck != nil {
		if err := recheck(); err != nil {
			return err
		}
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(keyID), Status: types.StatusTypeInactive}); err != nil {
		return fmt.Errorf("deactivate key %s of %s: %w", inventory.MaskKeyID(keyID), user, err)
	}
	at := r.e.now()
	if err := r.step("after-deactivate"); err != nil {
		return err
	}
	r.event(ctx, acct, user, keyID, history.EventDeactivated, at, "", "")
	if err := tagUser(ctx, c, user, TagDeactivated, deactivatedValue(keyID, at, OriginKeyrot)); err != nil {
		// The next gathering records the key as seen inactive instead.
		r.e.log().Warn("tag deactivation", "account", acct, "user", user, "err", err)
	}
	return r.step("after-tag-deactivated")
}

// currentHolds reads the user's secret's AWSCURRENT and checks it holds
// newKey; otherwise the returned outcome blocks the action.
func (r *runner) currentHolds(ctx context.Context, a plan.Action, newKey string) (secretstore.Version, *Outcome) {
	block := func(why string) (secretstore.Version, *Outcome) {
		o := outcomeOf(a, Blocked, "new key "+inventory.MaskKeyID(newKey)+" not proven: "+why)
		return secretstore.Version{}, &o
	}
	fail := func(err error) (secretstore.Version, *Outcome) {
		o := failed(a, err)
		return secretstore.Version{}, &o
	}
	store, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return fail(err)
	}
	name, err := store.Name(nameData(a))
	if err != nil {
		return fail(err)
	}
	if err := r.step("before-read-secret"); err != nil {
		return fail(err)
	}
	v, err := store.Stage(ctx, name, "AWSCURRENT")
	if err != nil {
		return block(err.Error())
	}
	if v.Value.AccessKeyID != newKey {
		return block("the secret's AWSCURRENT holds " + inventory.MaskKeyID(v.Value.AccessKeyID))
	}
	return v, nil
}

// proveNewKey checks that newKey, held by the secret's AWSCURRENT version
// cur, is an active key of the user and authenticates as the user.
func (r *runner) proveNewKey(ctx context.Context, a plan.Action, live []liveKey, newKey string, cur secretstore.Version) *Outcome {
	block := func(why string) *Outcome {
		o := outcomeOf(a, Blocked, "new key "+inventory.MaskKeyID(newKey)+" not proven: "+why)
		return &o
	}
	if k := findKey(live, newKey); k == nil || k.Status != inventory.KeyActive {
		return block("it is not an active key of the user")
	}
	if err := r.step("before-verify"); err != nil {
		o := failed(a, err)
		return &o
	}
	if err := r.verifyKey(ctx, a.AccountID, newKey, cur.Value.SecretAccessKey, a.UserARN); err != nil {
		return block(err.Error())
	}
	return nil
}

// deleteKey deletes an inactive key, checked live whatever the plan says:
// keyrot has a record that it deactivated the key or first saw it inactive
// (deactivationRecord), not undone by a rollback; the key was not used
// after that record; and it is at least Rules.DeleteAfter old and the
// record at least Rules.DeleteWindow old.
func (r *runner) deleteKey(ctx context.Context, a plan.Action, expect []plan.KeyState) Outcome {
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	live, stop := r.checkLive(ctx, a, c, expect)
	if stop != nil {
		return *stop
	}
	k := *findKey(live, a.KeyID)
	if k.Status != inventory.KeyInactive {
		return outcomeOf(a, Blocked, fmt.Sprintf("key is %s: keyrot deletes only inactive keys", k.Status))
	}
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	if o := r.rolledBack(a, tags, "deleted: its deactivation since is a new one, whose deletion window starts when keyrot sees it"); o != nil {
		return *o
	}
	rec, ok, err := r.deactivationRecord(ctx, a.AccountID, a.User, tags, k.ID)
	if err != nil {
		return failed(a, fmt.Errorf("not deleted: %w", err))
	}
	if !ok {
		return outcomeOf(a, Blocked, "keyrot has no record of deactivating this key or of first seeing it inactive (since its last rollback): its deletion window has not started")
	}
	if err := r.step("before-last-used"); err != nil {
		return failed(a, err)
	}
	lu, err := lastUsed(ctx, c, a.KeyID)
	if err != nil {
		return failed(a, fmt.Errorf("not deleted: %w", err))
	}
	if lu.At != nil && (lu.At.After(rec.At) || (!a.Gate.UnusedSince.IsZero() && lu.At.After(a.Gate.UnusedSince))) {
		return blockedInUse(a, lu, "used after its deactivation (key "+rec.what()+")")
	}
	rules := r.e.rules()
	if due := later(k.Created.Add(rules.DeleteAfter), rec.At.Add(rules.DeleteWindow)); r.tooEarly(due) {
		return outcomeOf(a, Blocked, fmt.Sprintf("key %s; deletion not before %s (at least %s old, and %s after keyrot deactivated it or first saw it inactive)",
			rec.what(), ymd(due), fmtDays(rules.DeleteAfter), fmtDays(rules.DeleteWindow)))
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	return r.deleteNow(ctx, a, c, history.KindDeleteKey, TagDeactivated)
}

// deleteNow deletes the action's key and removes the user tag that named
// it: keyrot:deactivated if it names the key; keyrot:rotation-pending
// whatever its value (callers that judged a pending mark use
// deleteAndClear with the mark).
func (r *runner) deleteNow(ctx context.Context, a plan.Action, c IAM, kind, clearTag string) Outcome {
	return r.deleteAndClear(ctx, a, c, kind, func(tags userTags) string {
		if (clearTag == TagDeactivated && tags.DeactKey == a.KeyID) || (clearTag == TagPending && !tags.PendingSince.IsZero()) {
			return clearTag
		}
		return ""
	})
}

// deleteAndClear deletes the action's key, then removes the user tag clear
// names given the user's tags read after the delete ("" for none).
func (r *runner) deleteAndClear(ctx context.Context, a plan.Action, c IAM, kind string, clear func(userTags) string) Outcome {
	j, err := r.begin(ctx, a, kind, a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-delete"); err != nil {
		return failed(a, err)
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(a.User), AccessKeyId: aws.String(a.KeyID)}); err != nil {
		err = fmt.Errorf("delete key %s of %s: %w", inventory.MaskKeyID(a.KeyID), a.User, err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("after-delete"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, a.KeyID, history.EventDeleted, r.e.now(), "", "")
	if tags, err := readUserTags(ctx, c, a.User); err == nil {
		if tag := clear(tags); tag != "" {
			if err := untagUser(ctx, c, a.User, tag); err != nil {
				r.e.log().Warn("clear tag", "tag", tag, "user", a.User, "err", err)
			}
		}
	}
	j.end(ctx, Succeeded, "", "")
	return outcomeOf(a, Succeeded, "key "+inventory.MaskKeyID(a.KeyID)+" deleted")
}

// deleteOrphan deletes a key created by an interrupted rotation, checked
// live whatever the plan says: the user's pending tag marks an interrupted
// creation and the key was created within plan.OrphanWindow after it, at least
// Rules.OrphanGrace ago; the key is not stored in the secret's AWSCURRENT
// or AWSPENDING; and it was never used.
func (r *runner) deleteOrphan(ctx context.Context, a plan.Action, expect []plan.KeyState) Outcome {
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	live, stop := r.checkLive(ctx, a, c, expect)
	if stop != nil {
		return *stop
	}
	k := *findKey(live, a.KeyID)
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	if tags.PendingSince.IsZero() {
		return outcomeOf(a, Blocked, "no keyrot:rotation-pending tag marks an interrupted keyrot rotation of this user: the key is not an orphan")
	}
	if !plan.CreatedByPending(tags.pending(), k.ID, k.Created) {
		return outcomeOf(a, Blocked, fmt.Sprintf("key was created on %s, not by the interrupted rotation the pending mark records (%s: a key created within %s after it, %s allowed for clocks, that the user did not have then): someone else created it",
			k.Created.UTC().Format(time.RFC3339), tags.PendingSince.UTC().Format(time.RFC3339), plan.OrphanWindow, plan.ClockAllowance))
	}
	if grace := r.e.rules().OrphanGrace; r.tooEarly(k.Created.Add(grace)) {
		return outcomeOf(a, Blocked, fmt.Sprintf("orphan is left alone for %s after its creation; not before %s", grace, k.Created.Add(grace).UTC().Format(time.RFC3339)))
	}
	store, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	name, err := store.Name(nameData(a))
	if err != nil {
		return failed(a, err)
	}
	for _, stage := range []string{"AWSCURRENT", "AWSPENDING"} {
		if err := r.step("before-read-secret"); err != nil {
			return failed(a, err)
		}
		v, err := store.Stage(ctx, name, stage)
		switch {
		case errors.Is(err, secretstore.ErrNoVersion):
		case err != nil:
			return failed(a, fmt.Errorf("not deleted: %w", err))
		case v.Value.AccessKeyID == a.KeyID:
			return outcomeOf(a, Blocked, "key is stored in the secret's "+stage+" version: it is not an orphan")
		}
	}
	if err := r.step("before-last-used"); err != nil {
		return failed(a, err)
	}
	lu, err := lastUsed(ctx, c, a.KeyID)
	if err != nil {
		return failed(a, fmt.Errorf("not deleted: %w", err))
	}
	if lu.At != nil {
		return blockedInUse(a, lu, "orphan key was used: someone holds its secret")
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	// The pending mark goes only if it is still the one this deletion
	// judged: a newer mark is another creation's.
	return r.deleteAndClear(ctx, a, c, history.KindDeleteOrphan, func(now userTags) string {
		if now.PendingRaw != "" && now.PendingRaw == tags.PendingRaw {
			return TagPending
		}
		return ""
	})
}

// listFailed is the outcome of an action whose user could not be read: a
// user deleted since the plan was made is skipped, as that user's outcome;
// anything else fails the action.
func listFailed(a plan.Action, err error) Outcome {
	if isNoSuchEntity(err) {
		return outcomeOf(a, Skipped, "user no longer exists (deleted since the plan was made)")
	}
	return failed(a, err)
}

// evReplacedLastUse is the create-key journal evidence the usage gate
// relies on: the replaced key's last use, read live just before the new key
// was created and stored ("never" if it was never used).
const evReplacedLastUse = "replaced_last_used_live"

// withReplacedLastUse returns a with the replaced key's live last use added
// to its evidence (journaled by begin). Without it (the read failed, or no
// key is replaced) the usage gate is the conservative one.
func withReplacedLastUse(ctx context.Context, c IAM, a plan.Action, live []liveKey) plan.Action {
	if a.KeyID == "" || findKey(live, a.KeyID) == nil {
		return a
	}
	lu, err := lastUsed(ctx, c, a.KeyID)
	if err != nil {
		return a
	}
	ev := make(map[string]string, len(a.Evidence)+1)
	maps.Copy(ev, a.Evidence)
	ev[evReplacedLastUse] = "never"
	if lu.At != nil {
		ev[evReplacedLastUse] = lu.At.UTC().Format(time.RFC3339Nano)
	}
	a.Evidence = ev
	return a
}

// supersededError says the world changed under a creation in progress:
// another run treated its key as an orphan, took over its pending mark, or
// stored a newer key. The creation must not store its key.
type supersededError struct{ why string }

func (e *supersededError) Error() string { return "superseded by another run: " + e.why }

// stillCreating re-checks, just before a store's writes, that the world is
// still as the creation left it: its new key exists and is active, the
// user's pending mark is still the one it wrote, and the secret's
// AWSCURRENT is still the version it saw before creating (or already holds
// the new key: a retried store). A *supersededError says it is not; other
// errors are failed reads.
func (r *runner) stillCreating(ctx context.Context, c IAM, store KeyStore, user, secretName, newID, mark, versionID string) error {
	mk := inventory.MaskKeyID(newID)
	live, err := listKeys(ctx, c, user)
	if err != nil {
		return fmt.Errorf("re-check before storing %s: %w", mk, err)
	}
	switch k := findKey(live, newID); {
	case k == nil:
		return &supersededError{"new key " + mk + " no longer exists (deleted as an orphan)"}
	case k.Status != inventory.KeyActive:
		return &supersededError{"new key " + mk + " is " + string(k.Status)}
	}
	tags, err := readUserTags(ctx, c, user)
	if err != nil {
		return fmt.Errorf("re-check before storing %s: %w", mk, err)
	}
	if tags.PendingRaw != mark {
		return &supersededError{fmt.Sprintf("the user's pending mark is no longer this run's (now %q)", tags.PendingRaw)}
	}
	v, err := store.Stage(ctx, secretName, "AWSCURRENT")
	switch {
	case errors.Is(err, secretstore.ErrNoVersion):
		if versionID != "" {
			return &supersededError{"the secret's current version was removed since this creation began"}
		}
	case err != nil:
		return fmt.Errorf("re-check before storing %s: %w", mk, err)
	case v.Value.AccessKeyID == newID:
	case v.VersionID != versionID:
		return &supersededError{fmt.Sprintf("the secret's current version changed since this creation began: it holds key %s, stored %s",
			inventory.MaskKeyID(v.Value.AccessKeyID), v.Created.UTC().Format(time.RFC3339))}
	}
	return nil
}

// abandon ends a creation another run superseded: its new key, which
// nobody holds, is deleted if it still exists, its pending mark removed if
// it is still its own, and nothing is stored.
func (r *runner) abandon(ctx context.Context, a plan.Action, c IAM, j *journal, newID, mark string, sup *supersededError) Outcome {
	mk := inventory.MaskKeyID(newID)
	if err := r.step("before-compensate"); err != nil {
		return failed(a, err)
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(a.User), AccessKeyId: aws.String(newID)}); err != nil && !isNoSuchEntity(err) {
		err = fmt.Errorf("new key %s of %s not stored (%s); deleting it failed: %w", mk, a.User, sup.why, err)
		j.end(ctx, Failed, err.Error(), newID)
		return failed(a, err)
	}
	if err := r.step("after-compensate"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, newID, history.EventDeleted, r.e.now(), "", "")
	if err := untagIfMark(ctx, c, a.User, mark); err != nil {
		r.e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", err)
	}
	detail := fmt.Sprintf("new key %s not stored, %s: it is deleted (nobody holds it) and the newer state is left as it is", mk, sup.Error())
	j.end(ctx, Skipped, detail, "")
	return outcomeOf(a, Skipped, detail)
}

// untagIfMark removes the user's pending tag if it is still mark: a newer
// mark is another creation's and stays.
func untagIfMark(ctx context.Context, c IAM, user, mark string) error {
	tags, err := readUserTags(ctx, c, user)
	if err != nil {
		return err
	}
	if tags.PendingRaw != mark {
		return nil
	}
	return untagUser(ctx, c, user, TagPending)
}

// validSecretName checks a rendered secret name against Secrets Manager's
// rules (1 to 512 of ASCII letters, digits and /_+=.@-): IAM user names and
// paths allow characters (a comma, a '#') that secret names do not, and
// such a user is blocked before a key is created that could not be stored.
func validSecretName(name string) error {
	if name == "" || len(name) > 512 {
		return fmt.Errorf("secret name %q must have 1 to 512 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+=.@-", r)) {
			return fmt.Errorf("secret name %q has %q: Secrets Manager allows ASCII letters, digits and /_+=.@- only", name, r)
		}
	}
	return nil
}
