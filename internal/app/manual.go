package app

import (
	"context"
	"fmt"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
)

// KeyRequest names one user's key to act on now.
type KeyRequest struct {
	Account, User string
	// KeyID names the key when the user has more than one (rotate now).
	KeyID string
	// Compromised (rotate now): the old key is compromised: deactivate it
	// at once and keep the new secret from it.
	Compromised bool
	// Role and external ID to reach the account (scope fields).
	Scope Scope
}

// KeyResult is what became of a KeyRequest.
type KeyResult struct {
	RunID   int64
	Outcome execute.Outcome
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
		return ex.Rollback(ctx, req.Account, req.User, execute.Options{})
	})
}

// RotateNow rotates the user's key now, whatever its age: create, store
// and verify a new key; with Compromised the old key is deactivated at
// once.
func (r *App) RotateNow(ctx context.Context, req KeyRequest) (*KeyResult, error) {
	return r.manual(ctx, "rotate", req, func(ex *execute.Executor) (execute.Outcome, error) {
		return ex.RotateNow(ctx, req.Account, req.User, execute.RotateNowRequest{KeyID: req.KeyID, Compromised: req.Compromised}, execute.Options{})
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
	rn.finish(ctx, status, fmt.Sprintf("%s %s/%s: %s", command, req.Account, req.User, out.Status))
	res := &KeyResult{RunID: rn.id, Outcome: out}
	if err != nil {
		return res, err
	}
	if out.Status != execute.Succeeded {
		return res, fmt.Errorf("%w: %s %s/%s: %s: %s", ErrActionFailed, command, req.Account, req.User, out.Status, out.Detail)
	}
	return res, nil
}
