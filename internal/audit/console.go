package audit

import (
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// ConsoleExempt reports whether the user's console password is exempt from
// the console-unused rule at now, by the same exemption rules as Evaluate
// (the exempt tag, or a current exemption covering console-unused): keyrot
// apply then never disables it.
func ConsoleExempt(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	e := &evaluator{p: p, now: now, res: &Result{}, expired: map[int]map[string]int{}}
	f := Finding{Rule: policy.RuleConsoleUnused}
	e.exempt(&f, a, u)
	return f.Exempt
}
