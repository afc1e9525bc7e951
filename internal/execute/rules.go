package execute

import (
	"context"
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// Rules are the periods of keyrot's lifecycle that the executor enforces
// itself, against live state and keyrot's own records, whatever the plan
// it is handed says (a saved plan file may have been edited). They are
// floors: an action that comes earlier than they allow is blocked.
type Rules struct {
	// RotateAfter: a scheduled create-key replaces a key at least this old.
	RotateAfter time.Duration
	// DeactivateAfter: a rotation's replaced key is deactivated at least
	// this old, and SwitchWindow after its replacement was stored
	// (deactivate_after - rotate_after): the owners' time to switch.
	DeactivateAfter time.Duration
	SwitchWindow    time.Duration
	// DeleteAfter: an inactive key is deleted at least this old, and
	// DeleteWindow after keyrot deactivated it or first saw it inactive
	// (delete_after - deactivate_after): the time to roll back.
	DeleteAfter  time.Duration
	DeleteWindow time.Duration
	// UnusedAfter: a key with no stored replacement is deactivated only
	// after this long without use (never-used keys count from creation).
	UnusedAfter time.Duration
	// OrphanGrace: an orphan is deleted at least this long after its creation.
	OrphanGrace time.Duration
}

// RulesFor returns the shortest of each period over the lifecycles: the
// rules of an executor that acts for users on any of them, such as a
// policy's default lifecycle and those of its per-user overrides. With no
// lifecycle it returns plan.DefaultLifecycle's.
func RulesFor(lcs ...plan.Lifecycle) Rules {
	if len(lcs) == 0 {
		lcs = []plan.Lifecycle{plan.DefaultLifecycle()}
	}
	var r Rules
	for i, lc := range lcs {
		x := Rules{
			RotateAfter: lc.RotateAfter, DeactivateAfter: lc.DeactivateAfter, SwitchWindow: lc.DeactivateAfter - lc.RotateAfter,
			DeleteAfter: lc.DeleteAfter, DeleteWindow: lc.DeleteAfter - lc.DeactivateAfter,
			UnusedAfter: lc.UnusedAfter, OrphanGrace: lc.OrphanGrace,
		}
		if i == 0 {
			r = x
			continue
		}
		r.RotateAfter = min(r.RotateAfter, x.RotateAfter)
		r.DeactivateAfter = min(r.DeactivateAfter, x.DeactivateAfter)
		r.SwitchWindow = min(r.SwitchWindow, x.SwitchWindow)
		r.DeleteAfter = min(r.DeleteAfter, x.DeleteAfter)
		r.DeleteWindow = min(r.DeleteWindow, x.DeleteWindow)
		r.UnusedAfter = min(r.UnusedAfter, x.UnusedAfter)
		r.OrphanGrace = min(r.OrphanGrace, x.OrphanGrace)
	}
	return r
}

func (e *Executor) rules() Rules {
	if e.Rules == (Rules{}) {
		return RulesFor()
	}
	return e.Rules
}

// skewAllowance is how much earlier than a rule's date the executor still
// acts: keyrot's clock and AWS's (creation and version dates) may differ a
// little, and the rules count in days.
const skewAllowance = 15 * time.Minute

// tooEarly reports whether now is before due, beyond the clock allowance.
func (r *runner) tooEarly(due time.Time) bool {
	return r.e.now().Before(due.Add(-skewAllowance))
}

func fmtDays(d time.Duration) string { return fmt.Sprintf("%gd", d.Hours()/24) }

func ymd(t time.Time) string { return t.UTC().Format("2006-01-02") }

// deactRecord is keyrot's record of when, and by whom, a key became inactive.
type deactRecord struct {
	At     time.Time
	Origin Origin
}

// what names the record in words: "deactivated by keyrot on 2025-05-01".
func (d deactRecord) what() string {
	switch d.Origin {
	case OriginKeyrot:
		return "deactivated by keyrot on " + ymd(d.At)
	case OriginSeen:
		return "first seen inactive by keyrot on " + ymd(d.At)
	}
	return "recorded inactive by keyrot on " + ymd(d.At)
}

// deactivationRecord returns keyrot's latest record of the key's becoming
// inactive that no rollback has undone since: the keyrot:deactivated tag
// (read live, in tags) and the history's deactivated and seen-inactive
// events. ok is false when keyrot has none. A history deactivated event
// has OriginUnknown: databases written before seen-inactive existed used it
// for both; resolveOrigin asks the journal.
func (r *runner) deactivationRecord(ctx context.Context, acct, user string, tags userTags, keyID string) (deactRecord, bool, error) {
	undone, err := r.reactivatedAt(ctx, acct, user, tags, keyID)
	if err != nil {
		return deactRecord{}, false, err
	}
	var best deactRecord
	found := false
	consider := func(d deactRecord) {
		if !d.At.After(undone) && !undone.IsZero() {
			return // a rollback re-activated the key since
		}
		if !found || d.At.After(best.At) {
			best, found = d, true
		}
	}
	if tags.DeactKey == keyID {
		consider(deactRecord{At: tags.DeactAt, Origin: tags.DeactOrigin})
	}
	if r.e.History != nil {
		for _, ev := range []struct {
			name   string
			origin Origin
		}{{history.EventDeactivated, OriginUnknown}, {history.EventSeenInactive, OriginSeen}} {
			k, ok, err := r.e.History.LastKeyEvent(ctx, acct, user, keyID, ev.name)
			if err != nil {
				return deactRecord{}, false, err
			}
			if ok {
				consider(deactRecord{At: k.At, Origin: ev.origin})
			}
		}
	}
	return best, found, nil
}

// reactivatedAt is when keyrot's rollback last re-activated the key (the
// live keyrot:rolled-back tag, else history), zero if never.
func (r *runner) reactivatedAt(ctx context.Context, acct, user string, tags userTags, keyID string) (time.Time, error) {
	var at time.Time
	if tags.RolledKey == keyID {
		at = tags.RolledAt
	}
	if r.e.History != nil {
		ev, ok, err := r.e.History.LastKeyEvent(ctx, acct, user, keyID, history.EventReactivated)
		if err != nil {
			return time.Time{}, err
		}
		if ok && ev.At.After(at) {
			at = ev.At
		}
	}
	return at, nil
}

// journalSays is what keyrot's journal says about a deactivation of a key
// since its last rollback.
type journalSays int

const (
	journalNothing     journalSays = iota
	journalDeactivated             // a deactivate-key action succeeded
	journalInterrupted             // a deactivate-key action began and never ended
)

// journaledDeactivation looks in the history journal for keyrot's own
// deactivate-key actions of the key begun after since. It settles the
// origin of a record that does not say it: a tag written before origins
// were recorded, or a deactivation whose tag was lost to a crash.
func (r *runner) journaledDeactivation(ctx context.Context, acct, user, keyID string, since time.Time) (journalSays, time.Time, error) {
	if r.e.History == nil {
		return journalNothing, time.Time{}, nil
	}
	acts, err := r.e.History.ActionsFor(ctx, acct, user)
	if err != nil {
		return journalNothing, time.Time{}, err
	}
	says, at := journalNothing, time.Time{}
	for _, a := range acts {
		if a.Kind != history.KindDeactivateKey || a.KeyID != keyID || (!since.IsZero() && !a.Started.After(since)) {
			continue
		}
		switch a.Outcome.Status {
		case history.ActionSucceeded:
			says, at = journalDeactivated, a.Started
		case history.ActionStarted:
			if says != journalDeactivated {
				says, at = journalInterrupted, a.Started
			}
		}
	}
	return says, at, nil
}

// keyAge describes a key's age for a detail: "10 days old (created 2025-05-01)".
func keyAge(k liveKey, now time.Time) string {
	return fmt.Sprintf("%d days old (created %s)", inventory.AgeDays(k.Created, now), ymd(k.Created))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
