package app

import (
	"context"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/collect"
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
func (r *App) Audit(ctx context.Context, req AuditRequest) (*AuditResult, error) {
	started := time.Now().UTC()
	records := r.prefetchRotationRecords(req.Scope)
	snap, err := r.collect(ctx, req.Scope, func(o *collect.Options) { o.Collected = records.fetch })
	if err != nil {
		return nil, err
	}
	res := audit.Evaluate(r.Policy, snap, r.now())
	r.markRotationsInProgress(ctx, req.Scope, res, records)
	return &AuditResult{Result: res, Started: started, Finished: time.Now().UTC()}, nil
}
