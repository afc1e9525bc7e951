package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
)

// HeldNotices are the notices an Apply with HoldNotices owes, to be sent
// by SendHeld together with those of the other runs of the same fan-out,
// so that each owner gets one digest for all accounts.
type HeldNotices struct {
	// Items are the notices, as the run would have sent them.
	Items []notify.Item `json:"items,omitempty"`
	// Runs are the runs these notices are for (this run and earlier runs
	// that ended before notifying): SendHeld marks them notified once
	// every delivery went through.
	Runs []int64 `json:"runs"`
	// AuditOnly says the run changed nothing: the notices say what would
	// be done.
	AuditOnly bool `json:"audit_only,omitempty"`
}

// admit keeps the groups of actions (one user's, consecutive, as
// plan.ApplyLimits groups them) that ok accepts and defers the others
// with its reason.
func admit(actions []plan.Action, ok func([]plan.Action) (bool, string)) (kept, deferred []plan.Action) {
	for i := 0; i < len(actions); {
		j := i
		for j < len(actions) && actions[j].AccountID == actions[i].AccountID && actions[j].User == actions[i].User {
			j++
		}
		group := actions[i:j]
		if yes, why := ok(slices.Clone(group)); yes {
			kept = append(kept, group...)
		} else {
			for _, a := range group {
				a.Deferred = why
				deferred = append(deferred, a)
			}
		}
		i = j
	}
	return kept, deferred
}

// holdNotices is notifyRun without the sending: the items owed for this
// run and for earlier runs that ended before notifying go in res.Held.
func (r *App) holdNotices(ctx context.Context, runID int64, rp *RotationPlan, out *execute.Result, auditOnly bool, res *ApplyResult) {
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	all := *out
	var owed []int64
	var when map[string]time.Time
	if !auditOnly {
		owed, all.Outcomes, when = r.owedOutcomes(nctx, runID, rp, out.Outcomes)
	}
	held := &HeldNotices{AuditOnly: auditOnly, Items: r.noticeItems(rp, &all, r.now(), when)}
	held.Runs = append(owed, runID)
	res.Held = held
	if len(owed) > 0 {
		res.Recovered = owed
		res.Summary += fmt.Sprintf("; holds the notices of %d earlier interrupted run(s)", len(owed))
	}
}

// SendHeldRequest asks for the held notices of many runs to be sent as one.
type SendHeldRequest struct {
	// Mode is the fan-out's mode (history.ModeEnforce or ModeAuditOnly).
	Mode string
	// Held are the notices of each part of the fan-out.
	Held []HeldNotices
	// Status and Summary are what the fan-out's own run record says;
	// the notification summary is added to Summary.
	Status, Summary string
}

// SendHeldResult is what SendHeld did.
type SendHeldResult struct {
	// RunID is the fan-out's run record.
	RunID int64
	// Notify summarises the notices sent; NotifyErr is why none could be.
	Notify    *notify.Summary
	NotifyErr error
	// Summary is what the run record says.
	Summary string
}

// SendHeld records the fan-out as one run (command "fanout"), sends the
// held notices of all its parts together (one digest per owner across all
// accounts; the notifier's record keeps a notice sent before from going
// out twice) and, when every delivery went through, marks every part's
// runs notified. A failed delivery leaves them unnotified: the next run
// that covers their accounts sends what they owe.
func (r *App) SendHeld(ctx context.Context, req SendHeldRequest) (*SendHeldResult, error) {
	rn, err := r.beginRun(ctx, "fanout", req.Mode)
	if err != nil {
		return nil, err
	}
	res := &SendHeldResult{RunID: rn.id, Summary: req.Summary}
	status := req.Status
	if status == "" {
		status = history.RunSucceeded
	}
	defer func() {
		rn.finish(ctx, status, res.Summary)
	}()
	var items []notify.Item
	var runs []int64
	auditOnly := req.Mode == history.ModeAuditOnly
	for _, h := range req.Held {
		items = append(items, h.Items...)
		runs = append(runs, h.Runs...)
		auditOnly = auditOnly || h.AuditOnly
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	r.progress().Phase(PhaseNotify)
	sum, err := r.send(nctx, rn.id, items, auditOnly)
	res.Notify, res.NotifyErr = sum, err
	switch {
	case err != nil:
		res.Summary += "; notifications not sent"
		return res, nil
	case sum.Digests > 0 || len(sum.Failed()) > 0:
		res.Summary += fmt.Sprintf("; %d digests sent, %d failed", sum.Digests, len(sum.Failed()))
	}
	if len(sum.Failed()) > 0 {
		res.Summary += "; failed deliveries are tried again by the next run"
		return res, nil
	}
	if err := r.History.MarkNotified(nctx, append(runs, rn.id)...); err != nil {
		r.log().Error("record notices sent", "run", rn.id, "err", err)
	}
	return res, nil
}
