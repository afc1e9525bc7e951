// Package plan decides what keyrot should do to each IAM user's access keys.
// It is pure: Build takes the collected facts, the lifecycle settings and
// "now", and returns the actions with their reasons, the items a human must
// resolve, and the deadlines ahead. It performs no I/O and never reads the
// clock, so every decision is reproducible from its inputs.
//
// The lifecycle, per user, with the default periods:
//
//	day 90  (rotate_after)      create a new key, store it, verify it, tell the owner
//	day 100 (deactivate_after)  deactivate the old key, only if unused since the new key was stored
//	day 110 (delete_after)      delete the old key, only if it stayed inactive and unused
//
// Windows hold even when keyrot meets a key late: deactivation waits at least
// deactivate_after-rotate_after after the new key was stored, and deletion at
// least delete_after-deactivate_after after deactivation. Those dates come
// from keyrot's own records (Rotation), never from the other key's creation.
package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// Kind is what an action does.
type Kind string

// Action kinds. Only these change AWS; everything else is reported.
const (
	// CreateKey creates a new key, stores it, verifies it and announces it.
	CreateKey Kind = "create-key"
	// DeactivateKey deactivates a key, gated on it being unused since Gate.UnusedSince.
	DeactivateKey Kind = "deactivate-key"
	// DeleteKey deletes an inactive key, gated on it being still inactive and unused since Gate.UnusedSince.
	DeleteKey Kind = "delete-key"
	// DeleteOrphan deletes a key keyrot created whose secret was never stored.
	DeleteOrphan Kind = "delete-orphan"
	// Blocked marks an item in Plan.Blocked: nothing is done.
	Blocked Kind = "blocked"
)

// usageGranularity is how coarse IAM's last-used dates may be: a use just
// after a moment can be reported up to this much before it.
const usageGranularity = 15 * time.Minute

// Lifecycle holds the periods of the rotation lifecycle.
type Lifecycle struct {
	RotateAfter     time.Duration
	DeactivateAfter time.Duration
	DeleteAfter     time.Duration
	// UnusedAfter is how long an active key may go unused (never-used keys
	// count from creation) before it is deactivated rather than rotated.
	UnusedAfter time.Duration
	// DeactivateUnused turns deactivation of unused keys on.
	DeactivateUnused bool
	// OrphanGrace is how long an orphan key is left alone before deletion.
	OrphanGrace time.Duration
}

// DefaultLifecycle is the CIS/AWS default: 90/100/110 days, 45 days unused.
func DefaultLifecycle() Lifecycle {
	const day = 24 * time.Hour
	return Lifecycle{RotateAfter: 90 * day, DeactivateAfter: 100 * day, DeleteAfter: 110 * day,
		UnusedAfter: 45 * day, DeactivateUnused: true, OrphanGrace: time.Hour}
}

// DeactivationDue is when the old key of a rotation is due to be
// deactivated: deactivate_after from its creation, but never less than the
// window between rotation and deactivation after the new key was stored.
// It is the one place this date is computed.
func (l Lifecycle) DeactivationDue(oldCreated, newStored time.Time) time.Time {
	return later(oldCreated.Add(l.DeactivateAfter), newStored.Add(l.DeactivateAfter-l.RotateAfter))
}

// DeletionDue is when an inactive key is due to be deleted: delete_after
// from its creation, but never less than the window between deactivation
// and deletion after it was deactivated (or first seen inactive). It is
// the one place this date is computed.
func (l Lifecycle) DeletionDue(created, deactivated time.Time) time.Time {
	return later(created.Add(l.DeleteAfter), deactivated.Add(l.DeleteAfter-l.DeactivateAfter))
}

// Validate checks that the periods are ordered.
func (l Lifecycle) Validate() error {
	if !(0 < l.RotateAfter && l.RotateAfter < l.DeactivateAfter && l.DeactivateAfter < l.DeleteAfter) {
		return fmt.Errorf("lifecycle must satisfy 0 < rotate_after < deactivate_after < delete_after (got %s, %s, %s)",
			days(l.RotateAfter), days(l.DeactivateAfter), days(l.DeleteAfter))
	}
	if l.UnusedAfter <= 0 {
		return fmt.Errorf("unused_after must be positive")
	}
	return nil
}

// Limits are the blast-radius guardrails of one run.
type Limits struct {
	MaxChanges           int // 0 means no limit
	MaxChangesPerAccount int // 0 means no limit
}

// Rotation is what keyrot knows about a user's rotation from its own
// records (history and the secret's versions).
type Rotation struct {
	// NewKeyID is the key keyrot created and stored; StoredAt is when its
	// secret version was stored; SecretARN where.
	NewKeyID  string
	StoredAt  time.Time
	SecretARN string
	// DeactivatedKeyID was deactivated (or first seen inactive) at DeactivatedAt.
	DeactivatedKeyID string
	DeactivatedAt    time.Time
	// RolledBackAt is when the old key was re-activated by rollback; while
	// set (after StoredAt), keyrot does not deactivate it again.
	RolledBackAt time.Time
	// RolledBackKeyID is the key rollback re-activated. A key rolled back
	// after being deactivated as unused counts as idle only from then.
	RolledBackKeyID string
	// PendingSince is when a key creation was started and not yet stored;
	// a key created after it that is not NewKeyID is an orphan (see
	// CreatedByPending).
	PendingSince time.Time
	// PendingBefore lists the IDs of the keys the user had when the pending
	// mark was written, separated by "/", when the mark says
	// (PendingBeforeKnown): none of them is the interrupted creation's key.
	PendingBefore      string
	PendingBeforeKnown bool
	// Problem, when set, is why keyrot cannot work on this user safely (its
	// records could not be read or written): the user is blocked with it,
	// and no action is planned for it.
	Problem string
	// ConsoleNoticeAt is when keyrot first found the user's console
	// password unused past unused_after and told its owner (console.go).
	ConsoleNoticeAt time.Time
}

// UserRef names a user in an account.
type UserRef struct{ Account, User string }

// Exemption is the planner's view of a policy exemption.
type Exemption struct {
	Exempt bool
	Reason string
	// Lifecycle, when set, replaces the default periods for this user.
	Lifecycle *Lifecycle
	// ConsoleExempt: the user's console password is exempt from the
	// console-unused rule, whatever Exempt says of its keys.
	ConsoleExempt bool
}

// Input is everything Build decides from.
type Input struct {
	Snapshot  *inventory.Snapshot
	Lifecycle Lifecycle
	Limits    Limits
	Rotations map[UserRef]Rotation
	// Exempt says whether a user is exempt; nil means nobody is.
	Exempt func(a *inventory.Account, u *inventory.User) Exemption
	// SecretDue, when set, plans a rotate-secret action for each overdue
	// secret whose rotation is configured (secrets.go); nil plans none.
	SecretDue SecretDue
	// Console is the console password lifecycle (console.go); the zero
	// value plans no console action.
	Console ConsoleLifecycle
	// Services, when set, plans the rotation of service-specific
	// credentials (services.go); nil plans none.
	Services *Services
}

// Gate is a live check the executor makes just before acting.
type Gate struct {
	// UnusedSince: the key's last use (read live) must be before this time
	// minus IAM's reporting granularity. Zero means no usage check.
	UnusedSince time.Time `json:"unused_since,omitzero"`
	// RequireStatus: the key must still have this status.
	RequireStatus inventory.KeyStatus `json:"require_status,omitempty"`
}

// KeyState is a key as the plan saw it; the executor refuses to act when
// the live state differs.
type KeyState struct {
	ID     string              `json:"id"`
	Status inventory.KeyStatus `json:"status"`
}

// Action is one change to make, or (in Blocked) one a human must make.
type Action struct {
	ID          string `json:"id"`
	Kind        Kind   `json:"kind"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	User        string `json:"user"`
	UserARN     string `json:"user_arn,omitempty"`
	// KeyID is the key acted on; for CreateKey, the key being replaced.
	KeyID  string `json:"key_id,omitempty"`
	Reason string `json:"reason"`
	// Due is when the action became due.
	Due  time.Time `json:"due,omitzero"`
	Gate Gate      `json:"gate,omitzero"`
	// Expect is the user's keys as planned; the executor checks them live.
	Expect []KeyState `json:"expect"`
	// Evidence is the facts behind the decision.
	Evidence Evidence `json:"evidence,omitempty"`
	// Deferred explains why a due action was held back (guardrails).
	Deferred string `json:"deferred,omitempty"`
	// Resource and Region name the account resource an action is about
	// (a secret's ARN for rotate-secret); empty for users' keys.
	Resource string `json:"resource,omitempty"`
	Region   string `json:"region,omitempty"`
	// Service is the service of a service-specific credential action
	// (codecommit.amazonaws.com, ...); KeyID is then the credential's ID.
	Service string `json:"service,omitempty"`
}

// Upcoming is a deadline ahead, for reports and reminders.
type Upcoming struct {
	Kind      Kind      `json:"kind"`
	AccountID string    `json:"account_id"`
	User      string    `json:"user"`
	Service   string    `json:"service,omitempty"`
	KeyID     string    `json:"key_id"`
	Due       time.Time `json:"due"`
}

// Plan is the result of Build.
type Plan struct {
	GeneratedAt time.Time `json:"generated_at"`
	Lifecycle   Lifecycle `json:"-"`
	// Actions are the changes to make now, in execution order.
	Actions []Action `json:"actions"`
	// Deferred are due actions held back by the guardrails.
	Deferred []Action `json:"deferred"`
	// Blocked are situations keyrot will not resolve alone.
	Blocked []Action `json:"blocked"`
	// Upcoming are deadlines ahead.
	Upcoming []Upcoming `json:"upcoming"`
	// Accounts lists the accounts the plan covered, for --plan-file checks.
	Accounts []string `json:"accounts"`
}

// MarshalJSON writes empty lists as [] rather than null, so a reader can
// iterate every list without a null check.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	q := plain(p)
	for _, l := range []*[]Action{&q.Actions, &q.Deferred, &q.Blocked} {
		if *l == nil {
			*l = []Action{}
		}
		if slices.ContainsFunc(*l, func(a Action) bool { return a.Expect == nil }) {
			*l = slices.Clone(*l)
			for i := range *l {
				if (*l)[i].Expect == nil {
					(*l)[i].Expect = []KeyState{}
				}
			}
		}
	}
	if q.Upcoming == nil {
		q.Upcoming = []Upcoming{}
	}
	if q.Accounts == nil {
		q.Accounts = []string{}
	}
	return json.Marshal(q)
}

// Evidence is the facts behind a decision, by name. In JSON the numeric
// facts (names ending in _days) are numbers and the yes/no ones (names
// ending in _known) booleans; everything else, account and key IDs
// included, is a string. Decoding accepts both forms, so plans saved
// before numbers were numbers still load.
type Evidence map[string]string

// MarshalJSON writes numbers and booleans as such.
func (e Evidence) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e))
	for k, v := range e {
		m[k] = v
		switch {
		case strings.HasSuffix(k, "_days"):
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				m[k] = n
			}
		case strings.HasSuffix(k, "_known"):
			if b, err := strconv.ParseBool(v); err == nil {
				m[k] = b
			}
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads strings, numbers and booleans, keeping their text.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*e = nil
		return nil
	}
	out := make(Evidence, len(m))
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			out[k] = s
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		switch v.(type) {
		case float64, bool:
			out[k] = string(raw)
		default:
			return fmt.Errorf("evidence %q: want a string, number or boolean, got %s", k, raw)
		}
	}
	*e = out
	return nil
}

// Build computes the plan for every audited account of the snapshot.
func Build(in Input, now time.Time) *Plan {
	p := &Plan{GeneratedAt: now, Lifecycle: in.Lifecycle}
	var due []Action
	for ai := range in.Snapshot.Accounts {
		a := &in.Snapshot.Accounts[ai]
		if a.Status != inventory.AccountAudited {
			continue
		}
		p.Accounts = append(p.Accounts, a.ID)
		for ui := range a.Users {
			u := &a.Users[ui]
			lc := in.Lifecycle
			var ex Exemption
			if in.Exempt != nil {
				ex = in.Exempt(a, u)
				if ex.Exempt {
					// keyrot's own leftovers are cleaned up for every user.
					ub := userPlanner{a: a, u: u, lc: lc, r: in.Rotations[UserRef{a.ID, u.Name}], now: now}
					if ex.Lifecycle != nil {
						ub.lc = *ex.Lifecycle
					}
					ub.planExempt()
					if !ex.ConsoleExempt {
						ub.planConsole(in.Console)
					}
					ub.serviceOrphans(in.Services)
					due = append(due, ub.actions...)
					p.Blocked = append(p.Blocked, ub.blocked...)
					p.Upcoming = append(p.Upcoming, ub.upcoming...)
					continue
				}
				if ex.Lifecycle != nil {
					lc = *ex.Lifecycle
				}
			}
			ub := userPlanner{a: a, u: u, lc: lc, r: in.Rotations[UserRef{a.ID, u.Name}], now: now}
			ub.plan()
			if !ex.ConsoleExempt {
				ub.planConsole(in.Console)
			}
			ub.serviceActions(in.Services)
			due = append(due, ub.actions...)
			p.Blocked = append(p.Blocked, ub.blocked...)
			p.Upcoming = append(p.Upcoming, ub.upcoming...)
		}
		secrets, blocked := secretActions(a, in.SecretDue, now)
		due = append(due, secrets...)
		p.Blocked = append(p.Blocked, blocked...)
	}
	p.Actions, p.Deferred = ApplyLimits(due, in.Limits)
	sort.SliceStable(p.Blocked, func(i, j int) bool { return p.Blocked[i].ID < p.Blocked[j].ID })
	sort.SliceStable(p.Upcoming, func(i, j int) bool {
		if !p.Upcoming[i].Due.Equal(p.Upcoming[j].Due) {
			return p.Upcoming[i].Due.Before(p.Upcoming[j].Due)
		}
		return p.Upcoming[i].User < p.Upcoming[j].User
	})
	return p
}

// ApplyLimits keeps actions in order until a limit is reached. A user's
// actions are kept or deferred together, so room is never made for a key
// that is then not created. Build applies it; a saved plan run later gets
// the limits in force then.
func ApplyLimits(actions []Action, l Limits) (kept, deferred []Action) {
	total := 0
	perAcct := map[string]int{}
	for i := 0; i < len(actions); {
		j := i
		for j < len(actions) && actions[j].AccountID == actions[i].AccountID && actions[j].User == actions[i].User && actions[j].Resource == actions[i].Resource {
			j++
		}
		group := actions[i:j]
		n := len(group)
		acct := actions[i].AccountID
		switch {
		case l.MaxChanges > 0 && total+n > l.MaxChanges:
			for _, a := range group {
				a.Deferred = fmt.Sprintf("guardrail: at most %d changes per run", l.MaxChanges)
				deferred = append(deferred, a)
			}
		case l.MaxChangesPerAccount > 0 && perAcct[acct]+n > l.MaxChangesPerAccount:
			for _, a := range group {
				a.Deferred = fmt.Sprintf("guardrail: at most %d changes per account per run", l.MaxChangesPerAccount)
				deferred = append(deferred, a)
			}
		default:
			kept = append(kept, group...)
			total += n
			perAcct[acct] += n
		}
		i = j
	}
	return kept, deferred
}

func days(d time.Duration) string { return fmt.Sprintf("%gd", d.Hours()/24) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
