package plan

import (
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// DisableConsole disables a user's console password (its login profile is
// deleted), gated on the password being unused since Gate.UnusedSince.
const DisableConsole Kind = "disable-console"

// ConsoleLifecycle holds the periods of the console password lifecycle:
//
//	unused_after   the owner is told the date the password will be disabled
//	disable_after  the password is disabled, no sooner than
//	               disable_after-unused_after after that notice
type ConsoleLifecycle struct {
	// DisableUnused turns the lifecycle on; off, no console action is planned.
	DisableUnused bool
	UnusedAfter   time.Duration
	DisableAfter  time.Duration
}

// DisableDue is when a password idle since idle, whose owner was first told
// at noticed, is due to be disabled: disable_after from idle, but never
// less than the notice period (disable_after-unused_after) after the
// notice. It is the one place this date is computed.
func (c ConsoleLifecycle) DisableDue(idle, noticed time.Time) time.Time {
	return later(idle.Add(c.DisableAfter), noticed.Add(c.DisableAfter-c.UnusedAfter))
}

// NoticeDue is when a password idle since idle is first found unused: its
// owner is told then.
func (c ConsoleLifecycle) NoticeDue(idle time.Time) time.Time { return idle.Add(c.UnusedAfter) }

// ConsoleIdleSince is when the user's console password was last used or
// set, whichever is later: a password never used counts from when it could
// first have been (the user's creation, or a later password change), and a
// password set since its last use (keyrot's restore, an administrator's
// reset) counts from then. Zero when the user has no enabled password.
func ConsoleIdleSince(u *inventory.User) time.Time {
	if u.Password == nil || !u.Password.Enabled {
		return time.Time{}
	}
	since := u.CreateDate
	for _, t := range []*time.Time{u.Password.LastChanged, u.Password.LastUsed} {
		if t != nil && t.After(since) {
			since = *t
		}
	}
	return since
}

// ConsoleUnusedNoticed reports whether the user's password is unused past
// unused_after at now, the state in which its owner is told (and the first
// such run records the notice date).
func (c ConsoleLifecycle) ConsoleUnusedNoticed(u *inventory.User, now time.Time) bool {
	idle := ConsoleIdleSince(u)
	return c.DisableUnused && !idle.IsZero() && !now.Before(c.NoticeDue(idle))
}

// ConsoleNoticeValid reports whether a notice recorded at noticed still
// holds for a password idle since idle: a notice given before the password's
// last use (or restore) is about an earlier idle spell.
func ConsoleNoticeValid(idle, noticed time.Time) bool {
	return !noticed.IsZero() && noticed.After(idle)
}

// planConsole plans the disabling of the user's unused console password.
func (p *userPlanner) planConsole(c ConsoleLifecycle) {
	if !c.ConsoleUnusedNoticed(p.u, p.now) || p.r.Problem != "" {
		return
	}
	idle := ConsoleIdleSince(p.u)
	noticed := p.r.ConsoleNoticeAt
	if !ConsoleNoticeValid(idle, noticed) {
		noticed = p.now // first found unused: the notice is given now (apply records it)
	}
	due := c.DisableDue(idle, noticed)
	ev := map[string]string{
		"console_last_used":    fmtTime(ptrTime(p.u.Password.LastUsed)),
		"console_last_changed": fmtTime(ptrTime(p.u.Password.LastChanged)),
		"idle_since":           fmtTime(idle),
		"idle_days":            fmt.Sprint(inventory.AgeDays(idle, p.now)),
		"noticed":              fmtTime(noticed),
		"mfa_active":           fmt.Sprint(p.u.MFAActive),
	}
	if p.now.Before(due) {
		p.upcoming = append(p.upcoming, Upcoming{Kind: DisableConsole, AccountID: p.a.ID, User: p.u.Name, Due: due})
		return
	}
	reason := fmt.Sprintf("console password unused since %s (more than %s), owner told on %s: disabled", idle.UTC().Format("2006-01-02"),
		days(c.DisableAfter), noticed.UTC().Format("2006-01-02"))
	if p.u.Password.LastUsed == nil {
		reason = fmt.Sprintf("console password never used since %s (more than %s), owner told on %s: disabled", idle.UTC().Format("2006-01-02"),
			days(c.DisableAfter), noticed.UTC().Format("2006-01-02"))
	}
	a := p.action(DisableConsole, "", reason, due, Gate{UnusedSince: idle.Add(time.Second)}, ev)
	a.ID = fmt.Sprintf("%s/%s/%s", DisableConsole, p.a.ID, p.u.Name)
	p.actions = append(p.actions, a)
}

func ptrTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
