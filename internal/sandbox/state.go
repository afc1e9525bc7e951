package sandbox

import (
	"sort"
	"strings"
	"time"
)

// State is the whole simulated world: one organization, its accounts and
// everything in them. All access goes through Server.mu.
type State struct {
	OrgID               string              `json:"org_id"`
	ManagementAccountID string              `json:"management_account_id"`
	RootID              string              `json:"root_id"` // Organizations root, r-xxxx
	Accounts            map[string]*Account `json:"accounts"`
	OUs                 map[string]*OU      `json:"ous"`
	// DefaultRoleName is the role the scenario creates in member accounts.
	DefaultRoleName string       `json:"default_role_name"`
	Emails          []Email      `json:"emails"`
	SNSMessages     []SNSMessage `json:"sns_messages"`
	// SCPs are the organization's service control policies by ID
	// (authz_state.go); FullAWSAccess is attached everywhere by default.
	SCPs map[string]*SCP `json:"scps,omitempty"`
}

// OU is an organizational unit.
type OU struct {
	ID       string `json:"id"` // ou-xxxx-yyyyyyyy
	Name     string `json:"name"`
	ParentID string `json:"parent_id"` // r-xxxx or ou-...
}

// Account is one AWS account of the organization.
type Account struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Status   string            `json:"status"` // ACTIVE, SUSPENDED
	ParentID string            `json:"parent_id"`
	Joined   time.Time         `json:"joined"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Roles that the management account may assume, by name.
	Roles  map[string]*Role  `json:"roles"`
	Users  map[string]*User  `json:"users"` // by lower-case name: IAM names are case-insensitively unique
	Groups map[string]*Group `json:"groups"`
	Root   RootUser          `json:"root"`
	Report *CredentialReport `json:"report,omitempty"`
	// Secrets by region, then by name.
	Secrets map[string]map[string]*Secret `json:"secrets"`
	// Topics by ARN.
	Topics map[string]*Topic `json:"topics"`
	// KMSKeys by region, then by key ID; KMSAliases by region, then by
	// alias name (alias/...). Made on first use (kms.go).
	KMSKeys    map[string]map[string]*KMSKey   `json:"kms_keys,omitempty"`
	KMSAliases map[string]map[string]*KMSAlias `json:"kms_aliases,omitempty"`
	// DynamoTables by region, then by table name. Made on first use
	// (dynamodb.go).
	DynamoTables map[string]map[string]*DynamoTable `json:"dynamodb_tables,omitempty"`
	// SESIdentities are the verified SES identities (email addresses and
	// domains) the account may send from, in every region.
	SESIdentities []string `json:"ses_identities,omitempty"`
	// Policies are the account's customer-managed IAM policies by ARN.
	Policies map[string]*ManagedPolicy `json:"policies,omitempty"`
	// SSMParameters are Parameter Store parameters by region, then by
	// name (ssm.go); LambdaFunctions are Lambda functions by region, then
	// by name (lambda.go). Made on first use.
	SSMParameters   map[string]map[string]*SSMParameter   `json:"ssm_parameters,omitempty"`
	LambdaFunctions map[string]map[string]*LambdaFunction `json:"lambda_functions,omitempty"`
	// PasswordPolicy is the account's password policy; nil for none.
	PasswordPolicy *PasswordPolicy `json:"password_policy,omitempty"`
	// Created is when the account's IAM world began (root user creation).
	Created time.Time `json:"created"`
	// ServerCertificates are the IAM server certificates, by name;
	// Certificates the ACM certificates by region, then by ARN.
	ServerCertificates map[string]*ServerCertificate      `json:"server_certificates,omitempty"`
	Certificates       map[string]map[string]*Certificate `json:"certificates,omitempty"`
	// TrustAnchors are the IAM Roles Anywhere trust anchors by region,
	// then by ID (rolesanywhere.go).
	TrustAnchors map[string]map[string]*TrustAnchor `json:"trust_anchors,omitempty"`
	// OptInRegions are the opt-in regions enabled for the account; the
	// others are disabled (regions.go).
	OptInRegions []string `json:"opt_in_regions,omitempty"`
}

// Role is an IAM role that can be assumed.
type Role struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	ARN        string    `json:"arn"`
	CreateDate time.Time `json:"create_date"`
	// TrustedAccounts may assume the role; ExternalID, when set, must match.
	TrustedAccounts []string `json:"trusted_accounts"`
	ExternalID      string   `json:"external_id,omitempty"`
	// TrustPolicy, when set, is the role's trust policy document and
	// replaces the one TrustedAccounts and ExternalID describe.
	TrustPolicy string `json:"trust_policy,omitempty"`
	Path        string `json:"path,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
	// Identity policies of the role.
	Policies Attachments `json:"policies"`
}

// RootUser is the account's root user.
type RootUser struct {
	PasswordLastUsed *time.Time   `json:"password_last_used,omitempty"`
	MFA              bool         `json:"mfa"`
	Keys             []*AccessKey `json:"keys,omitempty"`
}

// User is an IAM user.
type User struct {
	Name             string        `json:"name"`
	ID               string        `json:"id"`
	Path             string        `json:"path"`
	ARN              string        `json:"arn"`
	CreateDate       time.Time     `json:"create_date"`
	Tags             []Tag         `json:"tags,omitempty"`
	Groups           []string      `json:"groups,omitempty"` // group names
	Login            *LoginProfile `json:"login,omitempty"`
	PasswordLastUsed *time.Time    `json:"password_last_used,omitempty"`
	MFADevices       []*MFADevice  `json:"mfa_devices,omitempty"`
	Keys             []*AccessKey  `json:"keys,omitempty"`
	// ServiceCredentials, SigningCerts and SSHKeys are the user's other
	// long-term credentials (iam_kinds.go).
	ServiceCredentials []*ServiceCredential  `json:"service_credentials,omitempty"`
	SigningCerts       []*SigningCertificate `json:"signing_certificates,omitempty"`
	SSHKeys            []*SSHPublicKey       `json:"ssh_public_keys,omitempty"`
	// Admin is set for users the scenario declares admin; they have
	// AdministratorAccess attached.
	Admin bool `json:"admin,omitempty"`
	// Identity policies of the user.
	Policies Attachments `json:"policies"`
}

// Tag is a key/value tag, kept in insertion order as IAM does.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// LoginProfile is a console password.
type LoginProfile struct {
	CreateDate            time.Time `json:"create_date"`
	PasswordResetRequired bool      `json:"password_reset_required"`
	// PasswordHash is a hash of the password CreateLoginProfile set, for
	// ConsoleSignIn; empty for scenario passwords, which any password opens.
	PasswordHash string `json:"password_hash,omitempty"`
}

// MFADevice is an MFA device attached to a user.
type MFADevice struct {
	SerialNumber string    `json:"serial_number"`
	EnableDate   time.Time `json:"enable_date"`
}

// Group is an IAM group.
type Group struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Path       string    `json:"path"`
	ARN        string    `json:"arn"`
	CreateDate time.Time `json:"create_date"`
	// Identity policies of the group's members.
	Policies Attachments `json:"policies"`
}

// AccessKey is a long-term access key of a user or of the root user.
type AccessKey struct {
	ID         string    `json:"id"`
	Secret     string    `json:"secret"`
	Status     string    `json:"status"` // Active, Inactive
	CreateDate time.Time `json:"create_date"`
	// UsableAt is the wall-clock time from which the key authenticates,
	// modelling IAM's eventual consistency for new keys. Zero means at once.
	UsableAt        time.Time  `json:"usable_at,omitempty"`
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
}

// CredentialReport is a generated credential report.
type CredentialReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	// ReadyAt is when generation completes (sandbox clock).
	ReadyAt time.Time `json:"ready_at"`
	Content []byte    `json:"-"`
}

// Secret is a Secrets Manager secret.
type Secret struct {
	ARN              string     `json:"arn"`
	Name             string     `json:"name"`
	Description      string     `json:"description,omitempty"`
	KmsKeyID         string     `json:"kms_key_id,omitempty"`
	Tags             []Tag      `json:"tags,omitempty"`
	CreatedDate      time.Time  `json:"created_date"`
	LastChangedDate  time.Time  `json:"last_changed_date"`
	LastAccessedDate *time.Time `json:"last_accessed_date,omitempty"`
	DeletedDate      *time.Time `json:"deleted_date,omitempty"`
	ResourcePolicy   string     `json:"resource_policy,omitempty"`
	// PolicyPrincipals binds the users and roles the resource policy names
	// (by ARN) to their unique IDs when it was put.
	PolicyPrincipals  map[string]string         `json:"policy_principals,omitempty"`
	Versions          map[string]*SecretVersion `json:"versions"`
	RotationEnabled   bool                      `json:"rotation_enabled"`
	RotationLambdaARN string                    `json:"rotation_lambda_arn,omitempty"`
	LastRotatedDate   *time.Time                `json:"last_rotated_date,omitempty"`
	// RotationDays is the rotation rules' AutomaticallyAfterDays (0: none).
	RotationDays int `json:"rotation_days,omitempty"`
	// SimulatedRotation, set by the scenario, is what RotateSecret does when
	// no rotation handler is registered for the secret's function:
	// "succeed" rotates the value, "fail" leaves the new version AWSPENDING
	// as a rotation function failing at setSecret does.
	SimulatedRotation string `json:"simulated_rotation,omitempty"`
}

// SecretVersion is one version of a secret's value.
type SecretVersion struct {
	ID          string    `json:"id"`
	String      *string   `json:"-"`
	Binary      []byte    `json:"-"`
	Stages      []string  `json:"stages"`
	CreatedDate time.Time `json:"created_date"`
	// KMSKeyARN is the KMS key the value was encrypted with; reading the
	// value needs it. Empty for a version that predates the key.
	KMSKeyARN string `json:"kms_key_arn,omitempty"`
}

// Topic is an SNS topic.
type Topic struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
}

// Email is a message captured from SES.
type Email struct {
	MessageID string    `json:"message_id"`
	AccountID string    `json:"account_id"`
	Region    string    `json:"region"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Cc        []string  `json:"cc,omitempty"`
	Bcc       []string  `json:"bcc,omitempty"`
	ReplyTo   []string  `json:"reply_to,omitempty"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text,omitempty"`
	HTML      string    `json:"html,omitempty"`
	Raw       string    `json:"raw,omitempty"`
	SentAt    time.Time `json:"sent_at"`
}

// SNSMessage is a message captured from SNS Publish.
type SNSMessage struct {
	MessageID  string            `json:"message_id"`
	AccountID  string            `json:"account_id"`
	TopicARN   string            `json:"topic_arn"`
	Subject    string            `json:"subject,omitempty"`
	Message    string            `json:"message"`
	Attributes map[string]string `json:"attributes,omitempty"`
	SentAt     time.Time         `json:"sent_at"`
}

// newState returns an empty organization with only a management account.
func newState(mgmtID string, now time.Time) *State {
	st := &State{
		OrgID:               "o-" + randLower(10),
		ManagementAccountID: mgmtID,
		RootID:              "r-" + randLower(4),
		Accounts:            map[string]*Account{},
		OUs:                 map[string]*OU{},
		DefaultRoleName:     "OrganizationAccountAccessRole",
	}
	st.Accounts[mgmtID] = newAccount(mgmtID, "management", "management@example.com", st.RootID, now)
	return st
}

func newAccount(id, name, email, parent string, now time.Time) *Account {
	return &Account{
		ID: id, Name: name, Email: email, Status: "ACTIVE", ParentID: parent,
		Joined: now, Created: now,
		Roles:   map[string]*Role{},
		Users:   map[string]*User{},
		Groups:  map[string]*Group{},
		Secrets: map[string]map[string]*Secret{},
		Topics:  map[string]*Topic{},
	}
}

// user returns the user with the given name, matching case-insensitively as IAM does.
func (a *Account) user(name string) *User { return a.Users[strings.ToLower(name)] }

// sortedUsers returns the account's users ordered by name, as IAM lists them.
func (a *Account) sortedUsers() []*User {
	us := make([]*User, 0, len(a.Users))
	for _, u := range a.Users {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return strings.ToLower(us[i].Name) < strings.ToLower(us[j].Name) })
	return us
}

// sortedAccounts returns the organization's accounts ordered by join date then ID.
func (st *State) sortedAccounts() []*Account {
	as := make([]*Account, 0, len(st.Accounts))
	for _, a := range st.Accounts {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool {
		if !as[i].Joined.Equal(as[j].Joined) {
			return as[i].Joined.Before(as[j].Joined)
		}
		return as[i].ID < as[j].ID
	})
	return as
}
