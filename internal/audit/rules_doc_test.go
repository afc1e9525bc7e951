package audit

import (
	"testing"

	"github.com/keyrot/keyrot/internal/policy"
)

// TestEveryRuleDocumented: every rule has generic text for keyrot rules
// and SARIF, and every access-key or console rule a threshold.
func TestEveryRuleDocumented(t *testing.T) {
	for _, r := range Rules() {
		d := Doc(r.ID)
		if d.Description == "" || d.Remediation == "" {
			t.Errorf("%s: no description or remediation", r.ID)
		}
	}
	if got := Threshold(policy.Default(), policy.RuleAccessKeyAge); got != "rotate after 90d" {
		t.Errorf("threshold of %s = %q", policy.RuleAccessKeyAge, got)
	}
}
