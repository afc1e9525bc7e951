package app

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/report"
)

// Trends is compliance over time, one point per recorded audit.
type Trends struct {
	From, To time.Time
	// Audits are the audits of the window, oldest first.
	Audits []history.AuditRun
	// Controls is each control's percentage compliant per audit.
	Controls []report.ControlTrend
	// KeysPast90 is the active keys older than 90 days per audit.
	KeysPast90 []report.Point
}

// Trends reads the audits of the last window (all of them if window is
// zero) from the history.
func (r *App) Trends(ctx context.Context, window time.Duration) (*Trends, error) {
	st := r.audits()
	if st == nil {
		return nil, ErrNoAuditHistory
	}
	t := &Trends{To: r.now().UTC()}
	if window > 0 {
		t.From = t.To.Add(-window)
	}
	runs, err := st.Audits(ctx, t.From, time.Time{})
	if err != nil {
		return nil, err
	}
	t.Audits = runs
	idx := map[[2]string]int{}
	for _, a := range runs {
		t.KeysPast90 = append(t.KeysPast90, report.Point{At: a.GeneratedAt, Value: float64(a.Summary.KeysPast90)})
		for _, c := range a.Summary.Controls {
			k := [2]string{c.Framework, c.Control}
			i, ok := idx[k]
			if !ok {
				i = len(t.Controls)
				idx[k] = i
				t.Controls = append(t.Controls, report.ControlTrend{Framework: c.Framework, Control: c.Control})
			}
			stat := report.ControlStat{Framework: c.Framework, Control: c.Control, Evaluated: c.Evaluated, Failing: c.Failing}
			t.Controls[i].Series = append(t.Controls[i].Series, report.Point{At: a.GeneratedAt, Value: stat.Percent()})
			t.Controls[i].End = stat
		}
	}
	return t, nil
}

// Status is what the status page shows.
type Status struct {
	GeneratedAt time.Time
	// Latest is the latest audit (RunID 0 when there is none).
	Latest history.AuditRun
	Trends *Trends
	// PlanRun is the latest apply run whose plan was recorded (0 if none);
	// Blocked are its changes that wait for a person (planned blocked
	// items and actions the executor blocked), Upcoming its deadlines in
	// the next UpcomingWithin, soonest first.
	PlanRun  int64
	Blocked  []history.PlanItem
	Upcoming []history.PlanItem
	// Runs are the most recent runs, newest first; Reports says which of
	// them kept an audit report.
	Runs    []history.Run
	Reports map[int64]bool
}

// UpcomingWithin is how far ahead the status page lists deadlines.
const UpcomingWithin = 30 * 24 * time.Hour

// StatusRequest asks for the status page's data.
type StatusRequest struct {
	// Window is how far back the trends go (all audits if zero).
	Window time.Duration
	// Runs is how many recent runs to list (20 if zero).
	Runs int
}

// Status gathers the status page's data from the history alone.
func (r *App) Status(ctx context.Context, req StatusRequest) (*Status, error) {
	st := r.audits()
	if st == nil {
		return nil, ErrNoAuditHistory
	}
	if req.Runs <= 0 {
		req.Runs = 20
	}
	s := &Status{GeneratedAt: r.now().UTC(), Reports: map[int64]bool{}}
	var err error
	if s.Trends, err = r.Trends(ctx, req.Window); err != nil {
		return nil, err
	}
	for _, a := range s.Trends.Audits {
		s.Reports[a.RunID] = true
	}
	if latest, ok, err := st.LatestAudit(ctx, time.Time{}); err != nil {
		return nil, err
	} else if ok {
		s.Latest = latest
		s.Reports[latest.RunID] = true
	}
	if s.Runs, err = r.Runs(ctx, req.Runs); err != nil {
		return nil, err
	}
	for _, run := range s.Runs {
		if run.Command == "audit" && !s.Reports[run.ID] {
			if _, err := st.Audit(ctx, run.ID); err == nil {
				s.Reports[run.ID] = true
			}
		}
	}
	// The latest apply that planned: its blocked items and deadlines.
	recent, err := st.ListRuns(ctx, 200)
	if err != nil {
		return nil, err
	}
	for _, run := range recent {
		if run.Command != "apply" || run.Status == history.RunRunning {
			continue
		}
		items, err := st.PlanItems(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		acts, err := st.ActionsInRun(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 && len(acts) == 0 && run.Status != history.RunSucceeded {
			continue // failed before it planned
		}
		s.PlanRun = run.ID
		for _, it := range items {
			switch it.Item {
			case history.PlanBlocked:
				s.Blocked = append(s.Blocked, it)
			case history.PlanUpcoming:
				if !it.Due.After(s.GeneratedAt.Add(UpcomingWithin)) {
					s.Upcoming = append(s.Upcoming, it)
				}
			}
		}
		for _, a := range acts {
			if a.Outcome.Status == history.ActionBlocked {
				s.Blocked = append(s.Blocked, history.PlanItem{RunID: a.RunID, Item: history.PlanBlocked, Kind: a.Kind, Account: a.Account,
					User: a.User, KeyID: a.KeyID, Reason: a.Outcome.Error, Due: a.Started})
			}
		}
		break
	}
	if s.PlanRun == 0 && s.Latest.RunID != 0 {
		s.Upcoming = r.rotationsDue(ctx, s.Latest.RunID, s.GeneratedAt)
	}
	slices.SortStableFunc(s.Upcoming, func(a, b history.PlanItem) int { return a.Due.Compare(b.Due) })
	return s, nil
}

// rotationsDue lists, from the audit of run id, the active keys whose
// rotation falls due within UpcomingWithin of now: the deadlines known
// where keyrot only audits.
func (r *App) rotationsDue(ctx context.Context, id int64, now time.Time) []history.PlanItem {
	a, err := r.AuditOfRun(ctx, id)
	if err != nil || a.Result.Snapshot == nil || r.Policy == nil {
		return nil
	}
	rotate := time.Duration(r.Policy.AccessKeys.RotateAfter)
	var out []history.PlanItem
	for _, acc := range a.Result.Snapshot.Accounts {
		if acc.Status != inventory.AccountAudited {
			continue
		}
		for _, u := range acc.Users {
			for _, k := range u.Keys {
				due := k.CreateDate.Add(rotate)
				if k.Active() && !due.After(now.Add(UpcomingWithin)) {
					out = append(out, history.PlanItem{RunID: id, Item: history.PlanUpcoming, Kind: "rotate", Account: acc.ID, User: u.Name, KeyID: k.ID, Due: due})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b history.PlanItem) int { return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.User, b.User)) })
	return out
}
