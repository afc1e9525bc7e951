package app

import (
	"context"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// ConsoleLifecycle returns the planner's console password lifecycle for the
// policy's console section.
func ConsoleLifecycle(p *policy.Policy) plan.ConsoleLifecycle {
	return plan.ConsoleLifecycle{DisableUnused: p.Console.DisableUnused,
		UnusedAfter: time.Duration(p.Console.UnusedAfter), DisableAfter: time.Duration(p.Console.DisableAfter)}
}

// consoleExempt reports the users the planner leaves out of the console
// lifecycle (rotationExemption's ConsoleExempt): the gather records no
// console notice for them.
func consoleExempt(p *policy.Policy, now time.Time) func(*inventory.Account, *inventory.User) bool {
	return func(a *inventory.Account, u *inventory.User) bool {
		return rotationExemption(p, a, u, now).ConsoleExempt
	}
}

// consoleExecutor sets the executor's console password settings: the
// lifecycle, the exempt tag re-checked live, and who keyrot runs as
// (whose console password it never disables).
func (r *App) consoleExecutor(ex *execute.Executor, scope Scope) {
	ex.Console = ConsoleLifecycle(r.Policy)
	ex.ExemptTag = r.Policy.ExemptTag
	acc := r.access(scope)
	ex.Self = func(ctx context.Context) (string, error) {
		id, err := acc.Caller(ctx)
		return id.ARN, err
	}
}

// RollbackConsole restores the console access keyrot disabled for the
// user: a new password meeting the account's policy, which the user
// changes at the first sign-in, stored in Secrets Manager first. The
// executor refuses users whose console access keyrot did not disable.
func (r *App) RollbackConsole(ctx context.Context, req KeyRequest) (*KeyResult, error) {
	return r.manual(ctx, "rollback", req, func(ex *execute.Executor) (execute.Outcome, error) {
		return ex.RollbackConsole(ctx, req.Account, req.User, execute.Options{})
	})
}
