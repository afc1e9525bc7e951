package sandbox

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Scenario describes an organization to load into the sandbox: its OUs,
// accounts, IAM users, groups, access keys, console passwords, MFA devices
// and root credentials. Ages ("95d", "36h") are relative to the sandbox
// clock when the scenario is applied. docs/sandbox.md documents the format.
type Scenario struct {
	// Name is the built-in name or the file's base name; it is not read from YAML.
	Name string `yaml:"-" json:"name,omitempty"`
	// Description is free text shown by the control API.
	Description  string            `yaml:"description,omitempty" json:"description,omitempty"`
	Organization ScenarioOrg       `yaml:"organization" json:"organization"`
	OUs          []ScenarioOU      `yaml:"ous,omitempty" json:"ous,omitempty"`
	Accounts     []ScenarioAccount `yaml:"accounts,omitempty" json:"accounts,omitempty"`

	// file and lines locate problems when the scenario came from YAML.
	file  string
	lines yamlconf.Lines
}

// ScenarioOrg is the organization itself and its management account.
type ScenarioOrg struct {
	// ID is the organization ID (o-xxxxxxxxxx); random when empty.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// RoleName is the role created in member accounts for the management
	// account to assume; OrganizationAccountAccessRole when empty.
	RoleName string `yaml:"role_name,omitempty" json:"role_name,omitempty"`
	// ExternalID, when set, must be passed to AssumeRole for every member role.
	ExternalID string `yaml:"external_id,omitempty" json:"external_id,omitempty"`
	// RoleTrust, when set, is the member roles' trust policy (it replaces
	// the one that trusts the management account with ExternalID).
	RoleTrust PolicyDocument `yaml:"role_trust,omitempty" json:"role_trust,omitempty"`
	// RolePolicies are the member roles' identity policies;
	// AdministratorAccess when nil, as Organizations sets up its role.
	RolePolicies *ScenarioPolicies `yaml:"role_policies,omitempty" json:"role_policies,omitempty"`
	// SCPs are service control policies besides FullAWSAccess, which is
	// attached everywhere.
	SCPs []ScenarioSCP `yaml:"scps,omitempty" json:"scps,omitempty"`
	// Management is the management account. Its ID defaults to the
	// server's management account ID; it sits under the root and has no
	// member role unless Role names one.
	Management ScenarioAccount `yaml:"management" json:"management"`
}

// ScenarioOU is an organizational unit with its child OUs. Accounts name an
// OU by its path of names from the root, such as "Workloads/Production".
type ScenarioOU struct {
	Name string       `yaml:"name" json:"name"`
	OUs  []ScenarioOU `yaml:"ous,omitempty" json:"ous,omitempty"`
}

// ScenarioAccount is one account and its IAM world.
type ScenarioAccount struct {
	// ID is the 12-digit account ID; generated when empty.
	ID    string `yaml:"id,omitempty" json:"id,omitempty"`
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// OU is the path of OU names from the root; empty means the root.
	OU string `yaml:"ou,omitempty" json:"ou,omitempty"`
	// Status is ACTIVE (default), SUSPENDED or PENDING_CLOSURE.
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// Joined is how long ago the account joined the organization; by
	// default 730d, or older than anything in the account.
	Joined string            `yaml:"joined,omitempty" json:"joined,omitempty"`
	Tags   map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Role is the member role the management account assumes: the
	// organization's role by default, `role: false` for none, or a custom name.
	Role   RoleSpec        `yaml:"role,omitempty" json:"role,omitempty"`
	Root   ScenarioRoot    `yaml:"root,omitempty" json:"root,omitempty"`
	Groups []ScenarioGroup `yaml:"groups,omitempty" json:"groups,omitempty"`
	Users  []ScenarioUser  `yaml:"users,omitempty" json:"users,omitempty"`
	// Policies are the account's customer-managed IAM policies.
	Policies []ScenarioManagedPolicy `yaml:"policies,omitempty" json:"policies,omitempty"`
	// Roles are IAM roles besides the member role.
	Roles []ScenarioRole `yaml:"roles,omitempty" json:"roles,omitempty"`
	// KMSKeys are customer managed KMS keys of the account.
	KMSKeys []ScenarioKMSKey `yaml:"kms_keys,omitempty" json:"kms_keys,omitempty"`
	// DynamoDBTables are empty DynamoDB tables of the account.
	DynamoDBTables []ScenarioDynamoTable `yaml:"dynamodb_tables,omitempty" json:"dynamodb_tables,omitempty"`
	// SESIdentities are the account's verified SES identities: email
	// addresses, or domains whose every address may send.
	SESIdentities []string `yaml:"ses_identities,omitempty" json:"ses_identities,omitempty"`
	// PasswordPolicy is the account's password policy; none when absent.
	PasswordPolicy *ScenarioPasswordPolicy `yaml:"password_policy,omitempty" json:"password_policy,omitempty"`
	// ServerCertificates, Certificates and Secrets are the account's IAM
	// server certificates, ACM certificates and Secrets Manager secrets
	// (scenario_accountkinds.go).
	ServerCertificates []ScenarioServerCertificate `yaml:"server_certificates,omitempty" json:"server_certificates,omitempty"`
	Certificates       []ScenarioCertificate       `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	Secrets            []ScenarioSecret            `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	// TrustAnchors are IAM Roles Anywhere trust anchors (scenario_accountkinds.go).
	TrustAnchors []ScenarioTrustAnchor `yaml:"trust_anchors,omitempty" json:"trust_anchors,omitempty"`
	// OptInRegions are the opt-in regions (ap-east-1, me-south-1, ...)
	// enabled for the account; the others are disabled (regions.go).
	OptInRegions []string `yaml:"opt_in_regions,omitempty" json:"opt_in_regions,omitempty"`
	// LambdaFunctions are Lambda functions of the account (lambda.go).
	LambdaFunctions []ScenarioLambdaFunction `yaml:"lambda_functions,omitempty" json:"lambda_functions,omitempty"`
}

// ScenarioLambdaFunction is a Lambda function: its configuration, nothing
// that runs.
type ScenarioLambdaFunction struct {
	Name string `yaml:"name" json:"name"`
	// Region is us-east-1 by default.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Role names the execution role, one of the account's roles.
	Role string `yaml:"role" json:"role"`
	// Runtime is provided.al2023 by default.
	Runtime     string            `yaml:"runtime,omitempty" json:"runtime,omitempty"`
	Environment map[string]string `yaml:"environment,omitempty" json:"environment,omitempty"`
}

// ScenarioKMSKey is a customer managed, symmetric KMS key.
type ScenarioKMSKey struct {
	// ID fixes the key ID (a UUID); generated when empty.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Alias names the key, such as alias/keyrot.
	Alias       string `yaml:"alias,omitempty" json:"alias,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Region is us-east-1 by default.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// State is Enabled (default), Disabled or PendingDeletion.
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	// DeletionIn is how long until a PendingDeletion key is deleted; 30d by default.
	DeletionIn string `yaml:"deletion_in,omitempty" json:"deletion_in,omitempty"`
	// Policy is the key policy document (JSON); KMS's default key policy,
	// which lets the account's IAM policies decide, when empty.
	Policy string `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// ScenarioDynamoTable is an empty, on-demand DynamoDB table.
type ScenarioDynamoTable struct {
	Name string `yaml:"name" json:"name"`
	// Region is us-east-1 by default.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// PartitionKey and SortKey are "name" or "name:TYPE" (TYPE is S, N or
	// B; S by default). SortKey may be empty.
	PartitionKey string `yaml:"partition_key" json:"partition_key"`
	SortKey      string `yaml:"sort_key,omitempty" json:"sort_key,omitempty"`
}

// RoleSpec says which member role an account has. In YAML it is a boolean
// (true: the organization's role, false: none) or a role name.
type RoleSpec struct {
	// None means the account has no role the management account can assume.
	None bool
	// Name overrides the organization's role name.
	Name string
}

// IsZero reports whether the spec is the default.
func (r RoleSpec) IsZero() bool { return !r.None && r.Name == "" }

// UnmarshalYAML reads true, false or a role name.
func (r *RoleSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be true, false or a role name")
	}
	switch n.Tag {
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return err
		}
		*r = RoleSpec{None: !b}
	case "!!null":
		*r = RoleSpec{}
	default:
		*r = RoleSpec{Name: n.Value}
	}
	return nil
}

// MarshalYAML writes the spec back as YAML reads it.
func (r RoleSpec) MarshalYAML() (any, error) {
	switch {
	case r.None:
		return false, nil
	case r.Name != "":
		return r.Name, nil
	}
	return true, nil
}

// MarshalJSON writes the spec as YAML reads it.
func (r RoleSpec) MarshalJSON() ([]byte, error) {
	switch {
	case r.None:
		return []byte("false"), nil
	case r.Name != "":
		return []byte(fmt.Sprintf("%q", r.Name)), nil
	}
	return []byte("true"), nil
}

// ScenarioRoot is the account's root user.
type ScenarioRoot struct {
	MFA bool `yaml:"mfa,omitempty" json:"mfa,omitempty"`
	// PasswordLastUsed is an age, or empty for never.
	PasswordLastUsed string        `yaml:"password_last_used,omitempty" json:"password_last_used,omitempty"`
	Keys             []ScenarioKey `yaml:"keys,omitempty" json:"keys,omitempty"`
}

// ScenarioGroup is an IAM group.
type ScenarioGroup struct {
	Name     string           `yaml:"name" json:"name"`
	Path     string           `yaml:"path,omitempty" json:"path,omitempty"`
	Policies ScenarioPolicies `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// ScenarioUser is an IAM user.
type ScenarioUser struct {
	Name string `yaml:"name" json:"name"`
	// Path defaults to "/".
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Created is the user's age; by default that of its oldest credential,
	// or 30d.
	Created string            `yaml:"created,omitempty" json:"created,omitempty"`
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Groups are names of groups declared in the account.
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Admin attaches AdministratorAccess to the user.
	Admin bool `yaml:"admin,omitempty" json:"admin,omitempty"`
	// Policies are the user's identity policies.
	Policies ScenarioPolicies `yaml:"policies,omitempty" json:"policies,omitempty"`
	Console  *ScenarioConsole `yaml:"console,omitempty" json:"console,omitempty"`
	// MFA gives the user a virtual MFA device.
	MFA  bool          `yaml:"mfa,omitempty" json:"mfa,omitempty"`
	Keys []ScenarioKey `yaml:"keys,omitempty" json:"keys,omitempty"`
	// ServiceCredentials, SigningCertificates and SSHKeys are the user's
	// other long-term credentials (scenario_kinds.go).
	ServiceCredentials  []ScenarioServiceCredential  `yaml:"service_credentials,omitempty" json:"service_credentials,omitempty"`
	SigningCertificates []ScenarioSigningCertificate `yaml:"signing_certificates,omitempty" json:"signing_certificates,omitempty"`
	SSHKeys             []ScenarioSSHKey             `yaml:"ssh_keys,omitempty" json:"ssh_keys,omitempty"`
}

// ScenarioConsole is a console password (login profile).
type ScenarioConsole struct {
	// Created is the password's age; the user's by default.
	Created string `yaml:"created,omitempty" json:"created,omitempty"`
	// PasswordLastUsed is an age, or empty for never.
	PasswordLastUsed string `yaml:"password_last_used,omitempty" json:"password_last_used,omitempty"`
	ResetRequired    bool   `yaml:"reset_required,omitempty" json:"reset_required,omitempty"`
}

// ScenarioKey is a long-term access key.
type ScenarioKey struct {
	// ID and Secret fix the key's credentials; generated when empty.
	ID     string `yaml:"id,omitempty" json:"id,omitempty"`
	Secret string `yaml:"secret,omitempty" json:"-"`
	// Age is how long ago the key was created (required).
	Age string `yaml:"age" json:"age"`
	// Status is Active (default) or Inactive.
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// LastUsed is how long ago the key was last used; empty or "never"
	// for a key never used.
	LastUsed string `yaml:"last_used,omitempty" json:"last_used,omitempty"`
	// Service and Region of the last use; sts and us-east-1 by default.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	Region  string `yaml:"region,omitempty" json:"region,omitempty"`
}

//go:embed scenarios/*.yaml
var builtinScenarios embed.FS

// BuiltinScenarios returns the names of the built-in scenarios.
func BuiltinScenarios() []string {
	ents, _ := builtinScenarios.ReadDir("scenarios")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// LoadScenario returns a built-in scenario by name ("demo", "empty") or
// reads a scenario file. Problems are reported with the file, the line and
// the path of the offending field.
func LoadScenario(nameOrPath string) (*Scenario, error) {
	if !strings.ContainsAny(nameOrPath, "/\\.") {
		b, err := builtinScenarios.ReadFile("scenarios/" + nameOrPath + ".yaml")
		if err == nil {
			sc, err := ParseScenario(nameOrPath+".yaml", b)
			if err != nil {
				return nil, err
			}
			sc.Name = nameOrPath
			return sc, nil
		}
		if _, serr := os.Stat(nameOrPath); serr != nil {
			return nil, fmt.Errorf("unknown scenario %q (built-in: %s; or give a file path)", nameOrPath, strings.Join(BuiltinScenarios(), ", "))
		}
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	sc, err := ParseScenario(filepath.Base(nameOrPath), b)
	if err != nil {
		return nil, err
	}
	sc.Name = strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath))
	return sc, nil
}

// ParseScenario decodes scenario YAML strictly and checks it. file names
// the source in error messages. The error is a *ScenarioError listing
// every problem, of decoding and of checking, with its line.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	root, err := yamlconf.Parse(data, file)
	if err != nil {
		return nil, scenarioError(file, err.(yamlconf.Problems))
	}
	if root == nil {
		return nil, &ScenarioError{File: file, Problems: []Problem{{Message: "empty scenario (want at least organization.management)"}}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ScenarioError{File: file, Problems: []Problem{{Line: root.Line, Message: "a scenario is a mapping with organization, ous and accounts"}}}
	}
	d := yamlconf.NewDecoder(file)
	sc := &Scenario{file: file}
	d.Decode(root, sc, "")
	sc.lines = d.Lines
	se := scenarioError(file, d.Problems)
	if err := sc.Validate(); err != nil {
		var ve *ScenarioError
		if !errors.As(err, &ve) {
			return nil, err
		}
		for _, p := range ve.Problems {
			if !d.Failed(p.Path) { // else the decoder said what is wrong
				se.Problems = append(se.Problems, p)
			}
		}
	}
	if len(se.Problems) > 0 {
		sort.SliceStable(se.Problems, func(i, j int) bool { return se.Problems[i].Line < se.Problems[j].Line })
		return nil, se
	}
	return sc, nil
}

// scenarioError turns the decoder's problems into a ScenarioError's.
func scenarioError(file string, probs yamlconf.Problems) *ScenarioError {
	se := &ScenarioError{File: file}
	for _, p := range probs {
		se.Problems = append(se.Problems, Problem{Line: p.Line, Path: p.Path, Message: p.Message})
	}
	return se
}

// Problem is one defect of a scenario.
type Problem struct {
	// Line is the 1-based line in the YAML source; 0 when unknown.
	Line int
	// Path is the field's path, such as accounts[2].users[3].keys[0].age.
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ScenarioError lists every problem found in a scenario.
type ScenarioError struct {
	File     string
	Problems []Problem
}

// Error formats one problem per line as file:line: path: message.
func (e *ScenarioError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case e.File != "" && p.Line > 0:
			fmt.Fprintf(&b, "%s:%d: ", e.File, p.Line)
		case e.File != "":
			fmt.Fprintf(&b, "%s: ", e.File)
		case p.Line > 0:
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.String())
	}
	return b.String()
}
