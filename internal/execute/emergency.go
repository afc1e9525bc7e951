package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// withholder is the part of a key store that tells a version stored
// withheld from its user (a compromised key's rotation whose grant has not
// finished) from one the user could read. secretstore.Store implements
// it; with a store that does not, every stored key counts as readable by
// the user, which only makes an emergency rotation replace more keys.
type withholder interface {
	Marks(ctx context.Context, secretID string) (secretstore.Marks, error)
}

var _ withholder = (*secretstore.Store)(nil)

// secretView is what the user's secret says about the user's live keys.
type secretView struct {
	// cur is the AWSCURRENT version, if any.
	cur    secretstore.Version
	hasCur bool
	// withheld: cur was stored withheld from the user and not granted yet,
	// so no key of the user could ever read it.
	withheld bool
	// emergencyDone: cur is the new key of a compromised key's rotation
	// that was granted (finished).
	emergencyDone bool
	// readable are the IDs of keys held by versions the user could read
	// (AWSCURRENT unless withheld, AWSPREVIOUS, AWSPENDING).
	readable map[string]bool
}

// readSecretView reads the stages of the user's secret that matter to an
// emergency rotation.
func (r *runner) readSecretView(ctx context.Context, a plan.Action, store KeyStore, name string, compromised bool) (secretView, error) {
	sv := secretView{readable: map[string]bool{}}
	stages := []string{"AWSCURRENT"}
	if compromised {
		stages = append(stages, "AWSPREVIOUS", "AWSPENDING")
	}
	for _, stage := range stages {
		if err := r.step("before-read-secret"); err != nil {
			return sv, err
		}
		v, err := r.stageRestoring(ctx, a, store, name, stage)
		switch {
		case errors.Is(err, secretstore.ErrNoVersion):
			continue
		case err != nil:
			return sv, err
		}
		if stage == "AWSCURRENT" {
			sv.cur, sv.hasCur = v, true
			continue
		}
		sv.readable[v.Value.AccessKeyID] = true
	}
	if sv.hasCur {
		if ws, ok := store.(withholder); ok {
			m, err := ws.Marks(ctx, name)
			if err != nil {
				return sv, err
			}
			id := sv.cur.Value.AccessKeyID
			sv.withheld = m.Withheld == id
			sv.emergencyDone = !sv.withheld && m.Emergency == id
		}
		if !sv.withheld {
			sv.readable[sv.cur.Value.AccessKeyID] = true
		}
	}
	return sv, nil
}

// curKey is the secret's AWSCURRENT key if it is the user's newest key and
// active: a rotation past its store.
func (sv secretView) curKey(live []liveKey) *liveKey {
	if !sv.hasCur || len(live) < 2 {
		return nil
	}
	n := &live[len(live)-1]
	if n.ID != sv.cur.Value.AccessKeyID || n.Status != inventory.KeyActive {
		return nil
	}
	return n
}

// emergencyOrphans returns the user's keys that an interrupted keyrot
// rotation left behind: the pending tag marks a creation, the key was
// created within plan.OrphanWindow after it, no version of the secret
// holds it, and it was never used (nobody holds its secret). An emergency
// rotation deletes them at once, not after orphan_grace, so that a
// compromised key never stays active because of keyrot's own leftovers,
// whether or not the user is exempt from the schedule. keep is a key that
// is never an orphan (the one the request names), and neither is the
// user's oldest key.
func (r *runner) emergencyOrphans(ctx context.Context, c IAM, live []liveKey, tags userTags, sv secretView, keep string) ([]liveKey, error) {
	if tags.PendingSince.IsZero() || len(live) < 2 {
		return nil, nil
	}
	var out []liveKey
	for i, k := range live {
		// A rotation adds a key beside one the user has: the user's oldest
		// key is never keyrot's leftover.
		if i == 0 || !k.Created.After(live[0].Created) {
			continue
		}
		if k.ID == keep || sv.readable[k.ID] || (sv.hasCur && k.ID == sv.cur.Value.AccessKeyID) {
			continue
		}
		if k.Created.Before(tags.PendingSince.Add(-time.Minute)) || k.Created.After(tags.PendingSince.Add(plan.OrphanWindow)) {
			continue
		}
		if err := r.step("before-last-used"); err != nil {
			return nil, err
		}
		lu, err := lastUsed(ctx, c, k.ID)
		if err != nil {
			return nil, err
		}
		if lu.At == nil {
			out = append(out, k)
		}
	}
	return out, nil
}

// without returns ks less the keys in drop.
func without(ks, drop []liveKey) []liveKey {
	var out []liveKey
	for _, k := range ks {
		if findKey(drop, k.ID) == nil {
			out = append(out, k)
		}
	}
	return out
}

func masked(ks []liveKey) string {
	var ids []string
	for _, k := range ks {
		ids = append(ids, inventory.MaskKeyID(k.ID))
	}
	return strings.Join(ids, ", ")
}

// rotateNow is RotateNow's work under the account's lease. See
// docs/rotation.md, "Rotate now", for the cases.
func (r *runner) rotateNow(ctx context.Context, a plan.Action, req RotateNowRequest) Outcome {
	compromised := req.Compromised
	c, err := r.e.Clients.IAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	arn, err := userARN(ctx, c, a.User)
	if err != nil {
		return failed(a, err)
	}
	a.UserARN = arn
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
	sv, err := r.readSecretView(ctx, a, store, name, compromised)
	if err != nil {
		return failed(a, err)
	}
	if !compromised {
		return r.rotateNowPlain(ctx, a, req, c, store, live, sv)
	}
	return r.rotateNowCompromised(ctx, a, req, c, store, live, sv)
}

// rotateNowPlain is RotateNow without Compromised: the scheduled
// create-key's steps, or, when a rotation is already past its store (a
// crash, or a rotation the schedule started), its end: the stored key is
// verified and the rotation reported done.
func (r *runner) rotateNowPlain(ctx context.Context, a plan.Action, req RotateNowRequest, c IAM, store KeyStore, live []liveKey, sv secretView) Outcome {
	stored := sv.curKey(live)
	if stored != nil && live[0].Status != inventory.KeyActive {
		stored = nil // its old key is off: that rotation is over
	}
	var target *liveKey
	if req.KeyID != "" {
		if target = findKey(live, req.KeyID); target == nil {
			return r.notUsersKey(ctx, a, req.KeyID)
		}
		if stored != nil && stored.ID == target.ID {
			stored = nil // the stored key itself is the one to replace
		}
	}
	if stored != nil {
		if target == nil {
			target = &live[0]
		}
		a.KeyID = target.ID
		if sv.withheld {
			return outcomeOf(a, Blocked, fmt.Sprintf("an emergency rotation of %s is in progress: new key %s is stored, withheld from the user until the compromised key is off; finish it with rotate --now --compromised",
				a.User, inventory.MaskKeyID(stored.ID)))
		}
		return r.finishStored(ctx, a, c, store, sv.cur)
	}
	var active []liveKey
	for _, k := range live {
		if k.Status == inventory.KeyActive && (target == nil || k.ID == target.ID) {
			active = append(active, k)
		}
	}
	switch {
	case target != nil:
	case len(active) == 1:
		target = &active[0]
	case len(active) > 1:
		return refused(a, ErrKeyRequired, fmt.Sprintf("user %s has two active keys (%s): name the key to rotate (--key)", a.User, keysText(live)))
	}
	if target != nil {
		a.KeyID = target.ID
	}
	if len(live) >= 2 {
		var other *liveKey
		for i := range live {
			if target == nil || live[i].ID != target.ID {
				other = &live[i]
			}
		}
		if target != nil && target.Status == inventory.KeyActive && other.Status == inventory.KeyActive {
			return outcomeOf(a, Blocked, fmt.Sprintf("user already has two active keys (%s) and IAM allows two: to replace %s, deactivate and delete it by hand first, or if it is compromised run with --compromised (keyrot then cuts it off and deletes it first)",
				keysText(live), inventory.MaskKeyID(target.ID)))
		}
		return outcomeOf(a, Blocked, "user already has two access keys ("+keysText(live)+"); delete or deactivate one first")
	}
	if r.o.DryRun || r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "would rotate the key of "+a.User)
		o.WouldDo = true
		return o
	}
	a.Expect = nil
	for _, k := range live {
		a.Expect = append(a.Expect, plan.KeyState{ID: k.ID, Status: k.Status})
	}
	return r.createKey(ctx, a, createOpts{expect: a.Expect, checkExpect: true, manual: true})
}

// finishStored ends a rotation past its store: the secret's tags and the
// pending tag are repaired if the store was cut short, the key is verified
// and the outcome journaled as the create-key it completes.
func (r *runner) finishStored(ctx context.Context, a plan.Action, c IAM, store KeyStore, cur secretstore.Version) Outcome {
	if r.o.DryRun || r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "would finish the rotation in progress: verify new key "+inventory.MaskKeyID(cur.Value.AccessKeyID))
		o.WouldDo = true
		return o
	}
	newID := cur.Value.AccessKeyID
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	j, err := r.begin(ctx, a, history.KindCreateKey, a.KeyID)
	if err != nil {
		return failed(a, err)
	}
	if !tags.PendingSince.IsZero() {
		// The store may have stopped before its tags: write them again
		// (dated by the version, AWS's clock), then clear the pending mark.
		if err := store.Retag(ctx, cur.ARN, nameData(a), newID, cur.Created); err != nil {
			err = fmt.Errorf("new key %s is stored, but repairing its secret's tags: %w", inventory.MaskKeyID(newID), err)
			j.end(ctx, Failed, err.Error(), newID)
			return failed(a, err)
		}
		if err := untagUser(ctx, c, a.User, TagPending); err != nil {
			r.e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", err)
		}
	}
	o := outcomeOf(a, Succeeded, "")
	o.NewKeyID, o.SecretARN, o.SecretName = newID, cur.ARN, cur.Name
	o.FetchCommand = secretstore.FetchCommand(cur.ARN, store.Config().Region)
	if err := r.step("before-verify"); err != nil {
		return failed(a, err)
	}
	if err := r.verifyKey(ctx, a.AccountID, newID, cur.Value.SecretAccessKey, a.UserARN); err != nil {
		err = fmt.Errorf("new key %s of %s stored but not verified: %w", inventory.MaskKeyID(newID), a.User, err)
		j.end(ctx, Failed, err.Error(), newID)
		o.Status, o.Detail, o.Err = Failed, err.Error(), err
		return o
	}
	r.event(ctx, a.AccountID, a.User, newID, history.EventVerified, r.e.now(), "", "")
	o.Detail = "new key " + inventory.MaskKeyID(newID) + " was already stored (on " + ymd(cur.Created) + "); verified now: the rotation in progress is finished"
	o, ok := r.deliverNew(ctx, a, c, tags, newID, o, 0)
	if !ok {
		return o
	}
	j.end(ctx, Succeeded, "", newID)
	return o
}

// rotateNowCompromised is RotateNow with Compromised. The compromised
// principal is the user: every active key of the user held by a version
// of its secret that the user could read is compromised too, and is cut
// off once the new key works. The new key is stored withheld from the user
// (an explicit deny), and the user is granted read only after every
// compromised key is off. keyrot's own leftovers of an interrupted
// emergency rotation (orphan keys, a stale pending tag) are cleaned up at
// once, so that the same request, run again, finishes the job.
func (r *runner) rotateNowCompromised(ctx context.Context, a plan.Action, req RotateNowRequest, c IAM, store KeyStore, live []liveKey, sv secretView) Outcome {
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	orphans, err := r.emergencyOrphans(ctx, c, live, tags, sv, req.KeyID)
	if err != nil {
		return failed(a, err)
	}
	live = without(live, orphans)
	// resume: the newest key is stored withheld, never readable by the user.
	var resume *liveKey
	if sv.withheld {
		resume = sv.curKey(live)
		if resume == nil && len(live) == 1 && live[0].ID == sv.cur.Value.AccessKeyID && live[0].Status == inventory.KeyActive {
			resume = &live[0] // the named key was deleted to make room
		}
	}
	if o, ok := r.emergencyFinished(ctx, a, req, c, store, live, tags, sv); ok {
		return o
	}
	var target *liveKey
	gone := false // the named key is no longer the user's: keyrot deleted it
	if req.KeyID != "" {
		if target = findKey(live, req.KeyID); target == nil {
			if r.deletedByKeyrot(ctx, a, req.KeyID) == "" {
				return r.notUsersKey(ctx, a, req.KeyID)
			}
			gone = true
		}
		if target != nil && resume != nil && resume.ID == target.ID {
			resume = nil // the stored key itself is reported compromised
		}
	} else {
		// The key to cut off: the user's active key that is not the secret's
		// current key (a rotation in progress, whose new key is compromised
		// too when the user could read it) nor a withheld new key.
		var active []liveKey
		for _, k := range live {
			if k.Status != inventory.KeyActive || (resume != nil && k.ID == resume.ID) {
				continue
			}
			if cur := sv.curKey(live); cur != nil && k.ID == cur.ID && len(live) == 2 && live[0].Status == inventory.KeyActive {
				continue
			}
			active = append(active, k)
		}
		switch {
		case len(active) == 1:
			target = &active[0]
		case len(active) > 1:
			return refused(a, ErrKeyRequired, fmt.Sprintf("user %s has two active keys (%s): name the key to rotate (--key)", a.User, keysText(live)))
		case resume != nil:
			for i := range live { // already cut off: still name it
				if live[i].ID != resume.ID {
					target = &live[i]
				}
			}
		}
	}
	switch {
	case target != nil:
		a.KeyID = target.ID
	case gone:
		a.KeyID = req.KeyID
	}
	// tainted: the user's other active keys the compromised key could read
	// from the secret.
	var tainted []liveKey
	for _, k := range live {
		if k.Status == inventory.KeyActive && (target == nil || k.ID != target.ID) && (resume == nil || k.ID != resume.ID) && sv.readable[k.ID] {
			tainted = append(tainted, k)
		}
	}
	makeRoom := false
	if resume == nil && len(live) >= 2 {
		var other *liveKey
		for i := range live {
			if target == nil || live[i].ID != target.ID {
				other = &live[i]
			}
		}
		switch {
		case target == nil:
			return outcomeOf(a, Blocked, "user already has two access keys ("+keysText(live)+"); delete one first")
		case target.Status == inventory.KeyActive && other.Status != inventory.KeyActive:
			// Cutting the target off first would leave the user no working key.
			return outcomeOf(a, Blocked, fmt.Sprintf("user already has two access keys (%s): %s is its only active key, so keyrot will not cut it off before a new key works, and there is no room for one; delete the inactive key %s first",
				keysText(live), inventory.MaskKeyID(target.ID), inventory.MaskKeyID(other.ID)))
		default:
			makeRoom = true // deactivate the target at once, delete it, then create
		}
	}
	if r.o.DryRun || r.o.AuditOnly {
		var parts []string
		if len(orphans) > 0 {
			parts = append(parts, "delete key(s) "+masked(orphans)+" left by an interrupted keyrot rotation")
		}
		switch {
		case resume != nil:
			parts = append(parts, "finish the emergency rotation in progress (verify new key "+inventory.MaskKeyID(resume.ID)+")")
		case makeRoom:
			parts = append(parts, "deactivate and delete compromised key "+inventory.MaskKeyID(target.ID)+" of "+a.User+", then create its replacement")
		default:
			parts = append(parts, "rotate the key of "+a.User)
		}
		if len(tainted) > 0 {
			parts = append(parts, "deactivate key(s) "+masked(tainted)+" whose secret the compromised key could read")
		}
		o := outcomeOf(a, Skipped, "would "+strings.Join(parts, "; "))
		o.WouldDo = true
		return o
	}
	for _, k := range orphans {
		del := a
		del.KeyID = k.ID
		del.Reason = a.Reason + ": key left by an interrupted keyrot rotation"
		if o := r.deleteNow(ctx, del, c, history.KindDeleteOrphan, TagPending); o.Status != Succeeded {
			return o
		}
	}
	if len(orphans) == 0 && !tags.PendingSince.IsZero() && resume == nil {
		// A creation was marked and no key came of it (or it was deleted):
		// under the lease the mark is a dead run's; it must not hold an
		// emergency rotation back for the lease's TTL.
		if err := r.step("before-untag"); err != nil {
			return failed(a, err)
		}
		if err := untagUser(ctx, c, a.User, TagPending); err != nil {
			return failed(a, err)
		}
	}
	var res Outcome
	var cutOff []liveKey // active keys to deactivate once the new key works
	switch {
	case resume != nil:
		if !tags.PendingSince.IsZero() {
			// The store may have stopped before its tags: write them again
			// (dated by the version, AWS's clock), then clear the pending mark.
			if err := store.Retag(ctx, sv.cur.ARN, nameData(a), resume.ID, sv.cur.Created); err != nil {
				return failed(a, fmt.Errorf("new key %s is stored, but repairing its secret's tags: %w", inventory.MaskKeyID(resume.ID), err))
			}
			if err := r.step("before-untag"); err != nil {
				return failed(a, err)
			}
			if err := untagUser(ctx, c, a.User, TagPending); err != nil {
				r.e.log().Warn("clear pending tag", "account", a.AccountID, "user", a.User, "err", err)
			}
		}
		if err := r.step("before-verify"); err != nil {
			return failed(a, err)
		}
		if err := r.verifyKey(ctx, a.AccountID, resume.ID, sv.cur.Value.SecretAccessKey, a.UserARN); err != nil {
			return failed(a, fmt.Errorf("compromised key left active: %w", err))
		}
		res = outcomeOf(a, Succeeded, "")
		res.NewKeyID, res.SecretARN, res.SecretName = resume.ID, sv.cur.ARN, sv.cur.Name
		res.FetchCommand = secretstore.FetchCommand(sv.cur.ARN, store.Config().Region)
		var ok bool
		if res, ok = r.deliverNew(ctx, a, c, tags, resume.ID, res, req.deliverWait()); !ok {
			return res
		}
		if target != nil && target.Status == inventory.KeyActive {
			cutOff = append(cutOff, *target)
		}
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
		rest := without(live, []liveKey{*target})
		a.Expect = nil
		for _, k := range rest {
			a.Expect = append(a.Expect, plan.KeyState{ID: k.ID, Status: k.Status})
		}
		res = r.createKey(ctx, a, createOpts{expect: a.Expect, checkExpect: true, readersOnly: true, manual: true, deliverWait: req.deliverWait()})
		if res.Status != Succeeded {
			return res
		}
	default:
		a.Expect = nil
		for _, k := range live {
			a.Expect = append(a.Expect, plan.KeyState{ID: k.ID, Status: k.Status})
		}
		res = r.createKey(ctx, a, createOpts{expect: a.Expect, checkExpect: true, readersOnly: true, manual: true, deliverWait: req.deliverWait()})
		if res.Status != Succeeded {
			return res
		}
		if target != nil && target.Status == inventory.KeyActive {
			cutOff = append(cutOff, *target)
		}
	}
	// The new key works: cut the compromised keys off, then let the user read.
	cutOff = append(cutOff, tainted...)
	for _, k := range cutOff {
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
	mn := inventory.MaskKeyID(res.NewKeyID)
	switch {
	case makeRoom:
		res.Detail = "compromised key " + inventory.MaskKeyID(a.KeyID) + " deactivated and deleted; new key " + mn + " stored and verified; secret readable by the user"
	case gone:
		res.Detail = "compromised key " + inventory.MaskKeyID(a.KeyID) + " was already deleted by keyrot; new key " + mn + " stored and verified; secret readable by the user"
	default:
		res.Detail = "new key " + mn + " stored and verified; compromised key deactivated; secret readable by the user"
	}
	if len(orphans) > 0 {
		res.Detail = "key(s) " + masked(orphans) + " left by an interrupted keyrot rotation deleted; " + res.Detail
	}
	if len(tainted) > 0 {
		res.Detail += "; key(s) " + masked(tainted) + " deactivated too: their secret was readable with the compromised key"
	}
	if bad := undelivered(res.Deliveries); len(bad) > 0 {
		res.Detail += fmt.Sprintf("; cut off without waiting longer for %d destination(s) not updated, which still hold the old key: %s; deliver the new key there (the same keyrot rotate --now --compromised again, or by hand)",
			len(bad), deliveryText(bad))
	} else if len(res.Deliveries) > 0 {
		res.Detail += fmt.Sprintf("; delivered to every destination (%d) first", len(res.Deliveries))
	}
	return res
}

// deliverWait is the bound on an emergency rotation's delivery.
func (req RotateNowRequest) deliverWait() time.Duration {
	if req.DeliverWait > 0 {
		return req.DeliverWait
	}
	return DefaultEmergencyDeliverWait
}

// emergencyFinished reports, with ok, a compromised key's rotation that
// already finished (its process died before it could say so): the
// secret's AWSCURRENT is the granted new key of an emergency rotation, the
// user's newest key and active, and every other active key of the user is
// neither the one the request names nor readable from the secret. It
// verifies the key and grants the user again (both idempotent), then
// delivers the key to the user's destinations as they are configured now
// (the ones its bounded wait gave up on). Without
// --key the request is taken for a rerun too: to replace that new key as
// compromised, name it.
func (r *runner) emergencyFinished(ctx context.Context, a plan.Action, req RotateNowRequest, c IAM, store KeyStore, live []liveKey, tags userTags, sv secretView) (Outcome, bool) {
	if !sv.emergencyDone || req.KeyID == sv.cur.Value.AccessKeyID {
		return Outcome{}, false
	}
	k := sv.curKey(live)
	if k == nil {
		return Outcome{}, false
	}
	a.KeyID = req.KeyID
	for _, l := range live {
		if l.ID == k.ID {
			continue
		}
		if l.Status == inventory.KeyActive && (req.KeyID == "" || l.ID == req.KeyID || sv.readable[l.ID]) {
			return Outcome{}, false
		}
		if a.KeyID == "" {
			a.KeyID = l.ID
		}
	}
	o := outcomeOf(a, Succeeded, "")
	o.NewKeyID, o.SecretARN, o.SecretName = k.ID, sv.cur.ARN, sv.cur.Name
	o.FetchCommand = secretstore.FetchCommand(sv.cur.ARN, store.Config().Region)
	if r.o.DryRun || r.o.AuditOnly {
		o.Status, o.Detail = Skipped, "the emergency rotation is already finished: new key "+inventory.MaskKeyID(k.ID)+" is stored and readable by the user"
		return o, true
	}
	if err := r.step("before-verify"); err != nil {
		return failed(a, err), true
	}
	if err := r.verifyKey(ctx, a.AccountID, k.ID, sv.cur.Value.SecretAccessKey, a.UserARN); err != nil {
		return failed(a, fmt.Errorf("emergency rotation finished, but its new key: %w", err)), true
	}
	if err := r.step("before-grant"); err != nil {
		return failed(a, err), true
	}
	if err := store.Grant(ctx, sv.cur.ARN, a.UserARN); err != nil {
		return failed(a, fmt.Errorf("granting %s read access to its new secret: %w", a.User, err)), true
	}
	o.Detail = "the emergency rotation was already finished: new key " + inventory.MaskKeyID(k.ID) + " stored and verified, the compromised key off, secret readable by the user"
	// The destinations its bounded wait gave up on get the key now (a
	// destination that holds it already is not written again).
	// On a crash deliverNew's outcome is the failure.
	o, _ = r.deliverNew(ctx, a, c, tags, k.ID, o, req.deliverWait())
	return o, true
}
