// Package inventory holds the facts keyrot collects about an AWS Organization:
// accounts, IAM users, their access keys, console passwords, MFA devices and
// the root user's credentials. It is plain values with no I/O, shared by the
// collector, the auditor, the planner and the renderers.
package inventory

import (
	"strings"
	"time"
)

// Snapshot is everything collected in one run.
type Snapshot struct {
	// CollectedAt is when collection finished, on the clock of the caller.
	CollectedAt time.Time `json:"collected_at"`
	// OrganizationID is empty when the run did not use Organizations.
	OrganizationID string `json:"organization_id,omitempty"`
	// ManagementAccountID is the account whose credentials listed the organization.
	ManagementAccountID string    `json:"management_account_id,omitempty"`
	Accounts            []Account `json:"accounts"`
}

// AccountStatus says whether an account could be audited.
type AccountStatus string

// Account statuses.
const (
	AccountAudited AccountStatus = "audited"
	AccountSkipped AccountStatus = "skipped" // suspended or excluded
	AccountFailed  AccountStatus = "failed"  // role missing, access denied, ...
)

// Account is one AWS account and what was found in it.
type Account struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Email  string            `json:"email,omitempty"`
	OUPath []string          `json:"ou_path,omitempty"` // OU IDs from the root down to the account's parent
	Tags   map[string]string `json:"tags,omitempty"`
	// Status says whether the account was audited; Reason explains a skip or failure.
	Status AccountStatus `json:"status"`
	Reason string        `json:"reason,omitempty"`
	// ReportGeneratedAt is the credential report's generation time; zero if none was used.
	ReportGeneratedAt time.Time `json:"report_generated_at,omitempty"`
	Root              *Root     `json:"root,omitempty"`
	Users             []User    `json:"users"`
	// PasswordPolicy is the account's password policy; nil when not read.
	PasswordPolicy *PasswordPolicy `json:"password_policy,omitempty"`
	// Errors are per-item problems met while collecting (a failed last-used lookup, ...).
	Errors []CollectError `json:"errors,omitempty"`
	// ServerCertificates, Certificates (ACM, every collected region) and
	// Secrets (Secrets Manager, every collected region) and TrustAnchors
	// (IAM Roles Anywhere, every collected region) are the account's other
	// long-term credentials (accountkinds.go); Kinds says which were read.
	ServerCertificates []ServerCertificate `json:"server_certificates,omitempty"`
	Certificates       []Certificate       `json:"certificates,omitempty"`
	Secrets            []Secret            `json:"secrets,omitempty"`
	TrustAnchors       []TrustAnchor       `json:"trust_anchors,omitempty"`
	Kinds              KindsCollected      `json:"kinds,omitempty"`
}

// CollectError is a problem with one item that did not stop the account's audit.
type CollectError struct {
	User    string `json:"user,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	Op      string `json:"op"`
	Message string `json:"message"`
}

// Root is the account's root user as the credential report shows it.
type Root struct {
	MFAActive        bool        `json:"mfa_active"`
	PasswordLastUsed *time.Time  `json:"password_last_used,omitempty"`
	Keys             []AccessKey `json:"keys,omitempty"`
}

// User is an IAM user.
type User struct {
	Name       string            `json:"name"`
	ARN        string            `json:"arn,omitempty"`
	Path       string            `json:"path,omitempty"`
	CreateDate time.Time         `json:"create_date"`
	Tags       map[string]string `json:"tags,omitempty"`
	Groups     []string          `json:"groups,omitempty"`
	Password   *Password         `json:"password,omitempty"`
	MFAActive  bool              `json:"mfa_active"`
	Keys       []AccessKey       `json:"keys,omitempty"`
	// ServiceCredentials, SigningCertificates and SSHPublicKeys are the
	// user's other long-term credentials (iamkinds.go); nil when not collected.
	ServiceCredentials  []ServiceCredential  `json:"service_credentials,omitempty"`
	SigningCertificates []SigningCertificate `json:"signing_certificates,omitempty"`
	SSHPublicKeys       []SSHPublicKey       `json:"ssh_public_keys,omitempty"`
}

// Password is a console password (login profile).
type Password struct {
	Enabled      bool       `json:"enabled"`
	LastUsed     *time.Time `json:"last_used,omitempty"`
	LastChanged  *time.Time `json:"last_changed,omitempty"`
	NextRotation *time.Time `json:"next_rotation,omitempty"`
}

// KeyStatus is an access key's status as IAM reports it.
type KeyStatus string

// Access key statuses.
const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey is one access key. ID may be empty when only the credential report
// was read and the key's slot was not mapped to an ID.
type AccessKey struct {
	ID     string    `json:"id,omitempty"`
	Slot   int       `json:"slot,omitempty"` // 1 or 2 in the credential report
	Status KeyStatus `json:"status"`
	// CreateDate is the key's creation (the report's last_rotated).
	CreateDate time.Time `json:"create_date"`
	// LastUsed is nil when the key was never used (or AWS has no information).
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
	// LastUsedKnown is false when the last-used facts could not be read; a
	// false value is never to be taken as "never used".
	LastUsedKnown bool `json:"last_used_known"`
}

// AccessKeys returns the account's access keys: the root user's, then
// each IAM user's in order.
func (a *Account) AccessKeys() []AccessKey {
	var keys []AccessKey
	if a.Root != nil {
		keys = append(keys, a.Root.Keys...)
	}
	for _, u := range a.Users {
		keys = append(keys, u.Keys...)
	}
	return keys
}

// Active reports whether the key is active.
func (k AccessKey) Active() bool { return k.Status == KeyActive }

// MaskKeyID shows an access key ID as its prefix and last four characters,
// e.g. AKIA…WXYZ, for human-readable output.
func MaskKeyID(id string) string {
	if len(id) <= 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// AgeDays returns whole days elapsed from t to now, never negative.
func AgeDays(t, now time.Time) int {
	if t.IsZero() || now.Before(t) {
		return 0
	}
	return int(now.Sub(t) / (24 * time.Hour))
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
