package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// AuditStore is what the audit history needs of the store, besides Store:
// audits with their findings and reports, the plan items a person must see,
// the journal by period, and pruning. history.Store implements it.
type AuditStore interface {
	Store
	SaveAudit(ctx context.Context, a history.Audit) error
	Audits(ctx context.Context, from, to time.Time) ([]history.AuditRun, error)
	LatestAudit(ctx context.Context, before time.Time) (history.AuditRun, bool, error)
	Audit(ctx context.Context, runID int64) (history.Audit, error)
	Run(ctx context.Context, id int64) (history.Run, error)
	SavePlanItems(ctx context.Context, runID int64, items []history.PlanItem) error
	PlanItems(ctx context.Context, runID int64) ([]history.PlanItem, error)
	ActionsBetween(ctx context.Context, from, to time.Time) ([]history.Action, error)
	Prune(ctx context.Context, before time.Time) (history.Pruned, error)
}

var _ AuditStore = (*history.Store)(nil)

// ErrNoAuditHistory means the history store cannot keep audits (it is not
// an AuditStore) or there is no store.
var ErrNoAuditHistory = errors.New("the history store keeps no audits")

// audits returns the history as an AuditStore, or nil.
func (r *App) audits() AuditStore {
	if s, ok := r.History.(AuditStore); ok {
		return s
	}
	return nil
}

// KeysPastDays is the key age the history counts keys past: CIS 1.14's and
// Security Hub IAM.3's 90 days.
const KeysPastDays = 90

// storedReport is the JSON document kept with each audit, from which its
// report is rendered again.
type storedReport struct {
	Result   *audit.Result       `json:"result"`
	Snapshot *inventory.Snapshot `json:"snapshot"`
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished"`
	Version  string              `json:"version"`
}

// write writes the document as json.Marshal would, but finding by finding
// and account by account: an organization's document (hundreds of MB for
// 100,000 keys) is never whole in memory.
func (d storedReport) write(w io.Writer) error {
	// The document with no findings and no accounts, cut where they go.
	shell := d
	var findings []audit.Finding
	if d.Result != nil && d.Result.Findings != nil {
		res := *d.Result
		findings, res.Findings = res.Findings, []audit.Finding{}
		shell.Result = &res
	}
	var accounts []inventory.Account
	if d.Snapshot != nil && d.Snapshot.Accounts != nil {
		snap := *d.Snapshot
		accounts, snap.Accounts = snap.Accounts, []inventory.Account{}
		shell.Snapshot = &snap
	}
	b, err := json.Marshal(shell)
	if err != nil {
		return fmt.Errorf("encode audit report: %w", err)
	}
	bw := bufio.NewWriter(w)
	for _, part := range []struct {
		member string
		n      int
		elem   func(i int) any
	}{
		{`"findings":[`, len(findings), func(i int) any { return &findings[i] }},
		{`"accounts":[`, len(accounts), func(i int) any { return &accounts[i] }},
	} {
		if part.n == 0 {
			continue
		}
		// Members are written in field order, the result's before the
		// snapshot's, and both arrays are empty in the shell: the first
		// `"member":[` left is the member itself (a string value holding
		// it would have its quotes escaped).
		i := bytes.Index(b, []byte(part.member+"]"))
		if i < 0 {
			return fmt.Errorf("encode audit report: no %s] in the document", part.member)
		}
		i += len(part.member)
		if _, err := bw.Write(b[:i]); err != nil {
			return err
		}
		b = b[i:]
		for j := range part.n {
			e, err := json.Marshal(part.elem(j))
			if err != nil {
				return fmt.Errorf("encode audit report: %w", err)
			}
			if j > 0 {
				bw.WriteByte(',')
			}
			// A refused write (the history's screen found a secret) ends
			// the document at once.
			if _, err := bw.Write(e); err != nil {
				return err
			}
		}
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// AuditSummaryOf is what the history keeps of an audit for its trends.
func AuditSummaryOf(res *audit.Result) history.AuditSummary {
	var s history.AuditSummary
	s.BySeverity = map[string]int{}
	for _, f := range res.Findings {
		if f.Exempt {
			s.Exempt++
			continue
		}
		s.Findings++
		s.BySeverity[f.Severity.String()]++
	}
	if res.Snapshot != nil {
		for _, a := range res.Snapshot.Accounts {
			switch a.Status {
			case inventory.AccountAudited:
				s.AccountsAudited++
			case inventory.AccountFailed:
				s.AccountsFailed++
			}
			if a.Status != inventory.AccountAudited {
				continue
			}
			count := func(k inventory.AccessKey) {
				if !k.Active() {
					return
				}
				s.KeysActive++
				if inventory.AgeDays(k.CreateDate, res.GeneratedAt) > KeysPastDays {
					s.KeysPast90++
				}
			}
			for _, k := range a.AccessKeys() {
				count(k)
			}
		}
	}
	for _, c := range audit.Summarize(res).Controls {
		s.Controls = append(s.Controls, history.ControlCompliance{Framework: frameworkID(c.Framework), Control: c.Control, Evaluated: c.Evaluated, Failing: c.Failing})
	}
	s.ByKind = kindSummaries(res)
	return s
}

// kindSummaries counts an audit's credentials and findings by kind.
func kindSummaries(res *audit.Result) map[string]history.KindSummary {
	out := map[string]history.KindSummary{}
	for kind, byAccount := range audit.CountCredentials(res.Snapshot) {
		k := out[kind]
		for _, n := range byAccount {
			k.Credentials += n
		}
		out[kind] = k
	}
	for _, f := range res.Findings {
		kind := audit.RuleKind(f.Rule)
		k := out[kind]
		switch {
		case f.Exempt:
			k.Exempt++
		default:
			k.Findings++
			if f.Severity >= audit.SeverityHigh {
				k.Severe++
			}
		}
		out[kind] = k
	}
	return out
}

// frameworkID maps audit's framework titles to the short IDs the reports use.
func frameworkID(title string) string {
	switch title {
	case audit.FrameworkCISv3:
		return "cis_v3"
	case audit.FrameworkCISv5:
		return "cis_v5"
	case audit.FrameworkSecurityHub:
		return "security_hub"
	}
	return title
}

// recordAudit keeps the audit of run runID in the history.
func (r *App) recordAudit(ctx context.Context, runID int64, res *AuditResult) error {
	st := r.audits()
	if st == nil {
		return ErrNoAuditHistory
	}
	doc := storedReport{Result: res.Result, Snapshot: res.Snapshot, Started: res.Started, Finished: res.Finished, Version: r.Version}
	rec := history.Audit{RunID: runID, GeneratedAt: res.GeneratedAt, Summary: AuditSummaryOf(res.Result), WriteReport: doc.write,
		EachFinding: func(yield func(history.AuditFinding) bool) {
			for _, f := range res.Findings {
				hf := history.AuditFinding{ID: f.ID, Rule: f.Rule, Severity: f.Severity.String(), Account: f.AccountID, User: f.User,
					KeyID: f.KeyID, Title: f.Title, Exempt: f.Exempt}
				if f.Exemption != nil {
					hf.ExemptionMatch, hf.ExemptionReason, hf.ExemptionExpires = f.Exemption.Match, f.Exemption.Reason, f.Exemption.Expires
				}
				if !yield(hf) {
					return
				}
			}
		}}
	err := st.SaveAudit(ctx, rec)
	if errors.Is(err, history.ErrSecretMaterial) {
		// Something in the report looks like a secret (or a name does):
		// keep the summary and findings, whose text was screened alone.
		r.log().Warn("audit report not kept: it holds secret-shaped text", "run", runID)
		rec.WriteReport = nil
		err = st.SaveAudit(ctx, rec)
	}
	return err
}

// StoredAudit is an audit read back from the history, ready to render.
type StoredAudit struct {
	Run      history.Run
	Result   *audit.Result
	Started  time.Time
	Finished time.Time
	Version  string
}

// AuditOfRun reads back the audit of run id (its result with the inventory
// behind it), to render its report again. It wraps history.ErrNotFound
// when the run kept no audit.
func (r *App) AuditOfRun(ctx context.Context, id int64) (*StoredAudit, error) {
	st := r.audits()
	if st == nil {
		return nil, ErrNoAuditHistory
	}
	run, err := st.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := st.Audit(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(a.Report) == 0 {
		return nil, fmt.Errorf("audit of run %d kept no report: %w", id, history.ErrNotFound)
	}
	var doc storedReport
	if err := json.Unmarshal(a.Report, &doc); err != nil {
		return nil, fmt.Errorf("decode the report of run %d: %w", id, err)
	}
	if doc.Result == nil {
		doc.Result = &audit.Result{GeneratedAt: a.GeneratedAt}
	}
	doc.Result.Snapshot = doc.Snapshot
	return &StoredAudit{Run: run, Result: doc.Result, Started: doc.Started, Finished: doc.Finished, Version: doc.Version}, nil
}

// recordPlan keeps the blocked and upcoming items of run runID's plan.
func (r *App) recordPlan(ctx context.Context, runID int64, p *plan.Plan) {
	st := r.audits()
	if st == nil || p == nil {
		return
	}
	var items []history.PlanItem
	for _, b := range p.Blocked {
		items = append(items, history.PlanItem{Item: history.PlanBlocked, Kind: string(b.Kind), Account: b.AccountID, User: b.User, KeyID: b.KeyID, Reason: b.Reason, Due: b.Due})
	}
	for _, u := range p.Upcoming {
		items = append(items, history.PlanItem{Item: history.PlanUpcoming, Kind: string(u.Kind), Account: u.AccountID, User: u.User, KeyID: u.KeyID, Due: u.Due})
	}
	if err := st.SavePlanItems(ctx, runID, items); err != nil {
		r.log().Warn("record plan items", "run", runID, "err", err)
	}
}

// prune applies the retention at the end of a run: audits and audit runs
// older than Retention are removed (never the journal). Failures are
// logged, not returned: retention never fails a run.
func (r *App) prune(ctx context.Context) {
	st := r.audits()
	if st == nil || r.Retention <= 0 {
		return
	}
	p, err := st.Prune(ctx, r.now().Add(-r.Retention))
	if err != nil {
		r.log().Warn("apply history retention", "err", err)
		return
	}
	if p.Audits+p.Runs+p.PlanItems > 0 {
		r.log().Debug("history retention applied", "audits", p.Audits, "runs", p.Runs, "plan_items", p.PlanItems)
	}
}
