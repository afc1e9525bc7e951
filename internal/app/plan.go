package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyrot/keyrot/internal/inventory"
)

// PlanRequest asks what apply would change in the scope.
type PlanRequest struct {
	Scope Scope
	// MaxChanges, when positive, overrides the policy's rotation.max_changes.
	MaxChanges int
}

// Plan computes the rotation plan, changing nothing: the inventory, the
// rotation records AWS holds (read only) and the plan built from them.
func (r *App) Plan(ctx context.Context, req PlanRequest) (*RotationPlan, error) {
	if err := checkMaxChanges(req.MaxChanges); err != nil {
		return nil, err
	}
	return r.planRotation(ctx, r.executor(req.Scope, 0), req.Scope, req.MaxChanges)
}

// checkMaxChanges refuses a limit that could hold a rotation back for
// ever: one user's rotation can be two changes (delete, then create).
func checkMaxChanges(n int) error {
	if n < 0 || n == 1 {
		return fmt.Errorf("%w: max changes must be at least 2: one user's rotation can be two changes, delete then create (got %d)", ErrInvalidRequest, n)
	}
	return nil
}

// Partial returns a *PartialError (errors.Is ErrPartial) naming the accounts of snap
// that could not be read, or nil.
func Partial(snap *inventory.Snapshot) error {
	if snap == nil {
		return nil
	}
	var failed []string
	for _, a := range snap.Accounts {
		if a.Status == inventory.AccountFailed {
			failed = append(failed, a.ID+" ("+a.Reason+")")
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &PartialError{Failed: failed}
}

// PartialError names the accounts that could not be read; it is ErrPartial.
type PartialError struct {
	// Failed are the accounts, each "ID (reason)".
	Failed []string
}

func (e *PartialError) Error() string {
	if len(e.Failed) == 1 {
		return "1 account could not be read: " + e.Failed[0]
	}
	return fmt.Sprintf("%d accounts could not be read: %s", len(e.Failed), strings.Join(e.Failed, "; "))
}

// Is makes errors.Is(err, ErrPartial) true.
func (e *PartialError) Is(target error) bool { return target == ErrPartial }
