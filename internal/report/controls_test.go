package report

import (
	"testing"

	"github.com/keyrot/keyrot/internal/audit"
)

// TestEveryRuleControlHasATitle: every control a rule maps to has its
// title, so no report shows a control by its ID alone.
func TestEveryRuleControlHasATitle(t *testing.T) {
	for _, r := range audit.Rules() {
		for fw, ids := range map[string][]string{FrameworkCISv3: r.Controls.CISv3, FrameworkCISv5: r.Controls.CISv5, FrameworkSecurityHub: r.Controls.SecurityHub} {
			for _, id := range ids {
				if controlTitle(fw, id) == "" {
					t.Errorf("rule %s: control %s %s has no title", r.ID, fw, id)
				}
			}
		}
	}
}
