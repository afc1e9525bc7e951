// Package policy defines the policy part of keyrot.yaml: thresholds per
// credential kind, exemptions, rule IDs and the rotation lifecycle. Load
// decodes strictly (with internal/yamlconf) and Validate reports every
// problem with its path and line.
//
// The package is a leaf: it imports no keyrot package but yamlconf, so the
// pure core (audit, plan) and the sandbox can use it without linking the
// AWS SDK or the history store. The notify section is kept as written;
// internal/config decodes and checks it together with the policy.
package policy

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// DefaultFile is the configuration file keyrot reads when none is named.
const DefaultFile = "keyrot.yaml"

// Policy is a parsed keyrot.yaml. Every field is optional in the file;
// Default supplies the values the file leaves out.
type Policy struct {
	// Version is the file format version; only 1 exists.
	Version      int          `yaml:"version"`
	Organization Organization `yaml:"organization"`
	AccessKeys   AccessKeys   `yaml:"access_keys"`
	Console      Console      `yaml:"console"`
	Root         Root         `yaml:"root"`
	// The other per-user credential kinds and passwords (iamkinds.go).
	ServiceCredentials  ServiceCredentials  `yaml:"service_credentials"`
	SigningCertificates SigningCertificates `yaml:"signing_certificates"`
	SSHKeys             SSHKeys             `yaml:"ssh_keys"`
	Passwords           Passwords           `yaml:"passwords"`
	// ExemptTag names an IAM user tag that exempts the user from every rule;
	// the tag's value is the reason. Empty disables tag exemptions.
	ExemptTag  string      `yaml:"exempt_tag"`
	Exemptions []Exemption `yaml:"exemptions"`
	Rotation   Rotation    `yaml:"rotation"`
	// ServerCertificates, Certificates, Secrets and TrustAnchors are the
	// policy of the account's other long-term credentials (accountkinds.go).
	ServerCertificates ServerCertificates `yaml:"server_certificates"`
	Certificates       Certificates       `yaml:"certificates"`
	Secrets            Secrets            `yaml:"secrets"`
	TrustAnchors       TrustAnchors       `yaml:"trust_anchors"`
	// Notify is the notify section as written; this package neither
	// decodes nor checks it (internal/config does, into a notify.Config).
	Notify yaml.Node `yaml:"notify"`
	// Serve is the serve section (keyrot serve) as written; like notify it
	// is decoded and checked by internal/config (with internal/serveconf).
	Serve yaml.Node `yaml:"serve"`
	// History is the history section as written (retention); this package
	// neither decodes nor checks it (internal/config does).
	History yaml.Node `yaml:"history"`
	// Deliver is the deliver section as written; internal/config decodes
	// it into a deliver.Config.
	Deliver yaml.Node `yaml:"deliver"`

	// source is the file name used in problems; lines maps a path such as
	// "access_keys.rotate_after" to its line in the source.
	source string
	lines  yamlconf.Lines
	// decodeProbs are what the decoder already reported, while validating.
	decodeProbs yamlconf.Problems
}

// Organization says which accounts to audit and how to reach them.
type Organization struct {
	// RoleName is the role assumed in each member account.
	RoleName   string `yaml:"role_name"`
	ExternalID string `yaml:"external_id"`
	// Accounts, when not empty, limits the run to these account IDs.
	Accounts        []string `yaml:"accounts"`
	ExcludeAccounts []string `yaml:"exclude_accounts"`
	// OUs, when not empty, limits the run to accounts under these OUs (recursively).
	OUs []string `yaml:"ous"`
	// Concurrency is how many accounts are collected at once.
	Concurrency int `yaml:"concurrency"`
}

// AccessKeys is the lifecycle of an IAM user's access keys.
type AccessKeys struct {
	// RotateAfter is the age after which an active key must be replaced (CIS 1.14 v3 / IAM.3).
	RotateAfter Duration `yaml:"rotate_after"`
	// DeactivateAfter is the age after which an old key is made inactive.
	DeactivateAfter Duration `yaml:"deactivate_after"`
	// DeleteAfter is the age after which an inactive key is deleted.
	DeleteAfter Duration `yaml:"delete_after"`
	// UnusedAfter is how long an active key may go unused (CIS 1.12 v3 / IAM.22).
	UnusedAfter Duration `yaml:"unused_after"`
	// MaxActiveKeys is the number of active keys a user may have (CIS 1.13 v3).
	MaxActiveKeys int `yaml:"max_active_keys"`
	// SetupGrace: a key created within this of its user and never used was
	// created at set-up (CIS 1.11 v3).
	SetupGrace Duration `yaml:"setup_grace"`
}

// AccessKeysOverride replaces some access key thresholds for the users an
// exemption matches. Nil fields keep the policy's value.
type AccessKeysOverride struct {
	RotateAfter     *Duration `yaml:"rotate_after"`
	DeactivateAfter *Duration `yaml:"deactivate_after"`
	DeleteAfter     *Duration `yaml:"delete_after"`
	UnusedAfter     *Duration `yaml:"unused_after"`
	MaxActiveKeys   *int      `yaml:"max_active_keys"`
	SetupGrace      *Duration `yaml:"setup_grace"`
}

// Apply returns base with the override's non-nil fields replacing base's.
func (o *AccessKeysOverride) Apply(base AccessKeys) AccessKeys {
	if o == nil {
		return base
	}
	if o.RotateAfter != nil {
		base.RotateAfter = *o.RotateAfter
	}
	if o.DeactivateAfter != nil {
		base.DeactivateAfter = *o.DeactivateAfter
	}
	if o.DeleteAfter != nil {
		base.DeleteAfter = *o.DeleteAfter
	}
	if o.UnusedAfter != nil {
		base.UnusedAfter = *o.UnusedAfter
	}
	if o.MaxActiveKeys != nil {
		base.MaxActiveKeys = *o.MaxActiveKeys
	}
	if o.SetupGrace != nil {
		base.SetupGrace = *o.SetupGrace
	}
	return base
}

// Console is the policy for console passwords.
type Console struct {
	// RequireMFA flags users with a password and no MFA device (CIS 1.10 v3 / IAM.5).
	RequireMFA bool `yaml:"require_mfa"`
	// UnusedAfter is how long a password may go unused (CIS 1.12 v3 / IAM.22).
	UnusedAfter Duration `yaml:"unused_after"`
	// DisableUnused lets keyrot apply disable (delete the login profile of)
	// a password unused past UnusedAfter, after a notice: the owner is told
	// the date when it is first found unused, and it is disabled no sooner
	// than DisableAfter unused and DisableAfter-UnusedAfter after the notice.
	DisableUnused bool `yaml:"disable_unused"`
	// DisableAfter is how long a password may go unused before keyrot
	// disables it (with DisableUnused); more than UnusedAfter.
	DisableAfter Duration `yaml:"disable_after"`
}

// Root is the policy for each account's root user.
type Root struct {
	// ForbidAccessKeys flags any root access key (CIS 1.4 v3 / IAM.4).
	ForbidAccessKeys bool `yaml:"forbid_access_keys"`
	// RequireMFA flags a root user without MFA (CIS 1.5 v3 / IAM.9).
	RequireMFA bool `yaml:"require_mfa"`
}

// Exemption either exempts the credentials it matches from some or all
// rules, or (with AccessKeys set) puts them on a different schedule.
type Exemption struct {
	Match  Match  `yaml:"match"`
	Reason string `yaml:"reason"`
	// Expires is the date (00:00 UTC) from which the exemption no longer applies.
	Expires time.Time `yaml:"expires"`
	// Rules limits the exemption to these rule IDs; empty means every rule.
	Rules []string `yaml:"rules"`
	// AccessKeys, when set, overrides thresholds instead of exempting.
	AccessKeys *AccessKeysOverride `yaml:"access_keys"`
}

// Expired reports whether the exemption no longer applies at now.
func (e Exemption) Expired(now time.Time) bool { return !now.Before(e.Expires) }

// IsOverride reports whether the exemption changes the schedule rather than exempting.
func (e Exemption) IsOverride() bool { return e.AccessKeys != nil }

// Covers reports whether the exemption applies to rule.
func (e Exemption) Covers(rule string) bool {
	if len(e.Rules) == 0 {
		return true
	}
	for _, r := range e.Rules {
		if r == rule {
			return true
		}
	}
	return false
}

// Match selects credentials. Every non-empty field must hold.
type Match struct {
	// Account is a 12-digit account ID.
	Account string `yaml:"account"`
	// OU is an OU (ou-…) or root (r-…) ID; accounts anywhere below it match.
	OU string `yaml:"ou"`
	// User is an IAM user name or a path.Match glob such as "ci-*".
	User string `yaml:"user"`
	// PathPrefix matches IAM user paths such as "/service/".
	PathPrefix string `yaml:"path_prefix"`
	// Group is an IAM group the user belongs to.
	Group string `yaml:"group"`
	// Tag is "key" (the tag is present) or "key=value".
	Tag string `yaml:"tag"`
}

// Empty reports whether no field is set.
func (m Match) Empty() bool { return m == Match{} }

// String describes the match as "account:…,user:…".
func (m Match) String() string {
	s := ""
	add := func(k, v string) {
		if v == "" {
			return
		}
		if s != "" {
			s += ","
		}
		s += k + ":" + v
	}
	add("account", m.Account)
	add("ou", m.OU)
	add("user", m.User)
	add("path_prefix", m.PathPrefix)
	add("group", m.Group)
	add("tag", m.Tag)
	return s
}

// Rotation modes and secret stores.
const (
	ModeEnforce   = "enforce"
	ModeAuditOnly = "audit-only"
	StoreAccount  = "account"
	StoreCentral  = "central"
)

// Rotation configures keyrot plan and apply.
type Rotation struct {
	// Mode is "enforce" (apply changes) or "audit-only" (never change anything).
	Mode string `yaml:"mode"`
	// Store is "account" (a secret in each user's account) or "central".
	Store   string  `yaml:"store"`
	Central Central `yaml:"central"`
	// SecretName is a text/template with SecretNameData fields.
	SecretName string `yaml:"secret_name"`
	KMSKeyID   string `yaml:"kms_key_id"`
	// Readers are extra principal ARNs allowed to read the secret.
	Readers              []string `yaml:"readers"`
	MaxChanges           int      `yaml:"max_changes"`
	MaxChangesPerAccount int      `yaml:"max_changes_per_account"`
	// OrphanGrace is how long a key keyrot created but did not record is kept.
	OrphanGrace Duration `yaml:"orphan_grace"`
}

// Central is where secrets go when Store is "central".
type Central struct {
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
}

// SecretNameData is what Rotation.SecretName templates can use.
type SecretNameData struct {
	AccountID   string
	AccountName string
	UserName    string
	UserPath    string
}

const day = 24 * time.Hour

// Default returns the policy used for everything keyrot.yaml leaves out:
// the CIS AWS Foundations Benchmark thresholds and AWS guidance.
func Default() *Policy {
	p := &Policy{
		Version: 1,
		Organization: Organization{
			RoleName:    "OrganizationAccountAccessRole",
			Concurrency: 8,
		},
		AccessKeys: AccessKeys{
			RotateAfter:     Duration(90 * day),
			DeactivateAfter: Duration(100 * day),
			DeleteAfter:     Duration(110 * day),
			UnusedAfter:     Duration(45 * day),
			MaxActiveKeys:   1,
			SetupGrace:      Duration(1 * day),
		},
		Console:   Console{RequireMFA: true, UnusedAfter: Duration(45 * day), DisableAfter: Duration(60 * day)},
		Root:      Root{ForbidAccessKeys: true, RequireMFA: true},
		ExemptTag: "keyrot:exempt",
		Rotation: Rotation{
			Mode:                 ModeEnforce,
			Store:                StoreAccount,
			SecretName:           "keyrot/{{.AccountID}}/{{.UserName}}",
			MaxChanges:           25,
			MaxChangesPerAccount: 10,
			OrphanGrace:          Duration(1 * day),
		},
		source: DefaultFile,
	}
	defaultIAMKinds(p)
	defaultAccountKinds(p)
	return p
}

// Load reads and parses the file at path; problems name the file as path.
// A missing file is an error; use Default for the built-in policy. The
// notify section is not checked: internal/config.Load checks the whole file.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes keyrot.yaml strictly on top of Default and validates it;
// the notify section is kept as written, unchecked. The error, if any, is
// a Problems listing every defect with its line.
func Parse(data []byte, filename string) (*Policy, error) {
	root, err := yamlconf.Parse(data, filename)
	if err != nil {
		return nil, err
	}
	p, probs := Decode(filename, root)
	if len(probs) > 0 {
		return nil, probs
	}
	return p, nil
}

// Decode decodes root, the root node of keyrot.yaml (nil for an empty
// file), strictly on top of Default, and validates the result. It returns
// the policy and every problem of both steps, sorted by line; the policy
// is only to be used when there are none. Problems name the file as
// filename.
func Decode(filename string, root *yaml.Node) (*Policy, Problems) {
	p := Default()
	p.source = filename
	d := yamlconf.NewDecoder(filename)
	d.Decode(root, p, "")
	p.lines = d.Lines
	p.decodeProbs = d.Problems
	probs := append(Problems(nil), d.Problems...)
	if err := p.Validate(); err != nil {
		probs = append(probs, err.(Problems)...)
	}
	p.decodeProbs = nil
	probs.Sort()
	return p, probs
}

// Source is the file name the policy was parsed from.
func (p *Policy) Source() string { return p.source }

// EffectiveAccessKeys returns the access key thresholds with an override applied.
func (p *Policy) EffectiveAccessKeys(o *AccessKeysOverride) AccessKeys { return o.Apply(p.AccessKeys) }
