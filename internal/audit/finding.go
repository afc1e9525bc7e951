// Package audit judges an inventory.Snapshot against a policy and produces
// findings. It is pure: no I/O and no clock, so "now" is always an argument.
package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// Severity orders findings; higher is worse.
type Severity int

// Severities, lowest first.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name of the severity.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses a severity name such as "high".
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames, ", "))
}

// Controls maps a rule to the compliance frameworks that require it.
type Controls struct {
	CISv3       []string `json:"cis_v3,omitempty"`
	CISv5       []string `json:"cis_v5,omitempty"`
	SecurityHub []string `json:"security_hub,omitempty"`
}

// Finding is one breach of policy by one credential.
type Finding struct {
	// ID is stable across runs for the same rule and credential: rule/account/user/key.
	ID          string            `json:"id"`
	Rule        string            `json:"rule"`
	Title       string            `json:"title"`
	Severity    Severity          `json:"severity"`
	AccountID   string            `json:"account_id"`
	AccountName string            `json:"account_name,omitempty"`
	User        string            `json:"user,omitempty"` // "<root_account>" for root
	KeyID       string            `json:"key_id,omitempty"`
	Evidence    Evidence          `json:"evidence"`
	Controls    Controls          `json:"controls"`
	Exempt      bool              `json:"exempt,omitempty"`
	Exemption   *ExemptionApplied `json:"exemption,omitempty"`
	Remediation string            `json:"remediation,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
}

// Evidence is what a finding was based on.
type Evidence struct {
	CreateDate      *time.Time `json:"create_date,omitempty"`
	AgeDays         *int       `json:"age_days,omitempty"`
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
	DaysSinceUse    *int       `json:"days_since_use,omitempty"`
	ThresholdDays   int        `json:"threshold_days,omitempty"`
	Detail          string     `json:"detail,omitempty"`
}

// ExemptionApplied records which exemption covered a finding.
type ExemptionApplied struct {
	Match   string    `json:"match"` // e.g. "user:ci-bot", "tag:keyrot:exempt"
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires,omitempty"`
}

// Result is the outcome of one audit.
type Result struct {
	GeneratedAt time.Time           `json:"generated_at"`
	Snapshot    *inventory.Snapshot `json:"-"`
	Findings    []Finding           `json:"findings"`
	// Checks are every rule judged against every resource, passing or not;
	// Summarize turns them into per-control pass rates. Evaluate does not
	// keep them (an organization has several per key): it fills
	// Compliance instead.
	Checks []Check `json:"checks,omitempty"`
	// Compliance is the per-control summary of the checks Evaluate judged
	// (what Summarize would make of them); nil when it judged none.
	Compliance *Summary `json:"-"`
}
