package execute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// withLease runs fn under the account's lease.
func (r *runner) withLease(ctx context.Context, acct string, fn func() Outcome, a plan.Action) Outcome {
	e := r.e
	if e.History == nil {
		return fn()
	}
	_, err := e.History.AcquireLease(ctx, acct, e.owner(), e.leaseTTL(), e.now())
	var held *history.LeaseHeldError
	if errors.As(err, &held) {
		return outcomeOf(a, Skipped, fmt.Sprintf("account is being worked on by %s; try again later", held.Holder))
	}
	if err != nil {
		return failed(a, err)
	}
	o := fn()
	if !r.crashed.Load() {
		if err := e.History.ReleaseLease(context.WithoutCancel(ctx), acct, e.owner()); err != nil {
			e.log().Warn("release lease", "account", acct, "err", err)
		}
	}
	return o
}

// Errors of refused manual actions, wrapped by RefusedError.
var (
	// ErrNotDeactivatedByKeyrot: Rollback re-activates only keys keyrot
	// itself deactivated.
	ErrNotDeactivatedByKeyrot = errors.New("keyrot did not deactivate the key")
	// ErrKeyRequired: the user has two active keys and RotateNow was not
	// told which one to rotate.
	ErrKeyRequired = errors.New("the key to rotate must be named")
	// ErrNotUsersKey: the key named is not one of the user's keys.
	ErrNotUsersKey = errors.New("not a key of the user")
)

// RefusedError is the error of a manual action keyrot refused: Detail says
// why, in words (it is also the outcome's Detail); Err is the rule's
// sentinel error.
type RefusedError struct {
	Detail string
	Err    error
}

func (e *RefusedError) Error() string { return e.Detail }
func (e *RefusedError) Unwrap() error { return e.Err }

// refused is a blocked outcome carrying a RefusedError.
func refused(a plan.Action, rule error, detail string) Outcome {
	o := outcomeOf(a, Blocked, detail)
	o.Err = &RefusedError{Detail: detail, Err: rule}
	return o
}

func outcomeErr(o Outcome) error {
	switch {
	case o.Status == Failed && o.Err != nil:
		return o.Err
	case o.Status == Failed:
		return errors.New(o.Detail)
	case isCrash(o.Err):
		return o.Err
	case o.Status == Blocked && o.Err != nil:
		return o.Err
	}
	return nil
}

// Rollback re-activates the key keyrot last deactivated for the user and
// tags the user keyrot:rolled-back, which holds further deactivation of
// that key until it is rotated anew. It re-activates only a key keyrot
// itself deactivated, as its records say (the keyrot:deactivated tag's
// origin, else the history journal's deactivate-key actions): a key that
// was already inactive when keyrot first saw it, or whose deactivation
// keyrot cannot attribute to itself, is refused with a RefusedError
// wrapping ErrNotDeactivatedByKeyrot, and so is a key used after keyrot
// deactivated it (someone re-activated and deactivated it since).
func (e *Executor) Rollback(ctx context.Context, account, user string, o Options) (Outcome, error) {
	r := e.runner(o)
	a := plan.Action{ID: "rollback/" + account + "/" + user, Kind: "reactivate-key", AccountID: account, User: user, Reason: "rollback requested"}
	ctx, cancel := e.detached(ctx)
	defer cancel()
	out := r.withLease(ctx, account, func() Outcome { return r.rollback(ctx, a) }, a)
	return out, outcomeErr(out)
}

// inactiveKey is an inactive key with what keyrot knows of its deactivation.
type inactiveKey struct {
	key    liveKey
	rec    deactRecord
	hasRec bool
	// byKeyrot: keyrot deactivated it (tag origin or journal).
	byKeyrot bool
	// interrupted: the journal holds a deactivation of it that never ended.
	interrupted   bool
	interruptedAt time.Time
}

// classify reads keyrot's records of an inactive key.
func (r *runner) classify(ctx context.Context, a plan.Action, tags userTags, k liveKey) (inactiveKey, error) {
	ik := inactiveKey{key: k}
	var err error
	if ik.rec, ik.hasRec, err = r.deactivationRecord(ctx, a.AccountID, a.User, tags, k.ID); err != nil {
		return ik, err
	}
	if ik.hasRec && ik.rec.Origin == OriginKeyrot {
		ik.byKeyrot = true
		return ik, nil
	}
	since, err := r.reactivatedAt(ctx, a.AccountID, a.User, tags, k.ID)
	if err != nil {
		return ik, err
	}
	says, at, err := r.journaledDeactivation(ctx, a.AccountID, a.User, k.ID, since)
	if err != nil {
		return ik, err
	}
	switch says {
	case journalDeactivated:
		ik.byKeyrot = true
		if !ik.hasRec {
			ik.rec, ik.hasRec = deactRecord{At: at, Origin: OriginKeyrot}, true
		}
	case journalInterrupted:
		ik.interrupted, ik.interruptedAt = true, at
	}
	return ik, nil
}

// notKeyrots says why keyrot will not re-activate the key.
func notKeyrots(ik inactiveKey) string {
	mk := inventory.MaskKeyID(ik.key.ID)
	switch {
	case ik.interrupted:
		return fmt.Sprintf("keyrot began deactivating key %s on %s but never recorded the outcome (it was interrupted): whether keyrot or a person deactivated it is unknown, and keyrot will not re-activate it",
			mk, ymd(ik.interruptedAt))
	case ik.hasRec && ik.rec.Origin == OriginSeen:
		return fmt.Sprintf("key %s was already inactive when keyrot first saw it on %s; keyrot did not deactivate it and will not re-activate it", mk, ymd(ik.rec.At))
	case ik.hasRec:
		return fmt.Sprintf("key %s has been inactive since at least %s, but keyrot's records do not show that keyrot deactivated it (the record predates keyrot telling its own deactivations apart, and no deactivation of it is journaled); keyrot will not re-activate it",
			mk, ymd(ik.rec.At))
	}
	return fmt.Sprintf("keyrot has no record of deactivating key %s; keyrot did not deactivate it and will not re-activate it", mk)
}

func (r *runner) rollback(ctx context.Context, a plan.Action) Outcome {
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-list-keys"); err != nil {
		return failed(a, err)
	}
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		return failed(a, err)
	}
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	// The key to name in a refusal: the tag's, else the newest inactive key.
	var pick, named *inactiveKey
	for i := len(live) - 1; i >= 0; i-- { // newest first
		if live[i].Status != inventory.KeyInactive {
			continue
		}
		ik, err := r.classify(ctx, a, tags, live[i])
		if err != nil {
			return failed(a, fmt.Errorf("rollback of %s: %w", a.User, err))
		}
		if ik.byKeyrot && (pick == nil || ik.rec.At.After(pick.rec.At)) {
			pick = &ik
		}
		if named == nil || ik.key.ID == tags.DeactKey {
			named = &ik
		}
	}
	if named == nil {
		return outcomeOf(a, Skipped, "no inactive key to re-activate")
	}
	if pick == nil {
		a.KeyID = named.key.ID
		return refused(a, ErrNotDeactivatedByKeyrot, notKeyrots(*named))
	}
	key := pick.key
	a.KeyID = key.ID
	if err := r.step("before-last-used"); err != nil {
		return failed(a, err)
	}
	lu, err := lastUsed(ctx, c, key.ID)
	if err != nil {
		return failed(a, fmt.Errorf("not re-activated: %w", err))
	}
	if lu.At != nil && lu.At.After(pick.rec.At) {
		return refused(a, ErrNotDeactivatedByKeyrot, fmt.Sprintf("key %s was used on %s, after keyrot deactivated it on %s: someone re-activated it since, and its deactivation now is not keyrot's; keyrot will not re-activate it",
			inventory.MaskKeyID(key.ID), lu.At.UTC().Format(time.RFC3339), ymd(pick.rec.At)))
	}
	if r.o.DryRun || r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "would re-activate key "+inventory.MaskKeyID(key.ID))
		o.WouldDo = true
		return o
	}
	j, err := r.begin(ctx, a, history.KindReactivateKey, key.ID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-reactivate"); err != nil {
		return failed(a, err)
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(a.User), AccessKeyId: aws.String(key.ID), Status: types.StatusTypeActive}); err != nil {
		err = fmt.Errorf("re-activate key %s of %s: %w", inventory.MaskKeyID(key.ID), a.User, err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	at := r.e.now()
	if err := r.step("after-reactivate"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, key.ID, history.EventReactivated, at, "", "")
	var errs []error
	if err := tagUser(ctx, c, a.User, TagRolledBack, keyAtValue(key.ID, at)); err != nil {
		errs = append(errs, err)
	}
	if tags.DeactKey == key.ID {
		if err := untagUser(ctx, c, a.User, TagDeactivated); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		// The key is active again; without the tag the planner may plan its
		// deactivation anew, which is gated on its use.
		err = fmt.Errorf("key %s re-activated, but recording the rollback: %w", inventory.MaskKeyID(key.ID), err)
		j.end(ctx, Failed, err.Error(), key.ID)
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", key.ID)
	return outcomeOf(a, Succeeded, "key "+inventory.MaskKeyID(key.ID)+" re-activated")
}

// RotateNowRequest says what RotateNow rotates.
type RotateNowRequest struct {
	// KeyID names the key to replace (the CLI's --key). It must be one of
	// the user's keys. It is required when the user has two active keys,
	// unless the call resumes an interrupted rotation (the newest key is
	// already the secret's AWSCURRENT).
	KeyID string
	// Compromised says the key is compromised: see RotateNow.
	Compromised bool
}

// RotateNow rotates a key of the user at once, whatever its age: it
// creates, stores and verifies a new key. The key is req.KeyID, else the
// user's only active key; with two active keys and no KeyID it is refused
// with ErrKeyRequired, and a KeyID that is not the user's with
// ErrNotUsersKey (both wrapped in a RefusedError).
//
// With req.Compromised, the secret is first readable only by the
// configured readers and the user is added to its policy last, so the
// compromised key never reads the new secret. When the key is the user's
// only active key it is deactivated right after the new key is verified
// (no usage gate): an application without a working key is worse than a
// compromised key for a few minutes more. When the user has another
// active key, the compromised key is deactivated first, before anything
// else, and then deleted to make room under IAM's two-key quota: deleting
// a key somebody may hold is keyrot's to do only because the person named
// it as compromised (without Compromised, two active keys are refused).
// A compromised rotation interrupted half-way resumes when called again
// with the same request.
func (e *Executor) RotateNow(ctx context.Context, account, user string, req RotateNowRequest, o Options) (Outcome, error) {
	r := e.runner(o)
	a := plan.Action{ID: "rotate-now/" + account + "/" + user, Kind: plan.CreateKey, AccountID: account, User: user,
		Reason: "rotation requested", Evidence: map[string]string{"compromised": fmt.Sprint(req.Compromised)}}
	if req.Compromised {
		a.Reason = "emergency rotation: key reported compromised"
	}
	if req.KeyID != "" {
		a.Evidence["requested_key"] = req.KeyID
	}
	ctx, cancel := e.detached(ctx)
	defer cancel()
	out := r.withLease(ctx, account, func() Outcome { return r.rotateNow(ctx, a, req) }, a)
	return out, outcomeErr(out)
}

func (r *runner) rotateNow(ctx context.Context, a plan.Action, req RotateNowRequest) Outcome {
	compromised := req.Compromised
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(a.User)})
	if err != nil {
		return failed(a, fmt.Errorf("get user %s: %w", a.User, err))
	}
	a.UserARN = aws.ToString(out.User.Arn)
	store, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	name, err := store.Name(nameData(a))
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-list-keys"); err != nil {
		return failed(a, err)
	}
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		return failed(a, err)
	}
	// Resume: the newest key is already stored as AWSCURRENT.
	var stored *secretstore.Version
	if len(live) == 2 {
		v, err := store.Stage(ctx, name, "AWSCURRENT")
		switch {
		case errors.Is(err, secretstore.ErrNoVersion):
		case err != nil:
			return failed(a, err)
		case v.Value.AccessKeyID == live[1].ID && live[1].Status == inventory.KeyActive:
			stored = &v
		}
	}
	var target *liveKey
	if req.KeyID != "" {
		if target = findKey(live, req.KeyID); target == nil {
			return r.notUsersKey(ctx, a, req.KeyID)
		}
		if stored != nil && stored.Value.AccessKeyID == target.ID {
			stored = nil // the stored key itself is the one to replace
		}
	}
	var old []liveKey // active keys to cut off, the stored new key aside
	for _, k := range live {
		if k.Status == inventory.KeyActive && (stored == nil || k.ID != stored.Value.AccessKeyID) && (target == nil || k.ID == target.ID) {
			old = append(old, k)
		}
	}
	switch {
	case target != nil:
	case len(old) == 1:
		target = &old[0]
	case len(old) > 1:
		a.KeyID = ""
		return refused(a, ErrKeyRequired, fmt.Sprintf("user %s has two active keys (%s): name the key to rotate (--key)", a.User, keysText(live)))
	case stored != nil:
		// Resumed after the old key was already cut off: still name it.
		for i := range live {
			if live[i].ID != stored.Value.AccessKeyID {
				target = &live[i]
			}
		}
	}
	if target != nil {
		a.KeyID = target.ID
	}
	// other is the user's key that is not the target, if any.
	var other *liveKey
	for i := range live {
		if target == nil || live[i].ID != target.ID {
			other = &live[i]
		}
	}
	makeRoom := false
	if stored == nil && len(live) >= 2 {
		switch {
		case target == nil:
			return outcomeOf(a, Blocked, "user already has two access keys ("+keysText(live)+"); delete one first")
		case !compromised && target.Status == inventory.KeyActive && other.Status == inventory.KeyActive:
			return outcomeOf(a, Blocked, fmt.Sprintf("user already has two active keys (%s) and IAM allows two: to replace %s, deactivate and delete it by hand first, or if it is compromised run with --compromised (keyrot then cuts it off and deletes it first)",
				keysText(live), inventory.MaskKeyID(target.ID)))
		case !compromised:
			return outcomeOf(a, Blocked, "user already has two access keys ("+keysText(live)+"); delete or deactivate one first")
		case target.Status == inventory.KeyActive && other.Status != inventory.KeyActive:
			// Cutting the target off first would leave the user no working key.
			return outcomeOf(a, Blocked, fmt.Sprintf("user already has two access keys (%s): %s is its only active key, so keyrot will not cut it off before a new key works, and there is no room for one; delete the inactive key %s first",
				keysText(live), inventory.MaskKeyID(target.ID), inventory.MaskKeyID(other.ID)))
		default:
			makeRoom = true // compromised: deactivate the target at once, delete it, then create
		}
	}
	if r.o.DryRun || r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "would rotate the key of "+a.User)
		if makeRoom {
			o.Detail = "would deactivate and delete compromised key " + inventory.MaskKeyID(target.ID) + " of " + a.User + ", then create its replacement"
		}
		o.WouldDo = true
		return o
	}
	var res Outcome
	switch {
	case makeRoom:
		if target.Status == inventory.KeyActive {
			if err := r.deactivateJournaled(ctx, a, c, target.ID); err != nil {
				return failed(a, err)
			}
		}
		del := a
		del.Reason = a.Reason + ": making room for its replacement"
		if o := r.deleteNow(ctx, del, c, history.KindDeleteKey, TagDeactivated); o.Status != Succeeded {
			return o
		}
		a.Expect = []plan.KeyState{{ID: other.ID, Status: other.Status}}
		res = r.createKey(ctx, a, createOpts{expect: a.Expect, checkExpect: true, readersOnly: true, manual: true})
		if res.Status != Succeeded {
			return res
		}
		old = nil // already cut off
	case stored == nil:
		a.Expect = nil
		for _, k := range live {
			a.Expect = append(a.Expect, plan.KeyState{ID: k.ID, Status: k.Status})
		}
		res = r.createKey(ctx, a, createOpts{expect: a.Expect, checkExpect: true, readersOnly: compromised, manual: true})
		if res.Status != Succeeded || !compromised {
			return res
		}
	default:
		if !compromised {
			return outcomeOf(a, Skipped, "a rotation is already in progress: new key "+inventory.MaskKeyID(stored.Value.AccessKeyID)+" is stored")
		}
		if err := r.step("before-verify"); err != nil {
			return failed(a, err)
		}
		if err := r.verifyKey(ctx, a.AccountID, stored.Value.AccessKeyID, stored.Value.SecretAccessKey, a.UserARN); err != nil {
			return failed(a, fmt.Errorf("old key left active: %w", err))
		}
		res = outcomeOf(a, Succeeded, "")
		res.NewKeyID, res.SecretARN, res.SecretName = stored.Value.AccessKeyID, stored.ARN, stored.Name
		res.FetchCommand = secretstore.FetchCommand(stored.ARN, store.Config().Region)
	}
	// Compromised: the new key works; cut the old one off, then let the user read.
	for _, k := range old {
		if err := r.deactivateJournaled(ctx, a, c, k.ID); err != nil {
			return failed(a, err)
		}
	}
	if err := r.step("before-grant"); err != nil {
		return failed(a, err)
	}
	if err := store.Grant(ctx, res.SecretARN, a.UserARN); err != nil {
		return failed(a, fmt.Errorf("old key deactivated, but granting %s read access to its new secret: %w", a.User, err))
	}
	if err := r.step("after-grant"); err != nil {
		return failed(a, err)
	}
	res.Detail = "new key " + inventory.MaskKeyID(res.NewKeyID) + " stored and verified; compromised key deactivated; secret readable by the user"
	if makeRoom {
		res.Detail = "compromised key " + inventory.MaskKeyID(a.KeyID) + " deactivated and deleted; new key " + inventory.MaskKeyID(res.NewKeyID) +
			" stored and verified; secret readable by the user"
	}
	return res
}

// notUsersKey refuses a RotateNow of a key the user does not have, saying
// so when keyrot itself deleted it (an interrupted emergency rotation).
func (r *runner) notUsersKey(ctx context.Context, a plan.Action, keyID string) Outcome {
	detail := fmt.Sprintf("key %s is not a key of user %s", inventory.MaskKeyID(keyID), a.User)
	if deleted := r.deletedByKeyrot(ctx, a, keyID); deleted != "" {
		detail += " (" + deleted + "; if an emergency rotation was interrupted after that, create its replacement with a rotation without --key and --compromised)"
	}
	return refused(a, ErrNotUsersKey, detail)
}

// deletedByKeyrot says when keyrot deleted, or began deleting, the key, as
// its history says; "" if it did not.
func (r *runner) deletedByKeyrot(ctx context.Context, a plan.Action, keyID string) string {
	if r.e.History == nil {
		return ""
	}
	if ev, ok, err := r.e.History.LastKeyEvent(ctx, a.AccountID, a.User, keyID, history.EventDeleted); err == nil && ok {
		return "keyrot deleted it on " + ev.At.UTC().Format(time.RFC3339)
	}
	acts, err := r.e.History.ActionsFor(ctx, a.AccountID, a.User)
	if err != nil {
		return ""
	}
	for i := len(acts) - 1; i >= 0; i-- {
		x := acts[i]
		if x.KeyID != keyID || (x.Kind != history.KindDeleteKey && x.Kind != history.KindDeleteOrphan) {
			continue
		}
		switch x.Outcome.Status {
		case history.ActionSucceeded:
			return "keyrot deleted it on " + x.Started.UTC().Format(time.RFC3339)
		case history.ActionStarted:
			return "keyrot began deleting it on " + x.Started.UTC().Format(time.RFC3339) + " and was interrupted"
		}
	}
	return ""
}

// deactivateJournaled deactivates a key of a manual rotation, journaled as
// a deactivate-key action (the journal is how rollback knows keyrot did it).
func (r *runner) deactivateJournaled(ctx context.Context, a plan.Action, c IAM, keyID string) error {
	d := a
	d.KeyID = keyID
	j, err := r.begin(ctx, d, history.KindDeactivateKey, keyID)
	if err != nil {
		return err
	}
	if err := r.deactivateNow(ctx, a.AccountID, a.User, c, keyID); err != nil {
		if !isCrash(err) {
			j.end(ctx, Failed, err.Error(), "")
		}
		return err
	}
	j.end(ctx, Succeeded, "", "")
	return nil
}
