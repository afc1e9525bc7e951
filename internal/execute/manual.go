package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
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
	// ErrKeyCompromised: Rollback never re-activates a key keyrot
	// deactivated because it was reported compromised.
	ErrKeyCompromised = errors.New("the key was reported compromised")
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
	compromised, err := r.deactivatedAsCompromised(ctx, a.AccountID, a.User, key.ID)
	if err != nil {
		return failed(a, fmt.Errorf("rollback of %s: %w", a.User, err))
	}
	if compromised {
		return refused(a, ErrKeyCompromised, fmt.Sprintf("key %s was deactivated by an emergency rotation because it was reported compromised; keyrot will not re-activate it: the user's new key is in its secret (or run keyrot rotate --now to give it one)",
			inventory.MaskKeyID(key.ID)))
	}
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
	// The rollback is recorded before the key is re-activated: a key active
	// again without its keyrot:rolled-back tag would be deactivated anew by
	// the next apply (its idle time counted from its last use), breaking the
	// application that needed the rollback. If the tag cannot be written,
	// nothing is re-activated.
	at := r.e.now()
	if err := r.step("before-tag-rolled-back"); err != nil {
		return failed(a, err)
	}
	if err := tagUser(ctx, c, a.User, TagRolledBack, keyAtValue(key.ID, at)); err != nil {
		err = fmt.Errorf("key %s not re-activated: recording the rollback first: %w", inventory.MaskKeyID(key.ID), err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("before-reactivate"); err != nil {
		return failed(a, err)
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(a.User), AccessKeyId: aws.String(key.ID), Status: types.StatusTypeActive}); err != nil {
		err = fmt.Errorf("re-activate key %s of %s: %w", inventory.MaskKeyID(key.ID), a.User, err)
		// Put back what the tag said before, so that it does not claim a
		// rollback that did not happen (a stale claim only delays keyrot:
		// the key's deactivation counts as a new one).
		if tags.RolledKey != "" {
			err = errors.Join(err, tagUser(ctx, c, a.User, TagRolledBack, keyAtValue(tags.RolledKey, tags.RolledAt)))
		} else {
			err = errors.Join(err, untagUser(ctx, c, a.User, TagRolledBack))
		}
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("after-reactivate"); err != nil {
		return failed(a, err)
	}
	r.event(ctx, a.AccountID, a.User, key.ID, history.EventReactivated, at, "", "")
	if tags.DeactKey == key.ID {
		if err := untagUser(ctx, c, a.User, TagDeactivated); err != nil {
			// Harmless: the rollback tag is newer than the deactivation
			// record, which every reader then takes as stale.
			r.e.log().Warn("clear deactivation tag after rollback", "account", a.AccountID, "user", a.User, "err", err)
		}
	}
	j.end(ctx, Succeeded, "", key.ID)
	return outcomeOf(a, Succeeded, "key "+inventory.MaskKeyID(key.ID)+" re-activated")
}

// deactivatedAsCompromised reports whether keyrot's journal shows keyID
// deactivated by an emergency rotation (a rotate-now with compromised set).
// Without a history it cannot tell, and says no.
func (r *runner) deactivatedAsCompromised(ctx context.Context, acct, user, keyID string) (bool, error) {
	if r.e.History == nil {
		return false, nil
	}
	acts, err := r.e.History.ActionsFor(ctx, acct, user)
	if err != nil {
		return false, fmt.Errorf("read keyrot's journal: %w", err)
	}
	for _, act := range acts {
		if act.Kind != history.KindDeactivateKey || act.KeyID != keyID || act.Outcome.Status != history.ActionSucceeded {
			continue
		}
		var ev plan.Evidence
		if json.Unmarshal([]byte(act.Evidence), &ev) == nil && ev["compromised"] == "true" {
			return true, nil
		}
	}
	return false, nil
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
	// DeliverWait bounds, in all, the delivery of a compromised key's
	// replacement to the user's destinations before the compromised key
	// is cut off: a destination that has not answered by then is reported
	// not updated, and the key is cut off anyway.
	// DefaultEmergencyDeliverWait if zero.
	DeliverWait time.Duration
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

// notUsersKey refuses a RotateNow of a key the user does not have, saying
// so when keyrot itself deleted it (an interrupted emergency rotation).
func (r *runner) notUsersKey(ctx context.Context, a plan.Action, keyID string) Outcome {
	detail := fmt.Sprintf("key %s is not a key of user %s", inventory.MaskKeyID(keyID), a.User)
	if deleted := r.deletedByKeyrot(ctx, a, keyID); deleted != "" {
		detail += " (" + deleted + "; if an emergency rotation was interrupted after that, the same request with --compromised finishes it)"
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
