package audit

import (
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// RotationExemption is how the policy's exemptions bear on rotating one
// user's keys: exempt users only get findings; a schedule override changes
// the periods.
type RotationExemption struct {
	Exempt bool
	Reason string
	// AccessKeys are the thresholds that apply to the user (the policy's,
	// or an override's merged onto them).
	AccessKeys policy.AccessKeys
	// Override names the exemption that set AccessKeys, if any.
	Override string
}

// ExemptionForRotation applies the same exemption rules as Evaluate to the
// rotation of a user's keys at now: the exempt tag, a current exemption
// covering the access-key-age rule, or a current schedule override.
// Expired exemptions do not apply.
func ExemptionForRotation(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) RotationExemption {
	e := &evaluator{p: p, now: now, res: &Result{}, expired: map[int]map[string]int{}}
	keys, override := e.keysPolicy(a, u)
	f := Finding{Rule: policy.RuleAccessKeyAge}
	e.exempt(&f, a, u)
	out := RotationExemption{AccessKeys: keys, Override: override}
	if f.Exempt {
		out.Exempt = true
		out.Reason = strings.TrimSpace(f.Exemption.Match + ": " + f.Exemption.Reason)
	}
	return out
}
