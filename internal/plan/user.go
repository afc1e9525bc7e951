package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// userPlanner decides for one user.
type userPlanner struct {
	a   *inventory.Account
	u   *inventory.User
	lc  Lifecycle
	r   Rotation
	now time.Time

	actions  []Action
	blocked  []Action
	upcoming []Upcoming
}

func (p *userPlanner) expect() []KeyState {
	ks := make([]KeyState, 0, len(p.u.Keys))
	for _, k := range p.u.Keys {
		ks = append(ks, KeyState{ID: k.ID, Status: k.Status})
	}
	return ks
}

func (p *userPlanner) action(kind Kind, keyID, reason string, due time.Time, gate Gate, ev map[string]string) Action {
	return Action{
		ID: fmt.Sprintf("%s/%s/%s/%s", kind, p.a.ID, p.u.Name, keyID), Kind: kind,
		AccountID: p.a.ID, AccountName: p.a.Name, User: p.u.Name, UserARN: p.u.ARN,
		KeyID: keyID, Reason: reason, Due: due, Gate: gate, Expect: p.expect(), Evidence: ev,
	}
}

func (p *userPlanner) do(kind Kind, keyID, reason string, due time.Time, gate Gate, ev map[string]string) {
	if keyID == "" || !p.idsKnown() {
		p.block(keyID, string(kind)+" is due but the user's access key IDs are unknown (credential report only); collect live key data (--fresh) to act", ev)
		return
	}
	p.actions = append(p.actions, p.action(kind, keyID, reason, due, gate, ev))
}

// idsKnown reports whether every key of the user has its ID: acting needs
// the exact keys, for the live checks against the plan.
func (p *userPlanner) idsKnown() bool {
	for _, k := range p.u.Keys {
		if k.ID == "" {
			return false
		}
	}
	return true
}

func (p *userPlanner) block(keyID, reason string, ev map[string]string) {
	a := p.action(Blocked, keyID, reason, time.Time{}, Gate{}, ev)
	p.blocked = append(p.blocked, a)
}

func (p *userPlanner) soon(kind Kind, keyID string, due time.Time) {
	p.upcoming = append(p.upcoming, Upcoming{Kind: kind, AccountID: p.a.ID, User: p.u.Name, KeyID: keyID, Due: due})
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func keyEvidence(k inventory.AccessKey, now time.Time) map[string]string {
	ev := map[string]string{
		"status":          string(k.Status),
		"created":         fmtTime(k.CreateDate),
		"age_days":        fmt.Sprint(inventory.AgeDays(k.CreateDate, now)),
		"last_used":       "never",
		"last_used_known": fmt.Sprint(k.LastUsedKnown),
	}
	if k.LastUsed != nil {
		ev["last_used"] = fmtTime(*k.LastUsed)
		ev["last_used_service"] = k.LastUsedService
		ev["last_used_region"] = k.LastUsedRegion
	}
	return ev
}

// idleSince is when the key was last used, or created if never used.
func idleSince(k inventory.AccessKey) time.Time {
	if k.LastUsed != nil {
		return *k.LastUsed
	}
	return k.CreateDate
}

func (p *userPlanner) plan() {
	if p.r.Problem != "" {
		p.blockProblem()
		return
	}
	keys := make([]inventory.AccessKey, 0, len(p.u.Keys))
	stuck := 0 // orphans not deleted this run still take a slot of the quota
	for _, k := range p.u.Keys {
		if p.isOrphan(k) {
			if !p.planOrphan(k) {
				stuck++
			}
			continue
		}
		keys = append(keys, k)
	}
	if p.r.NewKeyID != "" {
		var newKey, old *inventory.AccessKey
		for i := range keys {
			if keys[i].ID == p.r.NewKeyID {
				newKey = &keys[i]
			} else {
				old = &keys[i]
			}
		}
		// The key a rotation replaced existed before its new key; a key
		// created after it (by a person, for another application) is not
		// "the old key" and is planned as any other key.
		if newKey != nil && old != nil && !old.CreateDate.After(newKey.CreateDate) {
			p.planOldKey(*newKey, *old)
			return
		}
	}
	p.planRegular(keys, stuck)
}

// OrphanWindow bounds how long after the pending mark the marked creation
// can have created its key: CreateAccessKey follows the mark within seconds,
// SDK retries included. A key created later was created by someone else (a
// person rotating by hand after a run died or failed), and is never an
// orphan: its secret may well be held.
const OrphanWindow = 15 * time.Minute

// ClockAllowance is how far the clock of the host that wrote a pending mark
// may be from AWS's: IAM refuses requests signed more than 15 minutes away
// from its own time, so a host that could write the mark and create the key
// is at most that far off. A key's CreateDate is AWS's time, the mark's
// time the host's.
const ClockAllowance = 15 * time.Minute

// CreatedByPending reports whether the key keyID, created at created (AWS's
// CreateDate), is the key of the interrupted creation that r's pending mark
// records: it was not among the user's keys when the mark was written, and
// it was created within OrphanWindow after the mark, allowing
// ClockAllowance either way between the host's clock and AWS's. A mark
// written before keyrot recorded the user's keys in it allows one minute
// before it only, as then: a key created just before it may be one the
// user had. False when there is no pending mark.
func CreatedByPending(r Rotation, keyID string, created time.Time) bool {
	if r.PendingSince.IsZero() {
		return false
	}
	earliest := r.PendingSince.Add(-time.Minute)
	if r.PendingBeforeKnown {
		for _, id := range strings.Split(r.PendingBefore, "/") {
			if id != "" && id == keyID {
				return false
			}
		}
		earliest = r.PendingSince.Add(-ClockAllowance)
	}
	return !created.Before(earliest) && !created.After(r.PendingSince.Add(OrphanWindow+ClockAllowance))
}

// isOrphan reports whether k was created by an interrupted keyrot rotation
// and its secret was never stored.
func (p *userPlanner) isOrphan(k inventory.AccessKey) bool {
	if k.ID == p.r.NewKeyID {
		return false
	}
	return CreatedByPending(p.r, k.ID, k.CreateDate)
}

// planExempt plans for an exempt user: only the deletion of keyrot's own
// leftovers (orphans of an interrupted rotation, such as a killed rotate
// --now). keyrot changes nothing else of an exempt user.
func (p *userPlanner) planExempt() {
	if p.r.Problem != "" {
		return
	}
	for _, k := range p.u.Keys {
		if p.isOrphan(k) {
			p.planOrphan(k)
		}
	}
}

// blockProblem blocks the user with the problem gathering met: keyrot
// does not act on a user whose records it cannot read or write.
func (p *userPlanner) blockProblem() {
	keyID := ""
	if len(p.u.Keys) > 0 {
		keyID = p.u.Keys[0].ID
	}
	p.block(keyID, p.r.Problem, map[string]string{"problem": p.r.Problem})
}

// planOrphan plans an orphan's deletion and reports whether it is deleted this run.
func (p *userPlanner) planOrphan(k inventory.AccessKey) bool {
	ev := keyEvidence(k, p.now)
	ev["pending_since"] = fmtTime(p.r.PendingSince)
	if k.LastUsed != nil || !k.LastUsedKnown {
		p.block(k.ID, "key created by an interrupted rotation was used or its use is unknown: someone holds its secret; resolve by hand", ev)
		return false
	}
	due := k.CreateDate.Add(p.lc.OrphanGrace)
	if p.now.Before(due) {
		p.soon(DeleteOrphan, k.ID, due)
		return false
	}
	p.do(DeleteOrphan, k.ID, "key created by an interrupted rotation whose secret was never stored", due,
		Gate{UnusedSince: p.now.Add(usageGranularity)}, ev)
	return true
}

// planOldKey handles a rotation in progress: newKey is stored, old is the key it replaces.
func (p *userPlanner) planOldKey(newKey, old inventory.AccessKey) {
	lc := p.lc
	ev := keyEvidence(old, p.now)
	ev["new_key"] = newKey.ID
	ev["new_key_stored"] = fmtTime(p.r.StoredAt)
	if old.Active() {
		if !p.r.RolledBackAt.IsZero() && p.r.RolledBackAt.After(p.r.StoredAt) {
			ev["rolled_back"] = fmtTime(p.r.RolledBackAt)
			p.block(old.ID, "old key was re-activated by rollback; keyrot leaves it active: to finish the rotation once applications use the new key, deactivate the old key by hand (keyrot then deletes it after the rollback window); to abandon it, delete the new key", ev)
			return
		}
		due := lc.DeactivationDue(old.CreateDate, p.r.StoredAt)
		if p.now.Before(due) {
			p.soon(DeactivateKey, old.ID, due)
			return
		}
		p.do(DeactivateKey, old.ID, fmt.Sprintf("replaced by %s on %s; deactivation due %s", inventory.MaskKeyID(newKey.ID),
			p.r.StoredAt.UTC().Format("2006-01-02"), due.UTC().Format("2006-01-02")), due,
			Gate{UnusedSince: p.r.StoredAt, RequireStatus: inventory.KeyActive}, ev)
		return
	}
	p.planInactive(old, ev)
}

// planInactive schedules deletion of an inactive key.
func (p *userPlanner) planInactive(k inventory.AccessKey, ev map[string]string) {
	lc := p.lc
	deactAt := p.now // unknown: the window starts now (the executor records it)
	if p.r.DeactivatedKeyID == k.ID && !p.r.DeactivatedAt.IsZero() {
		deactAt = p.r.DeactivatedAt
	}
	ev["deactivated"] = fmtTime(deactAt)
	due := lc.DeletionDue(k.CreateDate, deactAt)
	if p.now.Before(due) {
		p.soon(DeleteKey, k.ID, due)
		return
	}
	p.do(DeleteKey, k.ID, fmt.Sprintf("inactive since %s; deletion due %s", deactAt.UTC().Format("2006-01-02"), due.UTC().Format("2006-01-02")),
		due, Gate{UnusedSince: deactAt, RequireStatus: inventory.KeyInactive}, ev)
}

// planRegular handles a user with no rotation in progress.
func (p *userPlanner) planRegular(keys []inventory.AccessKey, stuck int) {
	lc := p.lc
	var active, inactive []inventory.AccessKey
	for _, k := range keys {
		if k.Active() {
			active = append(active, k)
		} else {
			inactive = append(inactive, k)
		}
	}
	roomDue := time.Time{}
	for _, k := range inactive {
		n := len(p.actions)
		p.planInactive(k, keyEvidence(k, p.now))
		if len(p.actions) == n {
			roomDue = p.upcoming[len(p.upcoming)-1].Due
		}
	}
	// A rollback says the key is needed: its idle time starts again then.
	idle := func(k inventory.AccessKey) time.Time {
		if k.ID == p.r.RolledBackKeyID {
			return later(idleSince(k), p.r.RolledBackAt)
		}
		return idleSince(k)
	}
	var unknown, unused, used []inventory.AccessKey
	for _, k := range active {
		switch {
		case !k.LastUsedKnown:
			unknown = append(unknown, k)
		case lc.DeactivateUnused && !p.now.Before(idle(k).Add(lc.UnusedAfter)):
			unused = append(unused, k)
		default:
			used = append(used, k)
		}
	}
	for _, k := range unknown {
		p.block(k.ID, "last use of this key could not be read; keyrot does not act on a guess", keyEvidence(k, p.now))
	}
	for _, k := range unused {
		ev := keyEvidence(k, p.now)
		reason := fmt.Sprintf("unused since %s (more than %s): deactivated, not replaced", idle(k).UTC().Format("2006-01-02"), days(lc.UnusedAfter))
		if k.LastUsed == nil && idle(k).Equal(k.CreateDate) {
			reason = fmt.Sprintf("never used in %s since creation: deactivated, not replaced", days(p.now.Sub(k.CreateDate).Truncate(24*time.Hour)))
		}
		p.do(DeactivateKey, k.ID, reason, idle(k).Add(lc.UnusedAfter), Gate{UnusedSince: idle(k).Add(time.Second), RequireStatus: inventory.KeyActive}, ev)
	}
	if len(unknown) > 0 {
		return
	}
	switch len(used) {
	case 0:
		return
	case 2:
		a, b := used[0], used[1]
		ev := keyEvidence(a, p.now)
		ev["other_key"] = b.ID
		ev["other_last_used"] = fmtTime(idleSince(b))
		p.block(a.ID, "two active keys, both in use: keyrot will not choose which one an application depends on; deactivate one by hand", ev)
		return
	}
	k := used[0]
	due := k.CreateDate.Add(lc.RotateAfter)
	if p.now.Before(due) {
		p.soon(CreateKey, k.ID, due)
		return
	}
	ev := keyEvidence(k, p.now)
	// The quota is two keys, inactive ones included: room must be made first.
	occupied := len(keys) + stuck
	for _, a := range p.actions {
		if a.Kind == DeleteKey {
			occupied--
		}
	}
	if occupied >= 2 {
		ev["room_due"] = fmtTime(roomDue)
		p.block(k.ID, "rotation due but the user already has two keys; the other key must be deleted first"+dueText(roomDue), ev)
		return
	}
	p.do(CreateKey, k.ID, fmt.Sprintf("key is %d days old (rotate after %s)", inventory.AgeDays(k.CreateDate, p.now), days(lc.RotateAfter)), due, Gate{RequireStatus: inventory.KeyActive}, ev)
}

func dueText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " (its deletion is due " + t.UTC().Format("2006-01-02") + ")"
}
