package cli

import (
	"fmt"

	"github.com/keyrot/keyrot/internal/plan"
)

// pendingExit is plan's exit with --detailed-exitcode: silent 10 when the
// plan changes something, else nil. Blocked items are not counted: they
// are for a human, apply will not change them.
func pendingExit(o *rotationOptions, p *plan.Plan) error {
	if !o.DetailedExitcode || p == nil {
		return nil
	}
	if n := len(p.Actions) + len(p.Deferred); n > 0 {
		return withCode(ExitChangesPending, fmt.Errorf("%s pending (--detailed-exitcode)", countOf(n, "change", "changes")))
	}
	return nil
}
