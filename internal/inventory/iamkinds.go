package inventory

import "time"

// Per-user IAM credentials besides access keys and console passwords, and
// the account's password policy.

// Services whose service-specific credentials keyrot collects.
const (
	ServiceCodeCommit = "codecommit.amazonaws.com" // HTTPS Git credentials
	ServiceKeyspaces  = "cassandra.amazonaws.com"  // Amazon Keyspaces
	ServiceBedrock    = "bedrock.amazonaws.com"    // Amazon Bedrock long-term API keys
)

// CredentialServices are the services of ServiceCredential, in the order
// they are collected.
var CredentialServices = []string{ServiceCodeCommit, ServiceKeyspaces, ServiceBedrock}

// KeyExpired is the status IAM gives an API key past its expiration date.
const KeyExpired KeyStatus = "Expired"

// ServiceCredential is an IAM service-specific credential: a user name and
// password for CodeCommit or Keyspaces, or a long-term API key for Bedrock.
// AWS records no last use for them.
type ServiceCredential struct {
	ID      string    `json:"id"`
	Service string    `json:"service"`
	Status  KeyStatus `json:"status"`
	// CreateDate is when the credential was created (a reset keeps it).
	CreateDate time.Time `json:"create_date"`
	// ExpirationDate is set for API keys created with an expiry; nil for
	// credentials that never expire.
	ExpirationDate *time.Time `json:"expiration_date,omitempty"`
	// ServiceUserName (CodeCommit, Keyspaces) or Alias (API keys) is the
	// credential's public name.
	ServiceUserName string `json:"service_user_name,omitempty"`
	Alias           string `json:"alias,omitempty"`
}

// APIKey reports whether the credential is a long-term API key.
func (c ServiceCredential) APIKey() bool { return c.Service == ServiceBedrock }

// Active reports whether the credential is active (and not expired).
func (c ServiceCredential) Active() bool { return c.Status == KeyActive }

// SigningCertificate is an X.509 signing certificate of a user. ID is
// empty when only the credential report was read. AWS records no last use.
type SigningCertificate struct {
	ID         string    `json:"id,omitempty"`
	Slot       int       `json:"slot,omitempty"` // 1 or 2 in the credential report
	Status     KeyStatus `json:"status"`
	UploadDate time.Time `json:"upload_date"`
}

// Active reports whether the certificate is active.
func (c SigningCertificate) Active() bool { return c.Status == KeyActive }

// SSHPublicKey is an SSH public key of a user, for CodeCommit. AWS records
// no last use.
type SSHPublicKey struct {
	ID         string    `json:"id"`
	Status     KeyStatus `json:"status"`
	UploadDate time.Time `json:"upload_date"`
}

// Active reports whether the key is active.
func (k SSHPublicKey) Active() bool { return k.Status == KeyActive }

// PasswordPolicy is an account's password policy as
// GetAccountPasswordPolicy returns it.
type PasswordPolicy struct {
	// Exists is false when the account has no password policy (IAM's
	// defaults apply: 8 characters, no other requirement, no expiry).
	Exists                     bool `json:"exists"`
	MinimumPasswordLength      int  `json:"minimum_password_length,omitempty"`
	RequireSymbols             bool `json:"require_symbols,omitempty"`
	RequireNumbers             bool `json:"require_numbers,omitempty"`
	RequireUppercaseCharacters bool `json:"require_uppercase_characters,omitempty"`
	RequireLowercaseCharacters bool `json:"require_lowercase_characters,omitempty"`
	AllowUsersToChangePassword bool `json:"allow_users_to_change_password,omitempty"`
	// MaxPasswordAge is in days; 0 when passwords do not expire.
	MaxPasswordAge int `json:"max_password_age,omitempty"`
	// PasswordReusePrevention is how many earlier passwords may not be reused.
	PasswordReusePrevention int  `json:"password_reuse_prevention,omitempty"`
	HardExpiry              bool `json:"hard_expiry,omitempty"`
}

// HasOtherCredentials reports whether the user holds a service-specific
// credential, a signing certificate or an SSH public key.
func (u *User) HasOtherCredentials() bool {
	return len(u.ServiceCredentials) > 0 || len(u.SigningCertificates) > 0 || len(u.SSHPublicKeys) > 0
}
