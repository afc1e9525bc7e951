package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// PolicyDocument is an IAM policy document in a scenario. In YAML it is a
// string holding the JSON document (a block scalar keeps the document's
// lines, so problems are reported on the right line of the file) or the
// document written as YAML.
type PolicyDocument struct {
	// JSON is the document.
	JSON string
	// Line is the YAML line of the document's first JSON line; 0 when not
	// known line by line (a document written as YAML, or built in Go).
	Line int
}

// UnmarshalYAML reads a JSON string or a YAML mapping.
func (d *PolicyDocument) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" {
			return errors.New("a policy document is a JSON string or a mapping")
		}
		d.JSON = n.Value
		d.Line = n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			d.Line = n.Line + 1 // the text starts below the | or >
		}
	case yaml.MappingNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("policy document: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("policy document: %w", err)
		}
		d.JSON = string(b)
	default:
		return errors.New("a policy document is a JSON string or a mapping")
	}
	return nil
}

// MarshalYAML writes the document as its JSON string.
func (d PolicyDocument) MarshalYAML() (any, error) { return d.JSON, nil }

// MarshalJSON writes the document as its JSON string.
func (d PolicyDocument) MarshalJSON() ([]byte, error) { return json.Marshal(d.JSON) }

// Doc returns a PolicyDocument holding doc, for scenarios built in Go.
func Doc(doc string) PolicyDocument { return PolicyDocument{JSON: doc} }

// ScenarioPolicies are the identity policies of a user, group or role.
type ScenarioPolicies struct {
	// Inline documents by policy name.
	Inline map[string]PolicyDocument `yaml:"inline,omitempty" json:"inline,omitempty"`
	// Managed names AWS-managed policies (AdministratorAccess), the
	// account's customer-managed policies by name, or policy ARNs.
	Managed []string `yaml:"managed,omitempty" json:"managed,omitempty"`
}

func (p ScenarioPolicies) isZero() bool { return len(p.Inline) == 0 && len(p.Managed) == 0 }

// ScenarioManagedPolicy is a customer-managed policy of an account.
type ScenarioManagedPolicy struct {
	Name        string         `yaml:"name" json:"name"`
	Path        string         `yaml:"path,omitempty" json:"path,omitempty"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	Document    PolicyDocument `yaml:"document" json:"document"`
}

// ScenarioRole is an IAM role of an account besides its member role.
type ScenarioRole struct {
	Name string `yaml:"name" json:"name"`
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Trust is the trust policy; by default the account itself may assume it.
	Trust    PolicyDocument    `yaml:"trust,omitempty" json:"trust,omitempty"`
	Tags     map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Policies ScenarioPolicies  `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// ScenarioSCP is a service control policy and where it is attached.
type ScenarioSCP struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Targets are "root", OU paths such as "Workloads/Production", and
	// account names or IDs.
	Targets  []string       `yaml:"targets" json:"targets"`
	Document PolicyDocument `yaml:"document" json:"document"`
}

// docProblem records a malformed policy document at its line.
func (b *builder) docProblem(path string, d PolicyDocument, kind policyKind) bool {
	if strings.TrimSpace(d.JSON) == "" {
		b.problem(path, "an empty policy document")
		return false
	}
	err := checkPolicy(d.JSON, kind)
	if err == nil {
		return true
	}
	pr := Problem{Path: path, Message: "malformed policy document: " + err.msg}
	if d.Line > 0 && err.line > 0 {
		pr.Line = d.Line + err.line - 1
	}
	b.probs = append(b.probs, pr)
	return false
}

// policies builds the identity policies of a user, group or role. acct
// holds the account's customer-managed policies.
func (b *builder) policies(path string, spec ScenarioPolicies, a *Account) Attachments {
	var out Attachments
	for _, name := range sortedKeys(spec.Inline) {
		p := path + ".inline." + name
		if !iamNameRe.MatchString(name) || len(name) > 128 {
			b.problem(p, "invalid policy name %q", name)
			continue
		}
		if b.docProblem(p, spec.Inline[name], kindIdentity) {
			out.putInline(name, spec.Inline[name].JSON)
		}
	}
	for i, m := range spec.Managed {
		p := path + ".managed[" + strconv.Itoa(i) + "]"
		arn, ok := b.resolveManaged(m, a)
		if !ok {
			b.problem(p, "unknown managed policy %q (an AWS-managed name such as AdministratorAccess, a policy declared in the account's policies, or an ARN)", m)
			continue
		}
		out.attach(arn)
	}
	return out
}

// resolveManaged finds a managed policy by name or ARN.
func (b *builder) resolveManaged(m string, a *Account) (string, bool) {
	if strings.HasPrefix(m, "arn:") {
		if name, ok := strings.CutPrefix(m, "arn:aws:iam::aws:policy/"); ok {
			_, known := awsManagedDocument(name[strings.LastIndex(name, "/")+1:])
			return m, known
		}
		_, ok := a.Policies[m]
		return m, ok
	}
	for _, p := range a.Policies {
		if p.Name == m {
			return p.ARN, true
		}
	}
	if _, ok := awsManagedDocument(m); ok {
		return awsManagedPolicyARN(m), true
	}
	return "", false
}

// managedPolicies builds an account's customer-managed policies.
func (b *builder) managedPolicies(path string, specs []ScenarioManagedPolicy, a *Account) {
	for i, ps := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if !iamNameRe.MatchString(ps.Name) || len(ps.Name) > 128 {
			b.problem(p+".name", "invalid policy name %q", ps.Name)
			continue
		}
		ppath := b.iamPath(p+".path", ps.Path)
		arn := "arn:aws:iam::" + a.ID + ":policy" + ppath + ps.Name
		if a.Policies[arn] != nil {
			b.problem(p+".name", "duplicate policy %q", ps.Name)
			continue
		}
		if !b.docProblem(p+".document", ps.Document, kindIdentity) {
			continue
		}
		if a.Policies == nil {
			a.Policies = map[string]*ManagedPolicy{}
		}
		a.Policies[arn] = &ManagedPolicy{
			Name: ps.Name, ID: b.ids.uniqueID("ANPA"), ARN: arn, Path: ppath, Description: ps.Description,
			CreateDate: a.Created, UpdateDate: a.Created,
			Versions: []*PolicyVersion{{ID: "v1", Document: ps.Document.JSON, IsDefault: true, CreateDate: a.Created}},
		}
	}
}

// roles builds an account's declared roles.
func (b *builder) roles(path string, specs []ScenarioRole, a *Account) {
	for i, rs := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if !roleNameRe.MatchString(rs.Name) {
			b.problem(p+".name", "invalid role name %q", rs.Name)
			continue
		}
		if a.Roles[rs.Name] != nil {
			b.problem(p+".name", "duplicate role %q", rs.Name)
			continue
		}
		rpath := b.iamPath(p+".path", rs.Path)
		role := &Role{
			Name: rs.Name, ID: b.ids.uniqueID("AROA"), Path: rpath, ARN: "arn:aws:iam::" + a.ID + ":role" + rpath + rs.Name,
			CreateDate: a.Joined, TrustedAccounts: []string{a.ID},
			Policies: b.policies(p+".policies", rs.Policies, a),
		}
		if rs.Trust.JSON != "" && b.docProblem(p+".trust", rs.Trust, kindTrust) {
			role.TrustPolicy = rs.Trust.JSON
		}
		for _, k := range sortedKeys(rs.Tags) {
			role.Tags = append(role.Tags, Tag{Key: k, Value: rs.Tags[k]})
		}
		a.Roles[rs.Name] = role
	}
}

// scps builds the organization's service control policies, after every
// account is built.
func (b *builder) scps(path string, specs []ScenarioSCP) {
	b.st.SCPs = map[string]*SCP{}
	seen := map[string]bool{}
	for i, ss := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if ss.Name == "" || len(ss.Name) > 128 {
			b.problem(p+".name", "an SCP needs a name of 1 to 128 characters")
			continue
		}
		if seen[ss.Name] || ss.Name == "FullAWSAccess" {
			b.problem(p+".name", "duplicate SCP name %q", ss.Name)
			continue
		}
		seen[ss.Name] = true
		docOK := b.docProblem(p+".document", ss.Document, kindSCP)
		id := "p-" + b.ids.from(lowerAlnum, 8)
		scp := &SCP{
			ID: id, Name: ss.Name, Description: ss.Description, Document: ss.Document.JSON,
			ARN: "arn:aws:organizations::" + b.st.ManagementAccountID + ":policy/" + b.st.OrgID + "/service_control_policy/" + id,
		}
		if len(ss.Targets) == 0 {
			b.problem(p+".targets", "an SCP needs at least one target (root, an OU path, an account name or ID)")
		}
		for j, t := range ss.Targets {
			id, ok := b.scpTarget(t)
			if !ok {
				b.problem(p+".targets["+strconv.Itoa(j)+"]", "unknown target %q (root, an OU path such as %s, or an account name or ID)", t, strings.Join(sortedKeys(b.ouIDs), ", "))
				continue
			}
			scp.Targets = append(scp.Targets, id)
		}
		if docOK {
			b.st.SCPs[id] = scp
		}
	}
}

func (b *builder) scpTarget(t string) (string, bool) {
	if strings.EqualFold(t, "root") {
		return b.st.RootID, true
	}
	if id, ok := b.ouIDs[strings.Trim(t, "/")]; ok {
		return id, true
	}
	if a := b.st.Accounts[t]; a != nil {
		return a.ID, true
	}
	for _, a := range b.st.Accounts {
		if strings.EqualFold(a.Name, t) {
			return a.ID, true
		}
	}
	return "", false
}

// memberRolePolicies are the identity policies of the member role in every
// account: the scenario's, or AdministratorAccess, which Organizations
// attaches to the OrganizationAccountAccessRole it creates.
func (b *builder) memberRolePolicies(a *Account) Attachments {
	spec := b.sc.Organization.RolePolicies
	if spec == nil {
		return Attachments{Attached: []string{awsManagedPolicyARN("AdministratorAccess")}}
	}
	return b.policies("organization.role_policies", *spec, a)
}
