package app

import (
	"context"
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
)

// KeyRequest names one user's key to act on now.
type KeyRequest struct {
	Account, User string
	// KeyID names the key when the user has more than one (rotate now).
	KeyID string
	// Compromised (rotate now): the old key is compromised: deactivate it
	// at once and keep the new secret from it.
	Compromised bool
	// Service (rollback): re-activate the service-specific credential of
	// this service (codecommit.amazonaws.com, ...) instead of a key.
	Service string
	// Role and external ID to reach the account (scope fields).
	Scope Scope
}

// KeyResult is what became of a KeyRequest.
type KeyResult struct {
	RunID   int64
	Outcome execute.Outcome
	// Notify summarises the notices sent to the user's owner (rotate now);
	// NotifyErr is why none could be (the next apply sends them).
	Notify    *notify.Summary
	NotifyErr error
}

// notifyRotateNow tells the user's owner where the new key is (and, for a
// compromised key, that the old one is off), like an apply would: it reads
// the account's inventory for the owner, sends, and records the run as
// notified when every delivery went through; otherwise the next apply
// sends what is owed. It returns a note for the run's summary.
func (r *App) notifyRotateNow(ctx context.Context, runID int64, req KeyRequest, out execute.Outcome, res *KeyResult) string {
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	if len(r.channels()) == 0 {
		return "; nobody notified: no notification channel is configured"
	}
	scope := req.Scope
	scope.Accounts, scope.OUs, scope.ExcludeAccounts = []string{req.Account}, nil, nil
	snap, err := r.collect(nctx, scope)
	if err != nil {
		res.NotifyErr = fmt.Errorf("read the owner of %s/%s: %w", req.Account, req.User, err)
		return "; notices not sent (the next apply sends them)"
	}
	outs := []execute.Outcome{out}
	if req.Compromised && out.Status == execute.Succeeded && out.KeyID != "" {
		off := out
		off.Kind, off.NewKeyID, off.SecretARN, off.SecretName = plan.DeactivateKey, "", "", ""
		outs = append(outs, off)
	}
	items := r.NoticeItems(&RotationPlan{Snapshot: snap, Plan: &plan.Plan{}}, &execute.Result{Outcomes: outs}, r.now())
	for i := range items {
		if req.Compromised && items[i].State == notify.StateDeactivated {
			items[i].Rollback = time.Time{} // a compromised key is never rolled back
		}
	}
	sum, err := r.send(nctx, runID, items, false)
	res.Notify, res.NotifyErr = sum, err
	if err != nil || len(sum.Failed()) > 0 {
		return "; notices not all sent (the next apply sends them)"
	}
	if err := r.History.MarkNotified(nctx, runID); err != nil {
		r.log().Error("record notices sent", "run", runID, "err", err)
	}
	return fmt.Sprintf("; %d digest(s) sent", sum.Digests)
}

func (req KeyRequest) check() error {
	if !inventory.IsAccountID(req.Account) || req.User == "" {
		return fmt.Errorf("%w: an account ID (12 digits) and a user name are required", ErrInvalidRequest)
	}
	return nil
}

// Rollback re-activates the key keyrot deactivated for the user, while it
// still exists, and holds further deactivation of it until a new rotation.
// The executor refuses keys keyrot did not deactivate itself.
func (r *App) Rollback(ctx context.Context, req KeyRequest) (*KeyResult, error) {
	return r.manual(ctx, "rollback", req, func(ex *execute.Executor) (execute.Outcome, error) {
		if req.Service != "" {
			return ex.RollbackService(ctx, req.Account, req.User, req.Service)
		}
		return ex.Rollback(ctx, req.Account, req.User, execute.Options{})
	})
}

// RotateNow rotates the user's key now, whatever its age: create, store
// and verify a new key; with Compromised the old key is deactivated at
// once.
func (r *App) RotateNow(ctx context.Context, req KeyRequest) (*KeyResult, error) {
	return r.manual(ctx, "rotate", req, func(ex *execute.Executor) (execute.Outcome, error) {
		return ex.RotateNow(ctx, req.Account, req.User, execute.RotateNowRequest{KeyID: req.KeyID, Compromised: req.Compromised, DeliverWait: r.EmergencyDeliverWait}, execute.Options{})
	})
}

// manual runs one recorded action on one user's key.
func (r *App) manual(ctx context.Context, command string, req KeyRequest, act func(*execute.Executor) (execute.Outcome, error)) (*KeyResult, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	rn, err := r.beginRun(ctx, command, history.ModeEnforce)
	if err != nil {
		return nil, err
	}
	out, err := act(r.executor(req.Scope, rn.id))
	status := history.RunSucceeded
	if err != nil || out.Status == execute.Failed {
		status = history.RunFailed
	}
	summary := fmt.Sprintf("%s %s/%s: %s", command, req.Account, req.User, out.Status)
	res := &KeyResult{RunID: rn.id, Outcome: out}
	restored := out.Kind == execute.KindRestoreConsole && out.Status == execute.Succeeded
	if restored || command == "rotate" && (out.Status == execute.Succeeded || out.NewKeyID != "" && out.SecretARN != "") {
		summary += r.notifyRotateNow(ctx, rn.id, req, out, res)
	}
	rn.finish(ctx, status, summary)
	if err != nil {
		return res, err
	}
	if out.Status != execute.Succeeded {
		return res, fmt.Errorf("%w: %s %s/%s: %s: %s", ErrActionFailed, command, req.Account, req.User, out.Status, out.Detail)
	}
	return res, nil
}
