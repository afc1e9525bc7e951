package app

import (
	"context"
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/history"
)

// AuditRequest asks for an audit of the scope.
type AuditRequest struct {
	Scope Scope
}

// AuditResult is an audit's findings with the inventory behind them.
type AuditResult struct {
	*audit.Result
	Started, Finished time.Time
}

// Audit collects the inventory of the scope and judges it against the
// policy. Findings that keyrot's own rotation in progress explains are
// marked so (see markRotationsInProgress). Accounts that could not be read
// are in the result's snapshot with their reason; the error is nil then,
// since the result is still worth reporting (see Partial).
//
// With a history store, the audit is a run (command "audit") whose
// summary, findings and report are kept for trends and reports; a failure
// to record it is logged and does not fail the audit, which is read-only.
// At its end the history's retention is applied.
func (r *App) Audit(ctx context.Context, req AuditRequest) (res *AuditResult, err error) {
	started := time.Now().UTC()
	var rn *run
	if r.History != nil {
		if rn, err = r.beginRun(ctx, "audit", history.ModeAuditOnly); err != nil {
			r.log().Warn("record audit run", "err", err)
			rn = nil
		}
	}
	if rn != nil {
		defer func() {
			status, summary := history.RunSucceeded, ""
			switch {
			case err != nil && ctx.Err() != nil:
				status, summary = history.RunInterrupted, "interrupted"
			case err != nil:
				status, summary = history.RunFailed, "audit failed"
			default:
				summary = auditRunSummary(res.Result)
				if rerr := r.recordAudit(context.WithoutCancel(ctx), rn.id, res); rerr != nil {
					r.log().Warn("record audit", "run", rn.id, "err", rerr)
				}
			}
			rn.finish(ctx, status, summary)
			r.prune(context.WithoutCancel(ctx))
		}()
	}
	records := r.prefetchRotationRecords(req.Scope)
	snap, err := r.collect(ctx, req.Scope, func(o *collect.Options) {
		o.Collected = records.fetch
		o.KeyIDsFor = r.keyIDsFor(true)
	})
	if err != nil {
		return nil, err
	}
	ares := audit.Evaluate(r.Policy, snap, r.now())
	r.markRotationsInProgress(ctx, req.Scope, ares, records)
	return &AuditResult{Result: ares, Started: started, Finished: time.Now().UTC()}, nil
}

// auditRunSummary is the one-line summary of an audit run.
func auditRunSummary(res *audit.Result) string {
	s := AuditSummaryOf(res)
	out := fmt.Sprintf("%d findings (%d critical, %d high), %d exempt; %d of %d active keys past %d days; %d accounts audited",
		s.Findings, s.BySeverity["critical"], s.BySeverity["high"], s.Exempt, s.KeysPast90, s.KeysActive, KeysPastDays, s.AccountsAudited)
	if s.AccountsFailed > 0 {
		out += fmt.Sprintf(", %d failed", s.AccountsFailed)
	}
	return out
}
