package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// The lifecycle of IAM service-specific credentials (CodeCommit HTTPS Git
// credentials, Amazon Keyspaces credentials, Amazon Bedrock long-term API
// keys), per user and service, with the default periods:
//
//	day 90  (rotate_after)      create a second credential of the service, store it, tell the owner
//	day 100 (deactivate_after)  deactivate the old one, at least 10 days after the new one was stored
//	day 110 (delete_after)      delete it, at least 10 days after keyrot deactivated it
//
// AWS records no last use for these credentials (IAM's
// ServiceSpecificCredentialMetadata has no last-used field, and the
// credential report no column for them), so there is no usage gate: the
// gate is time and notice. The old credential is deactivated only once the
// new one has been stored and its owner told for the whole window, and
// rollback re-activates it. keyrot's records are the tags of the service
// secret (ServiceRecord).

// Kinds of the service-specific credential lifecycle.
const (
	// CreateServiceCredential creates a second credential of Action.Service
	// for the user, replacing KeyID, and stores it. With a pending mark
	// (an interrupted creation) it first deletes the interrupted
	// creation's credential if it was never stored.
	CreateServiceCredential Kind = "create-service-credential"
	// DeactivateServiceCredential deactivates the credential a stored one replaced.
	DeactivateServiceCredential Kind = "deactivate-service-credential"
	// DeleteServiceCredential deletes a credential keyrot deactivated (or an
	// expired API key a stored one replaced), or the never-stored
	// credential of an interrupted creation (Evidence "orphan").
	DeleteServiceCredential Kind = "delete-service-credential"
)

// ServiceKind reports whether k is a kind of the service-specific
// credential lifecycle.
func ServiceKind(k Kind) bool {
	return k == CreateServiceCredential || k == DeactivateServiceCredential || k == DeleteServiceCredential
}

// ServiceRef names one user's credentials of one service.
type ServiceRef struct{ Account, User, Service string }

// ServiceRecord is what keyrot knows of a user's rotation of one service's
// credentials: the tags of the service secret.
type ServiceRecord struct {
	SecretARN string
	// CredentialID is the credential the secret's current version holds,
	// stored at StoredAt.
	CredentialID string
	StoredAt     time.Time
	// PendingSince is when a creation began that has not finished;
	// PendingBefore the credential IDs the user had then.
	PendingSince  time.Time
	PendingBefore []string
	// DeactivatedID was deactivated by keyrot at DeactivatedAt.
	DeactivatedID string
	DeactivatedAt time.Time
	// RolledBackID was re-activated by rollback at RolledBackAt.
	RolledBackID string
	RolledBackAt time.Time
}

// CreatedByPending reports whether credential id, created at created
// (AWS's time), is the credential of the interrupted creation the record's
// pending mark names (the rule of the access keys' CreatedByPending).
func (r ServiceRecord) CreatedByPending(id string, created time.Time) bool {
	if id == r.CredentialID {
		return false
	}
	return CreatedByPending(Rotation{PendingSince: r.PendingSince, PendingBefore: strings.Join(r.PendingBefore, "/"), PendingBeforeKnown: true}, id, created)
}

// Services is the planner's input for service-specific credentials.
type Services struct {
	Lifecycle Lifecycle
	// APIKeyMaxLifetime caps the lifetime of a Bedrock API key keyrot
	// creates (0: no cap); see APIKeyLifetime.
	APIKeyMaxLifetime time.Duration
	// Records are keyrot's records by user and service.
	Records map[ServiceRef]ServiceRecord
}

// APIKeyLifetime is the lifetime a rotation gives the new Bedrock API key
// replacing old: the old key's own lifetime (creation to expiry), capped
// by the policy's maximum; the maximum if the old key never expires; and,
// with neither, delete_after. Never "no expiry": AWS recommends
// short-lived keys. It is at least one day, IAM's minimum.
func (s Services) APIKeyLifetime(old inventory.ServiceCredential) time.Duration {
	var d time.Duration
	if old.ExpirationDate != nil {
		d = old.ExpirationDate.Sub(old.CreateDate)
	}
	if s.APIKeyMaxLifetime > 0 && (d <= 0 || d > s.APIKeyMaxLifetime) {
		d = s.APIKeyMaxLifetime
	}
	if d <= 0 {
		d = s.Lifecycle.DeleteAfter
	}
	return max(d, 24*time.Hour)
}

// RotateDue is when credential c is due to be replaced: rotate_after from
// its creation, or, for an API key that expires, early enough before its
// expiry that the owner has the whole switch window with both keys.
func (s Services) RotateDue(c inventory.ServiceCredential) time.Time {
	due := c.CreateDate.Add(s.Lifecycle.RotateAfter)
	if c.ExpirationDate != nil {
		if e := c.ExpirationDate.Add(-(s.Lifecycle.DeactivateAfter - s.Lifecycle.RotateAfter)); e.Before(due) {
			due = e
		}
	}
	return due
}

// serviceActions plans the user's service-specific credentials.
func (p *userPlanner) serviceActions(s *Services) { p.planServices(s, false) }

// serviceOrphans plans, for an exempt user, only the deletion of the
// never-stored credentials of interrupted creations: keyrot's own
// leftovers, which nobody holds, are cleaned up for every user.
func (p *userPlanner) serviceOrphans(s *Services) { p.planServices(s, true) }

func (p *userPlanner) planServices(s *Services, orphansOnly bool) {
	if s == nil {
		return
	}
	for _, svc := range inventory.CredentialServices {
		var creds []inventory.ServiceCredential
		for _, c := range p.u.ServiceCredentials {
			if c.Service == svc {
				creds = append(creds, c)
			}
		}
		if len(creds) == 0 {
			continue
		}
		sp := servicePlanner{userPlanner: p, s: s, svc: svc, creds: creds, rec: s.Records[ServiceRef{p.a.ID, p.u.Name, svc}], orphansOnly: orphansOnly}
		sp.plan()
	}
}

type servicePlanner struct {
	*userPlanner
	s     *Services
	svc   string
	creds []inventory.ServiceCredential
	rec   ServiceRecord
	// orphansOnly plans nothing but the orphans' deletion (an exempt user).
	orphansOnly bool
}

func (p *servicePlanner) expectCreds() []KeyState {
	ks := make([]KeyState, 0, len(p.creds))
	for _, c := range p.creds {
		ks = append(ks, KeyState{ID: c.ID, Status: c.Status})
	}
	return ks
}

func (p *servicePlanner) evidence(c inventory.ServiceCredential) Evidence {
	ev := Evidence{
		"service": p.svc, "status": string(c.Status), "created": fmtTime(c.CreateDate),
		"age_days": fmt.Sprint(inventory.AgeDays(c.CreateDate, p.now)),
		// There is no last use to judge: say so in every action.
		"last_used": "not recorded by AWS for service-specific credentials",
	}
	if c.ExpirationDate != nil {
		ev["expires"] = fmtTime(*c.ExpirationDate)
	}
	return ev
}

func (p *servicePlanner) action(kind Kind, id, reason string, due time.Time, ev Evidence) Action {
	return Action{
		ID: fmt.Sprintf("%s/%s/%s/%s/%s", kind, p.a.ID, p.u.Name, serviceShort(p.svc), id), Kind: kind,
		AccountID: p.a.ID, AccountName: p.a.Name, User: p.u.Name, UserARN: p.u.ARN, Service: p.svc,
		KeyID: id, Reason: reason, Due: due, Expect: p.expectCreds(), Evidence: ev,
	}
}

func (p *servicePlanner) do(kind Kind, id, reason string, due time.Time, ev Evidence) {
	p.actions = append(p.actions, p.action(kind, id, reason, due, ev))
}

func (p *servicePlanner) block(id, reason string, ev Evidence) {
	p.blocked = append(p.blocked, p.action(Blocked, id, reason, time.Time{}, ev))
}

func (p *servicePlanner) soon(kind Kind, id string, due time.Time) {
	p.upcoming = append(p.upcoming, Upcoming{Kind: kind, AccountID: p.a.ID, User: p.u.Name, Service: p.svc, KeyID: id, Due: due})
}

func (p *servicePlanner) plan() {
	lc := p.s.Lifecycle
	var orphans, creds []inventory.ServiceCredential
	for _, c := range p.creds {
		if p.rec.CreatedByPending(c.ID, c.CreateDate) {
			orphans = append(orphans, c)
			continue
		}
		creds = append(creds, c)
	}
	for _, o := range orphans {
		ev := p.evidence(o)
		ev["orphan"], ev["pending_since"] = "true", fmtTime(p.rec.PendingSince)
		due := o.CreateDate.Add(lc.OrphanGrace)
		if p.now.Before(due) {
			p.soon(DeleteServiceCredential, o.ID, due)
			continue
		}
		p.do(DeleteServiceCredential, o.ID, "credential created by an interrupted rotation whose secret was never stored: nobody holds it", due, ev)
	}
	if len(orphans) > 0 || p.orphansOnly {
		return // the rotation starts again once the orphans are gone
	}
	var stored *inventory.ServiceCredential
	for i := range creds {
		if creds[i].ID == p.rec.CredentialID && creds[i].Status == inventory.KeyActive {
			stored = &creds[i]
		}
	}
	if stored != nil {
		replaced := false
		for _, c := range creds {
			if c.ID != stored.ID && c.CreateDate.Before(stored.CreateDate) {
				p.planReplaced(*stored, c)
				replaced = true
			}
		}
		if replaced {
			return
		}
	}
	p.planRegular(creds)
}

// planReplaced plans the credential old that the stored credential
// replaced: its deactivation, then its deletion.
func (p *servicePlanner) planReplaced(stored, old inventory.ServiceCredential) {
	lc := p.s.Lifecycle
	ev := p.evidence(old)
	ev["new_credential"], ev["new_credential_stored"] = stored.ID, fmtTime(p.rec.StoredAt)
	switch old.Status {
	case inventory.KeyActive:
		if p.rec.RolledBackID == old.ID && p.rec.RolledBackAt.After(p.rec.StoredAt) {
			ev["rolled_back"] = fmtTime(p.rec.RolledBackAt)
			p.block(old.ID, "old credential was re-activated by rollback; keyrot leaves it active: to finish the rotation once its users have the new one, deactivate it by hand (keyrot then deletes it after the window); to abandon it, delete the new one", ev)
			return
		}
		due := lc.DeactivationDue(old.CreateDate, p.rec.StoredAt)
		if p.now.Before(due) {
			p.soon(DeactivateServiceCredential, old.ID, due)
			return
		}
		p.do(DeactivateServiceCredential, old.ID, fmt.Sprintf(
			"replaced by %s, stored on %s and announced to its owner then; AWS records no last use for service-specific credentials, so the gate is time and notice: %s after the store (deactivation due %s)",
			inventory.MaskKeyID(stored.ID), ymdOf(p.rec.StoredAt), days(lc.DeactivateAfter-lc.RotateAfter), ymdOf(due)), due, ev)
	default: // Inactive, or an API key past its expiry
		at := p.rec.DeactivatedAt
		switch {
		case p.rec.DeactivatedID == old.ID && !at.IsZero() && !(p.rec.RolledBackID == old.ID && !p.rec.RolledBackAt.Before(at)):
		case old.Status == inventory.KeyExpired && old.ExpirationDate != nil:
			at = *old.ExpirationDate
		default:
			return // not deactivated by keyrot: the audit reports it lingering
		}
		ev["deactivated"] = fmtTime(at)
		due := lc.DeletionDue(old.CreateDate, at)
		if p.now.Before(due) {
			p.soon(DeleteServiceCredential, old.ID, due)
			return
		}
		p.do(DeleteServiceCredential, old.ID, fmt.Sprintf("replaced by %s and %s since %s; deletion due %s",
			inventory.MaskKeyID(stored.ID), strings.ToLower(string(old.Status)), ymdOf(at), ymdOf(due)), due, ev)
	}
}

// planRegular plans a user with no rotation in progress: the oldest active
// credential past its rotation date is replaced, if the quota allows.
func (p *servicePlanner) planRegular(creds []inventory.ServiceCredential) {
	var due *inventory.ServiceCredential
	for i := range creds {
		c := &creds[i]
		if c.Status != inventory.KeyActive {
			continue
		}
		if due == nil || c.CreateDate.Before(due.CreateDate) {
			due = c
		}
	}
	if due == nil {
		return
	}
	when := p.s.RotateDue(*due)
	if p.now.Before(when) {
		p.soon(CreateServiceCredential, due.ID, when)
		return
	}
	ev := p.evidence(*due)
	if due.APIKey() {
		ev["new_lifetime_days"] = fmt.Sprint(int(p.s.APIKeyLifetime(*due) / (24 * time.Hour)))
	}
	if len(creds) >= 2 {
		others := slices.DeleteFunc(slices.Clone(creds), func(c inventory.ServiceCredential) bool { return c.ID == due.ID })
		p.block(due.ID, fmt.Sprintf("credential is due for rotation, but the user already has two %s credentials (IAM's quota per user and service; %s is %s): delete the one no longer needed, and keyrot rotates on its next run",
			serviceShort(p.svc), inventory.MaskKeyID(others[0].ID), others[0].Status), ev)
		return
	}
	reason := fmt.Sprintf("%s credential is %d days old (rotate_after %s)", serviceShort(p.svc), inventory.AgeDays(due.CreateDate, p.now), days(p.s.Lifecycle.RotateAfter))
	if due.ExpirationDate != nil && when.Before(due.CreateDate.Add(p.s.Lifecycle.RotateAfter)) {
		reason = fmt.Sprintf("API key expires on %s: replaced %s before, so that its owner can switch while both work", ymdOf(*due.ExpirationDate), days(p.s.Lifecycle.DeactivateAfter-p.s.Lifecycle.RotateAfter))
	}
	if !p.rec.PendingSince.IsZero() {
		ev["pending_since"] = fmtTime(p.rec.PendingSince)
	}
	p.do(CreateServiceCredential, due.ID, reason+"; a second credential is created and stored, and the owner told", when, ev)
}

// serviceShort is the short name of a credential service, for IDs and text.
func serviceShort(svc string) string {
	switch svc {
	case inventory.ServiceCodeCommit:
		return "codecommit"
	case inventory.ServiceKeyspaces:
		return "keyspaces"
	case inventory.ServiceBedrock:
		return "bedrock"
	}
	s, _, _ := strings.Cut(svc, ".")
	return s
}

// ServiceShort is the short name of a credential service ("codecommit",
// "keyspaces", "bedrock"), as in action IDs and secret names.
func ServiceShort(svc string) string { return serviceShort(svc) }

func ymdOf(t time.Time) string { return t.UTC().Format("2006-01-02") }
