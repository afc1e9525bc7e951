package audit

import "github.com/keyrot/keyrot/internal/policy"

// RuleInfo describes one rule: its title, usual severity and the controls it
// implements.
type RuleInfo struct {
	ID       string
	Title    string
	Severity Severity
	Controls Controls
}

// Control IDs. CIS numbers are from the CIS AWS Foundations Benchmark
// v3.0.0 and v5.0.0; Security Hub IDs are AWS Security Hub control IDs.
var (
	ctlKeyAge   = Controls{CISv3: []string{"1.14"}, CISv5: []string{"1.13"}, SecurityHub: []string{"IAM.3"}}
	ctlUnused   = Controls{CISv3: []string{"1.12"}, CISv5: []string{"1.11"}, SecurityHub: []string{"IAM.22"}}
	ctlUnused90 = Controls{CISv3: []string{"1.12"}, CISv5: []string{"1.11"}, SecurityHub: []string{"IAM.8", "IAM.22"}}
	ctlMulti    = Controls{CISv3: []string{"1.13"}, CISv5: []string{"1.12"}}
	ctlSetup    = Controls{CISv3: []string{"1.11"}, CISv5: []string{"1.10"}}
	ctlRootKey  = Controls{CISv3: []string{"1.4"}, CISv5: []string{"1.3"}, SecurityHub: []string{"IAM.4"}}
	ctlRootMFA  = Controls{CISv3: []string{"1.5"}, CISv5: []string{"1.4"}, SecurityHub: []string{"IAM.9"}}
	ctlConsMFA  = Controls{CISv3: []string{"1.10"}, CISv5: []string{"1.9"}, SecurityHub: []string{"IAM.5"}}
)

// iam8Days is the fixed threshold of Security Hub IAM.8 (unused 90 days).
const iam8Days = 90

var rules = []RuleInfo{
	{policy.RuleAccessKeyAge, "Access key not rotated within the rotation period", SeverityMedium, ctlKeyAge},
	{policy.RuleAccessKeyUnused, "Active access key unused", SeverityMedium, ctlUnused90},
	{policy.RuleAccessKeyMultipleActive, "User has more active access keys than allowed", SeverityMedium, ctlMulti},
	{policy.RuleAccessKeySetupUnused, "Access key created at user set-up and never used", SeverityLow, ctlSetup},
	{policy.RuleAccessKeyInactiveLinger, "Inactive access key past its deletion date", SeverityLow, Controls{}},
	{policy.RuleRootAccessKey, "Root user has an access key", SeverityCritical, ctlRootKey},
	{policy.RuleRootNoMFA, "Root user has no MFA", SeverityCritical, ctlRootMFA},
	{policy.RuleConsoleNoMFA, "Console user has no MFA", SeverityHigh, ctlConsMFA},
	{policy.RuleConsoleUnused, "Console password unused", SeverityMedium, ctlUnused90},
	{policy.RuleExemptionExpired, "Exemption has expired", SeverityMedium, Controls{}},
	{policy.RuleKeyLastUsedUnknown, "Access key last use could not be read", SeverityLow, Controls{}},
	{policy.RuleAccountNotAudited, "Account could not be audited", SeverityHigh, Controls{}},
}

// Rules returns every rule in policy.KnownRules order.
func Rules() []RuleInfo { return append([]RuleInfo(nil), rules...) }

// Rule returns the rule with id.
func Rule(id string) (RuleInfo, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return RuleInfo{}, false
}

func mustRule(id string) RuleInfo {
	r, ok := Rule(id)
	if !ok {
		panic("audit: unknown rule " + id)
	}
	return r
}
