package execute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// GatherOptions tune Gather.
type GatherOptions struct {
	// RotateAfter and Margin select the users whose tags are read: those
	// with a key older than RotateAfter-Margin (and every user with two
	// keys, an inactive key or a keyrot secret). Margin defaults to 7 days.
	RotateAfter time.Duration
	Margin      time.Duration
	// ReadOnly makes no writes: inactive keys with no known deactivation
	// date are not recorded, stale tags are not repaired.
	ReadOnly bool
	// ConsoleExempt, when set, reports the users exempt from the
	// console-unused rule: no console notice is recorded for them, since
	// their owners are not told (and exempt users are not touched).
	ConsoleExempt func(*inventory.Account, *inventory.User) bool
}

// Gather reads keyrot's rotation records for the snapshot's users, the
// planner's Input.Rotations: per account one paginated ListSecrets (the
// secrets' tags name the stored key and when), ListUserTags for the users
// with something to decide, and history as a fallback. Unless ReadOnly, an
// inactive key with no known deactivation date is recorded as deactivated
// now (tag and history), starting its deletion window; and a store that
// finished but whose tags were not all written is repaired.
//
// A problem with one user (deleted since collection, a secret value keyrot
// cannot read, no room for keyrot's tag under IAM's 50-tag quota) is that
// user's: it is returned as the user's Rotation.Problem, which the planner
// turns into a blocked item with the reason, and the others go on. The
// error is for what stops a whole account (its clients, ListSecrets) or
// keyrot's own history store.
func (e *Executor) Gather(ctx context.Context, snap *inventory.Snapshot, o GatherOptions) (map[plan.UserRef]plan.Rotation, error) {
	if o.Margin == 0 {
		o.Margin = 7 * 24 * time.Hour
	}
	out := map[plan.UserRef]plan.Rotation{}
	var (
		errs []error
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	// Accounts are read as many at once as they are worked on (each
	// account's calls share its own rate); their users one after another.
	sem := make(chan struct{}, e.concurrency())
	for ai := range snap.Accounts {
		a := &snap.Accounts[ai]
		if a.Status != inventory.AccountAudited {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			mine := map[plan.UserRef]plan.Rotation{}
			err := e.gatherAccount(ctx, a, o, mine)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(out, mine)
			if err != nil {
				errs = append(errs, fmt.Errorf("gather rotations of account %s: %w", a.ID, err))
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(errs, func(x, y error) int { return strings.Compare(x.Error(), y.Error()) })
	return out, errors.Join(errs...)
}

func (e *Executor) gatherAccount(ctx context.Context, a *inventory.Account, o GatherOptions, out map[plan.UserRef]plan.Rotation) error {
	c, err := e.Clients.IAM(ctx, a.ID)
	if err != nil {
		return err
	}
	store, err := e.Clients.Secrets(ctx, a.ID)
	if err != nil {
		return err
	}
	listed, err := store.List(ctx, a.ID, a.Name)
	if err != nil {
		return err
	}
	secrets := map[string]secretstore.Listed{}
	for _, l := range listed {
		secrets[l.UserName] = l
	}
	now := e.now()
	var errs []error
	for ui := range a.Users {
		u := &a.Users[ui]
		sec, hasSecret := secrets[u.Name]
		if !interesting(u, hasSecret, now, o) {
			continue
		}
		rot, err := e.gatherUser(ctx, a, u, c, store, sec, hasSecret, o)
		var up *userProblem
		switch {
		case errors.As(err, &up):
			e.log().Warn("user blocked", "account", a.ID, "user", u.Name, "problem", up.why)
			rot.Problem = up.why
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if rot != (plan.Rotation{}) {
			out[plan.UserRef{Account: a.ID, User: u.Name}] = rot
		}
	}
	if e.Console.DisableUnused {
		e.gatherConsole(ctx, a, c, o, out)
	}
	return errors.Join(errs...)
}

func interesting(u *inventory.User, hasSecret bool, now time.Time, o GatherOptions) bool {
	if hasSecret || len(u.Keys) >= 2 {
		return true
	}
	for _, k := range u.Keys {
		if !k.Active() || (o.RotateAfter > 0 && !now.Before(k.CreateDate.Add(o.RotateAfter-o.Margin))) {
			return true
		}
	}
	return false
}

func (e *Executor) gatherUser(ctx context.Context, a *inventory.Account, u *inventory.User, c IAM, store KeyStore,
	sec secretstore.Listed, hasSecret bool, o GatherOptions) (plan.Rotation, error) {
	var rot plan.Rotation
	if hasSecret {
		rot.NewKeyID, rot.StoredAt, rot.SecretARN = sec.KeyID, sec.StoredAt, sec.ARN
	}
	tags, err := readUserTags(ctx, c, u.Name)
	if err != nil {
		return rot, userFailed(u.Name, "its tags could not be read", err)
	}
	keyOf := func(id string) *inventory.AccessKey {
		for i := range u.Keys {
			if u.Keys[i].ID == id {
				return &u.Keys[i]
			}
		}
		return nil
	}
	nd := secretstore.NameData{AccountID: a.ID, AccountName: a.Name, UserName: u.Name, UserPath: u.Path}
	if !tags.PendingSince.IsZero() {
		rot.PendingSince = tags.PendingSince
		rot.PendingBefore, rot.PendingBeforeKnown = tags.PendingBefore, tags.PendingBeforeKnown
		// A crash between PutSecretValue and the end of the store leaves
		// the secret's tags behind its value: read the value to know.
		if hasSecret {
			v, err := store.Stage(ctx, sec.ARN, "AWSCURRENT")
			switch {
			case errors.Is(err, secretstore.ErrNoVersion):
			case err != nil:
				return rot, userFailed(u.Name, "the current version of its secret "+sec.Name+" could not be read", err)
			default:
				if k := keyOf(v.Value.AccessKeyID); k != nil && k.ID != rot.NewKeyID {
					rot.NewKeyID, rot.StoredAt = k.ID, v.Created
					if !o.ReadOnly {
						if err := store.Retag(ctx, sec.ARN, nd, k.ID, v.Created); err != nil {
							e.log().Warn("repair secret tags", "account", a.ID, "user", u.Name, "err", err)
						}
					}
				}
			}
		}
		// The pending creation finished if the stored key is its key (AWS's
		// CreateDate, and not a key the user had when the mark was written).
		if k := keyOf(rot.NewKeyID); k != nil && plan.CreatedByPending(tags.pending(), k.ID, k.CreateDate) {
			rot.PendingSince, rot.PendingBefore, rot.PendingBeforeKnown = time.Time{}, "", false
			if !o.ReadOnly {
				if err := untagUser(ctx, c, u.Name, TagPending); err != nil {
					e.log().Warn("clear stale pending tag", "account", a.ID, "user", u.Name, "err", err)
				}
			}
		}
	}
	if tags.RolledKey != "" {
		rot.RolledBackAt, rot.RolledBackKeyID = tags.RolledAt, tags.RolledKey
	}
	// A deactivation record is stale once the key was rolled back after it:
	// if the key is inactive again, that is a new deactivation whose window
	// starts when keyrot first sees it.
	stale := func(keyID string, at time.Time) bool {
		return tags.RolledKey == keyID && !tags.RolledAt.Before(at)
	}
	if k := keyOf(tags.DeactKey); k != nil && !k.Active() && !stale(k.ID, tags.DeactAt) {
		rot.DeactivatedKeyID, rot.DeactivatedAt = k.ID, tags.DeactAt
	}
	now := e.now()
	if pend := tags.PendingSince; !pend.IsZero() && pend.After(now.Add(plan.ClockAllowance)) {
		return rot, &userProblem{why: fmt.Sprintf("its %s tag is dated %s, in the future: keyrot did not write it as it is; remove the tag (and check the user's keys for one nobody holds)",
			TagPending, pend.UTC().Format(time.RFC3339))}
	}
	tagFree := tags.DeactKey == "" || keyOf(tags.DeactKey) == nil || keyOf(tags.DeactKey).Active() || stale(tags.DeactKey, tags.DeactAt)
	for _, k := range u.Keys {
		if k.Active() || k.ID == rot.DeactivatedKeyID || k.ID == "" {
			continue
		}
		if e.History != nil {
			ev, ok, err := e.lastInactiveEvent(ctx, a.ID, u.Name, k.ID)
			if err != nil {
				return rot, err
			}
			if ok && !stale(k.ID, ev.At) {
				if rot.DeactivatedKeyID == "" {
					rot.DeactivatedKeyID, rot.DeactivatedAt = k.ID, ev.At
				}
				continue
			}
		}
		if o.ReadOnly {
			// The write to come must fit IAM's quota, or the user is blocked now.
			if tagFree && !tags.Keys[TagDeactivated] && tags.Count >= MaxUserTags {
				return rot, &userProblem{why: tagQuotaProblem(u.Name, TagDeactivated, "when it first saw key "+inventory.MaskKeyID(k.ID)+" inactive")}
			}
			continue
		}
		// First seen inactive: the deletion window starts now. The record
		// says keyrot did not deactivate the key, so rollback leaves it alone.
		// The history event comes first: a tag IAM refuses still leaves it.
		if e.History != nil {
			if _, err := e.History.RecordKeyEvent(ctx, history.KeyEvent{Account: a.ID, User: u.Name, KeyID: k.ID,
				Event: history.EventSeenInactive, At: now, RunID: e.RunID}); err != nil {
				return rot, err
			}
		}
		if rot.DeactivatedKeyID == "" {
			rot.DeactivatedKeyID, rot.DeactivatedAt = k.ID, now
		}
		if tagFree {
			if err := tagUser(ctx, c, u.Name, TagDeactivated, deactivatedValue(k.ID, now, OriginSeen)); err != nil {
				if isTagQuota(err) {
					return rot, &userProblem{why: tagQuotaProblem(u.Name, TagDeactivated, "when it first saw key "+inventory.MaskKeyID(k.ID)+" inactive")}
				}
				return rot, userFailed(u.Name, "keyrot could not record when it first saw key "+inventory.MaskKeyID(k.ID)+" inactive", err)
			}
			tagFree = false
		}
	}
	return rot, nil
}

// userProblem is a problem with one user that blocks that user only.
type userProblem struct{ why string }

func (p *userProblem) Error() string { return p.why }

// userFailed makes a per-user problem of a failed call on the user: why
// says what could not be done, and a user deleted since collection says so.
// A denied call is not the user's problem but keyrot's permissions: it is
// returned as is, for the whole run to report.
func userFailed(user, why string, err error) error {
	if isDenied(err) {
		return err
	}
	if isNoSuchEntity(err) {
		return &userProblem{why: "user " + user + " no longer exists (deleted since it was collected)"}
	}
	return &userProblem{why: fmt.Sprintf("user %s: %s (%v); keyrot does not act on it until this is resolved", user, why, err)}
}

// lastInactiveEvent returns the later of the key's last deactivated and
// seen-inactive history events.
func (e *Executor) lastInactiveEvent(ctx context.Context, acct, user, keyID string) (history.KeyEvent, bool, error) {
	var last history.KeyEvent
	found := false
	for _, name := range []string{history.EventDeactivated, history.EventSeenInactive} {
		ev, ok, err := e.History.LastKeyEvent(ctx, acct, user, keyID, name)
		if err != nil {
			return history.KeyEvent{}, false, err
		}
		if ok && (!found || ev.At.After(last.At)) {
			last, found = ev, true
		}
	}
	return last, found, nil
}
