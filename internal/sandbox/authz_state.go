package sandbox

import (
	"sort"
	"strings"
	"time"
)

// Attachments are the identity policies of a user, group or role: inline
// documents by name and attached managed policies by ARN (customer-managed
// arn:aws:iam::ACCOUNT:policy/... or AWS-managed arn:aws:iam::aws:policy/...).
type Attachments struct {
	Inline   map[string]string `json:"inline,omitempty"`
	Attached []string          `json:"attached,omitempty"`
}

// attach adds a managed policy ARN once.
func (a *Attachments) attach(arn string) bool {
	for _, x := range a.Attached {
		if x == arn {
			return false
		}
	}
	a.Attached = append(a.Attached, arn)
	return true
}

// detach removes a managed policy ARN and reports whether it was attached.
func (a *Attachments) detach(arn string) bool {
	for i, x := range a.Attached {
		if x == arn {
			a.Attached = append(a.Attached[:i], a.Attached[i+1:]...)
			return true
		}
	}
	return false
}

// putInline sets an inline policy document.
func (a *Attachments) putInline(name, doc string) {
	if a.Inline == nil {
		a.Inline = map[string]string{}
	}
	a.Inline[name] = doc
}

// inlineNames returns the inline policies' names in IAM's order.
func (a *Attachments) inlineNames() []string {
	names := make([]string, 0, len(a.Inline))
	for n := range a.Inline {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names
}

// ManagedPolicy is a customer-managed IAM policy.
type ManagedPolicy struct {
	Name        string           `json:"name"`
	ID          string           `json:"id"` // ANPA...
	ARN         string           `json:"arn"`
	Path        string           `json:"path"`
	Description string           `json:"description,omitempty"`
	CreateDate  time.Time        `json:"create_date"`
	UpdateDate  time.Time        `json:"update_date"`
	Versions    []*PolicyVersion `json:"versions"`
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID         string    `json:"id"` // v1, v2, ...
	Document   string    `json:"document"`
	IsDefault  bool      `json:"is_default"`
	CreateDate time.Time `json:"create_date"`
}

// defaultVersion returns the policy's default version.
func (p *ManagedPolicy) defaultVersion() *PolicyVersion {
	for _, v := range p.Versions {
		if v.IsDefault {
			return v
		}
	}
	return nil
}

// SCP is a service control policy of the organization.
type SCP struct {
	ID          string `json:"id"` // p-xxxxxxxx, or p-FullAWSAccess
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ARN         string `json:"arn"`
	Document    string `json:"document"`
	AWSManaged  bool   `json:"aws_managed,omitempty"`
	// Targets are the root, OU and account IDs the policy is attached to.
	Targets []string `json:"targets"`
}

// fullAWSAccessID is the ID of the AWS-managed SCP that AWS attaches to the
// root, every OU and every account when SCPs are enabled.
const fullAWSAccessID = "p-FullAWSAccess"

// fullAWSAccessDocument is the FullAWSAccess SCP's document.
const fullAWSAccessDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// awsManagedPolicyARN returns the ARN of an AWS-managed policy by name.
func awsManagedPolicyARN(name string) string { return "arn:aws:iam::aws:policy/" + name }

// fullAWSAccess is the AWS-managed FullAWSAccess SCP. Organizations
// attaches it to the root, every OU and every account when SCPs are
// enabled; the sandbox keeps it attached everywhere (a scenario restricts
// with Deny statements, the deny-list strategy AWS recommends).
var fullAWSAccess = &SCP{
	ID: fullAWSAccessID, Name: "FullAWSAccess", AWSManaged: true,
	Description: "Allows access to every operation",
	ARN:         "arn:aws:organizations::aws:policy/service_control_policy/" + fullAWSAccessID,
	Document:    fullAWSAccessDocument,
}

// scpsFor returns, for each level from the root down to the account, the
// SCPs attached there.
func (st *State) scpsFor(accountID string) [][]*SCP {
	a := st.Accounts[accountID]
	if a == nil {
		return nil
	}
	var chain []string
	for id := a.ParentID; id != ""; {
		chain = append([]string{id}, chain...)
		ou := st.OUs[id]
		if ou == nil {
			break
		}
		id = ou.ParentID
	}
	chain = append(chain, accountID)
	levels := make([][]*SCP, 0, len(chain))
	for _, target := range chain {
		here := []*SCP{fullAWSAccess}
		for _, id := range sortedKeys(st.SCPs) {
			p := st.SCPs[id]
			for _, t := range p.Targets {
				if t == target {
					here = append(here, p)
					break
				}
			}
		}
		levels = append(levels, here)
	}
	return levels
}
