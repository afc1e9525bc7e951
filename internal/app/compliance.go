package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/report"
)

// ComplianceRequest asks for the compliance report of the period that ends
// now and lasts Since.
type ComplianceRequest struct {
	Since time.Duration
}

// ComplianceReport builds the periodic compliance report from the history
// alone (never AWS): compliance per control at the start and end of the
// period and at each audit in it, active keys past 90 days per audit, the
// keys keyrot rotated in the period (the actions journal), the exceptions
// of the latest audit, and the findings new and resolved since the
// baseline: the last audit before the period (what the previous report
// ended with), else the first audit of the period.
func (r *App) ComplianceReport(ctx context.Context, req ComplianceRequest) (*report.Compliance, error) {
	if req.Since <= 0 {
		return nil, fmt.Errorf("%w: the period must be positive (got %s)", ErrInvalidRequest, req.Since)
	}
	st := r.audits()
	if st == nil {
		return nil, ErrNoAuditHistory
	}
	to := r.now().UTC()
	from := to.Add(-req.Since)
	c := &report.Compliance{From: from, To: to, ToolVersion: r.Version}
	runs, err := st.Audits(ctx, from, to)
	if err != nil {
		return nil, err
	}
	c.Audits = len(runs)
	base, hasBase, err := st.LatestAudit(ctx, from)
	if err != nil {
		return nil, err
	}
	if !hasBase && len(runs) > 0 {
		base, hasBase = runs[0], true
	}
	trends := map[[2]string]*report.ControlTrend{}
	var order [][2]string
	for _, a := range runs {
		c.KeysPast90 = append(c.KeysPast90, report.Point{At: a.GeneratedAt, Value: float64(a.Summary.KeysPast90)})
		for _, ctl := range a.Summary.Controls {
			k := [2]string{ctl.Framework, ctl.Control}
			t := trends[k]
			if t == nil {
				t = &report.ControlTrend{Framework: ctl.Framework, Control: ctl.Control}
				trends[k] = t
				order = append(order, k)
			}
			stat := report.ControlStat{Framework: ctl.Framework, Control: ctl.Control, Evaluated: ctl.Evaluated, Failing: ctl.Failing}
			t.Series = append(t.Series, report.Point{At: a.GeneratedAt, Value: stat.Percent()})
		}
	}
	if hasBase && (len(runs) == 0 || base.RunID != runs[0].RunID) {
		// The baseline from before the period starts the keys series.
		c.KeysPast90 = append([]report.Point{{At: base.GeneratedAt, Value: float64(base.Summary.KeysPast90)}}, c.KeysPast90...)
	}
	if len(runs) > 0 {
		latest := runs[len(runs)-1]
		c.Latest = report.AuditRef{RunID: latest.RunID, GeneratedAt: latest.GeneratedAt}
		for _, ctl := range latest.Summary.Controls {
			k := [2]string{ctl.Framework, ctl.Control}
			trends[k].End = report.ControlStat{Framework: ctl.Framework, Control: ctl.Control, Evaluated: ctl.Evaluated, Failing: ctl.Failing}
		}
	}
	if hasBase {
		c.Baseline = report.AuditRef{RunID: base.RunID, GeneratedAt: base.GeneratedAt}
		for _, ctl := range base.Summary.Controls {
			k := [2]string{ctl.Framework, ctl.Control}
			if t := trends[k]; t != nil {
				t.Start = report.ControlStat{Framework: ctl.Framework, Control: ctl.Control, Evaluated: ctl.Evaluated, Failing: ctl.Failing}
			}
		}
	}
	for _, k := range order {
		c.Controls = append(c.Controls, *trends[k])
	}

	acts, err := st.ActionsBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		if a.Outcome.Status != history.ActionSucceeded {
			continue
		}
		switch a.Kind {
		case history.KindCreateKey:
			c.Rotated = append(c.Rotated, report.RotatedKey{At: a.Started, Account: a.Account, User: a.User, OldKey: a.KeyID, NewKey: a.Outcome.KeyID, RunID: a.RunID})
		case history.KindDeactivateKey:
			c.Deactivated++
		case history.KindDeleteKey:
			c.Deleted++
		}
	}

	if c.Latest.RunID != 0 {
		latest, err := st.Audit(ctx, c.Latest.RunID)
		if err != nil {
			return nil, err
		}
		for _, f := range latest.Findings {
			if f.Exempt {
				c.Exceptions = append(c.Exceptions, report.Exception{Account: f.Account, User: f.User, KeyID: f.KeyID, Rule: f.Rule,
					Match: f.ExemptionMatch, Reason: f.ExemptionReason, Expires: f.ExemptionExpires})
			}
		}
		if hasBase && base.RunID != c.Latest.RunID {
			baseline, err := st.Audit(ctx, base.RunID)
			if err != nil {
				return nil, err
			}
			c.New, c.Resolved = findingChanges(baseline.Findings, latest.Findings)
		}
	}
	slices.SortStableFunc(c.Exceptions, func(a, b report.Exception) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.User, b.User), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.KeyID, b.KeyID))
	})
	return c, nil
}

// findingChanges returns the open (not exempt) findings of after that
// before did not have open, and those of before that after no longer has
// open, each sorted by account, severity, user and rule.
func findingChanges(before, after []history.AuditFinding) (added, resolved []report.FindingRef) {
	open := func(fs []history.AuditFinding) map[string]history.AuditFinding {
		m := map[string]history.AuditFinding{}
		for _, f := range fs {
			if !f.Exempt {
				m[f.ID] = f
			}
		}
		return m
	}
	b, a := open(before), open(after)
	ref := func(f history.AuditFinding) report.FindingRef {
		return report.FindingRef{ID: f.ID, Rule: f.Rule, Severity: f.Severity, Account: f.Account, User: f.User, KeyID: f.KeyID, Title: f.Title}
	}
	for id, f := range a {
		if _, ok := b[id]; !ok {
			added = append(added, ref(f))
		}
	}
	for id, f := range b {
		if _, ok := a[id]; !ok {
			resolved = append(resolved, ref(f))
		}
	}
	sortRefs := func(fs []report.FindingRef) {
		slices.SortFunc(fs, func(x, y report.FindingRef) int {
			return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.User, y.User), cmp.Compare(x.Rule, y.Rule), cmp.Compare(x.KeyID, y.KeyID), cmp.Compare(x.ID, y.ID))
		})
	}
	sortRefs(added)
	sortRefs(resolved)
	return added, resolved
}
