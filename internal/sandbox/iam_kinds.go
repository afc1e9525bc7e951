package sandbox

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Per-user IAM credentials besides access keys and passwords:
// service-specific credentials (CodeCommit HTTPS Git, Amazon Keyspaces,
// Amazon Bedrock long-term API keys), X.509 signing certificates and SSH
// public keys for CodeCommit; and the account's password policy. Shapes and
// error codes follow botocore's IAM model (service-2.json, 2010-05-08) and
// the IAM API Reference.

// ServiceCredential is an IAM service-specific credential.
type ServiceCredential struct {
	ID          string    `json:"id"`
	ServiceName string    `json:"service_name"`
	Status      string    `json:"status"` // Active, Inactive
	CreateDate  time.Time `json:"create_date"`
	// ServiceUserName and Password are the CodeCommit / Keyspaces pair.
	ServiceUserName string `json:"service_user_name,omitempty"`
	Password        string `json:"-"`
	// Alias and Secret are a long-term API key's (Bedrock).
	Alias  string `json:"alias,omitempty"`
	Secret string `json:"-"`
	// ExpirationDate is set for API keys created with CredentialAgeDays.
	ExpirationDate *time.Time `json:"expiration_date,omitempty"`
}

// status is the credential's status as IAM reports it: an API key past its
// expiration date is Expired.
func (c *ServiceCredential) status(now time.Time) string {
	if c.ExpirationDate != nil && !now.Before(*c.ExpirationDate) {
		return "Expired"
	}
	return c.Status
}

// SigningCertificate is an X.509 signing certificate of a user.
type SigningCertificate struct {
	ID         string    `json:"id"`
	Body       string    `json:"body"`
	Status     string    `json:"status"`
	UploadDate time.Time `json:"upload_date"`
}

// SSHPublicKey is an SSH public key of a user (for CodeCommit).
type SSHPublicKey struct {
	ID          string    `json:"id"`
	Body        string    `json:"body"`
	Fingerprint string    `json:"fingerprint"`
	Status      string    `json:"status"`
	UploadDate  time.Time `json:"upload_date"`
}

// PasswordPolicy is an account's password policy; nil when the account has
// none (GetAccountPasswordPolicy answers NoSuchEntity).
type PasswordPolicy struct {
	MinimumPasswordLength      int  `json:"minimum_password_length"`
	RequireSymbols             bool `json:"require_symbols"`
	RequireNumbers             bool `json:"require_numbers"`
	RequireUppercaseCharacters bool `json:"require_uppercase_characters"`
	RequireLowercaseCharacters bool `json:"require_lowercase_characters"`
	AllowUsersToChangePassword bool `json:"allow_users_to_change_password"`
	// MaxPasswordAge is in days; 0 means passwords never expire.
	MaxPasswordAge int `json:"max_password_age,omitempty"`
	// PasswordReusePrevention is how many previous passwords are remembered; 0 for none.
	PasswordReusePrevention int  `json:"password_reuse_prevention,omitempty"`
	HardExpiry              bool `json:"hard_expiry"`
}

// Quotas (IAM User Guide, "IAM and AWS STS quotas"; API Reference of
// CreateServiceSpecificCredential: "a maximum of two sets of
// service-specific credentials for each supported service per user").
const (
	serviceCredentialsPerServiceQuota = 2
	signingCertificatesPerUserQuota   = 2
	sshPublicKeysPerUserQuota         = 5
)

// Services that issue service-specific credentials. API keys (an alias and
// a secret, optionally expiring) are Bedrock's; the others get a user name
// and a password.
var serviceCredentialServices = map[string]bool{
	"codecommit.amazonaws.com": false,
	"cassandra.amazonaws.com":  false,
	"bedrock.amazonaws.com":    true, // long-term API keys
}

var (
	reCredID  = regexp.MustCompile(`^\w+$`)
	reBodyChr = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
)

// idParam reads a required ID parameter with the model's length bounds and
// pattern [\w]+.
func (r *request) idParam(name string, min int) (string, error) {
	id, err := r.requireParam(name)
	if err != nil {
		return "", err
	}
	field := lowerFirst(name)
	switch {
	case len(id) < min:
		return "", validationError(id, field, "Member must have length greater than or equal to "+strconv.Itoa(min))
	case len(id) > 128:
		return "", validationError(id, field, "Member must have length less than or equal to 128")
	case !reCredID.MatchString(id):
		return "", validationError(id, field, `Member must satisfy regular expression pattern: [\w]+`)
	}
	return id, nil
}

// statusParam reads Status: Active or Inactive (Expired is in the enum but
// cannot be set).
func (r *request) statusParam() (string, error) {
	status, err := r.requireParam("Status")
	if err != nil {
		return "", err
	}
	switch status {
	case "Active", "Inactive":
		return status, nil
	case "Expired":
		return "", errf(400, "InvalidInput", "Status can only be set to Active or Inactive.")
	}
	return "", validationError(status, "status", "Member must satisfy enum value set: [Active, Inactive, Expired]")
}

// bodyParam reads a certificate or key body (1..16384 characters of
// [\u0009\u000A\u000D\u0020-\u00FF]).
func (r *request) bodyParam(name string) (string, error) {
	b, err := r.requireParam(name)
	if err != nil {
		return "", err
	}
	if len(b) > 16384 {
		return "", validationError("***", lowerFirst(name), "Member must have length less than or equal to 16384")
	}
	if !reBodyChr.MatchString(b) {
		return "", validationError("***", lowerFirst(name), `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
	}
	return b, nil
}

// userTarget resolves the optional UserName of an operation on a user's
// own credentials; users other than administrators may act only on
// themselves. The root user and the sandbox admin have none of these
// credentials here.
func (r *request) userTarget() (*User, error) {
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	if t.user == nil {
		return nil, errf(400, "ValidationError", "Must specify userName when calling with non-User credentials")
	}
	return t.user, nil
}

// Service-specific credentials.

type xmlServiceCredential struct {
	CreateDate                  string `xml:"CreateDate"`
	ExpirationDate              string `xml:"ExpirationDate,omitempty"`
	ServiceName                 string `xml:"ServiceName"`
	ServiceUserName             string `xml:"ServiceUserName,omitempty"`
	ServicePassword             string `xml:"ServicePassword,omitempty"`
	ServiceCredentialAlias      string `xml:"ServiceCredentialAlias,omitempty"`
	ServiceCredentialSecret     string `xml:"ServiceCredentialSecret,omitempty"`
	ServiceSpecificCredentialID string `xml:"ServiceSpecificCredentialId"`
	UserName                    string `xml:"UserName"`
	Status                      string `xml:"Status"`
}

type iamServiceCredentialResult struct {
	ServiceSpecificCredential xmlServiceCredential `xml:"ServiceSpecificCredential"`
}

// serviceCredentialXML renders a credential; secret adds the password or
// API key secret, which IAM returns only on create and reset.
func serviceCredentialXML(u *User, c *ServiceCredential, now time.Time, secret bool) xmlServiceCredential {
	x := xmlServiceCredential{
		CreateDate: xmlTime(c.CreateDate), ServiceName: c.ServiceName, ServiceUserName: c.ServiceUserName,
		ServiceCredentialAlias: c.Alias, ServiceSpecificCredentialID: c.ID, UserName: u.Name, Status: c.status(now),
	}
	if c.ExpirationDate != nil {
		x.ExpirationDate = xmlTime(*c.ExpirationDate)
	}
	if secret {
		x.ServicePassword, x.ServiceCredentialSecret = c.Password, c.Secret
	}
	return x
}

func noSuchService(name string) error {
	return errf(404, "NotSupportedService", "No such service %s is supported for Service-Specific Credentials", name)
}

// newServiceCredential makes a credential of the given service for u.
func newServiceCredential(u *User, accountID, service string, created time.Time, ageDays int) *ServiceCredential {
	c := &ServiceCredential{ID: "ACCA" + randFrom(upperBase32, 17), ServiceName: service, Status: "Active", CreateDate: created}
	if serviceCredentialServices[service] {
		// A long-term API key: its alias names the user and the account, its
		// secret is the bearer token (IAM User Guide, "API keys for Amazon Bedrock").
		c.Alias = u.Name + "+" + randLower(4) + "-at-" + accountID
		c.Secret = "ABSK" + randFrom(secretChars, 128)
		if ageDays > 0 {
			t := created.AddDate(0, 0, ageDays)
			c.ExpirationDate = &t
		}
	} else {
		c.ServiceUserName = u.Name + "-at-" + accountID
		c.Password = randFrom(secretChars, 44)
	}
	return c
}

func iamCreateServiceSpecificCredential(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	service, err := r.requireParam("ServiceName")
	if err != nil {
		return nil, err
	}
	apiKey, ok := serviceCredentialServices[service]
	if !ok {
		return nil, noSuchService(service)
	}
	days, err := r.intParam("CredentialAgeDays")
	if err != nil {
		return nil, err
	}
	if r.param("CredentialAgeDays") != "" {
		if days < 1 || days > 36600 {
			return nil, validationError(strconv.Itoa(days), "credentialAgeDays", "Member must have value between 1 and 36600")
		}
		if !apiKey {
			// "This field is only valid for services that support long-term API keys."
			return nil, errf(400, "InvalidInput", "CredentialAgeDays is only valid for services that support long-term API keys.")
		}
	}
	n := 0
	for _, c := range u.ServiceCredentials {
		if c.ServiceName == service {
			n++
		}
	}
	if n >= serviceCredentialsPerServiceQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: %d", serviceCredentialsPerServiceQuota)
	}
	c := newServiceCredential(u, r.acct.ID, service, r.now, days)
	u.ServiceCredentials = append(u.ServiceCredentials, c)
	return iamServiceCredentialResult{ServiceSpecificCredential: serviceCredentialXML(u, c, r.now, true)}, nil
}

type iamListServiceCredentialsResult struct {
	ServiceSpecificCredentials []xmlServiceCredential `xml:"ServiceSpecificCredentials>member"`
	IsTruncated                bool                   `xml:"IsTruncated"`
	Marker                     string                 `xml:"Marker,omitempty"`
}

// iamListServiceSpecificCredentials lists one user's credentials, or with
// AllUsers every user's (UserName may then not be given), optionally of one
// service, a page at a time.
func iamListServiceSpecificCredentials(r *request) (any, error) {
	all, err := r.boolParam("AllUsers")
	if err != nil {
		return nil, err
	}
	service := r.param("ServiceName")
	if service != "" {
		if _, ok := serviceCredentialServices[service]; !ok {
			return nil, noSuchService(service)
		}
	}
	type owned struct {
		u *User
		c *ServiceCredential
	}
	var list []owned
	if all {
		if r.param("UserName") != "" {
			return nil, errf(400, "InvalidInput", "AllUsers cannot be specified together with UserName.")
		}
		if err := r.requireAdmin("arn:aws:iam::" + r.acct.ID + ":user/"); err != nil {
			return nil, err
		}
		for _, u := range r.acct.sortedUsers() {
			for _, c := range u.ServiceCredentials {
				list = append(list, owned{u, c})
			}
		}
	} else {
		u, err := r.userTarget()
		if err != nil {
			return nil, err
		}
		for _, c := range u.ServiceCredentials {
			list = append(list, owned{u, c})
		}
	}
	if service != "" {
		list = slices.DeleteFunc(list, func(o owned) bool { return o.c.ServiceName != service })
	}
	start, end, next, err := r.pageParams(len(list))
	if err != nil {
		return nil, err
	}
	out := iamListServiceCredentialsResult{ServiceSpecificCredentials: []xmlServiceCredential{}, IsTruncated: next != "", Marker: next}
	for _, o := range list[start:end] {
		out.ServiceSpecificCredentials = append(out.ServiceSpecificCredentials, serviceCredentialXML(o.u, o.c, r.now, false))
	}
	return out, nil
}

// targetServiceCredential resolves UserName and ServiceSpecificCredentialId.
func (r *request) targetServiceCredential() (*User, int, error) {
	id, err := r.idParam("ServiceSpecificCredentialId", 20)
	if err != nil {
		return nil, 0, err
	}
	u, err := r.userTarget()
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(u.ServiceCredentials, func(c *ServiceCredential) bool { return c.ID == id })
	if i < 0 {
		return nil, 0, errf(404, "NoSuchEntity", "No such credential %s exists", id)
	}
	return u, i, nil
}

func iamUpdateServiceSpecificCredential(r *request) (any, error) {
	status, err := r.statusParam()
	if err != nil {
		return nil, err
	}
	u, i, err := r.targetServiceCredential()
	if err != nil {
		return nil, err
	}
	u.ServiceCredentials[i].Status = status
	return nil, nil
}

func iamDeleteServiceSpecificCredential(r *request) (any, error) {
	u, i, err := r.targetServiceCredential()
	if err != nil {
		return nil, err
	}
	u.ServiceCredentials = slices.Delete(u.ServiceCredentials, i, i+1)
	return nil, nil
}

// iamResetServiceSpecificCredential gives a CodeCommit or Keyspaces
// credential a new password (an API key a new secret), keeping its ID.
func iamResetServiceSpecificCredential(r *request) (any, error) {
	u, i, err := r.targetServiceCredential()
	if err != nil {
		return nil, err
	}
	c := u.ServiceCredentials[i]
	if c.Secret != "" {
		c.Secret = "ABSK" + randFrom(secretChars, 128)
	} else {
		c.Password = randFrom(secretChars, 44)
	}
	return iamServiceCredentialResult{ServiceSpecificCredential: serviceCredentialXML(u, c, r.now, true)}, nil
}

// Signing certificates.

type xmlSigningCertificate struct {
	UserName        string `xml:"UserName"`
	CertificateID   string `xml:"CertificateId"`
	CertificateBody string `xml:"CertificateBody"`
	Status          string `xml:"Status"`
	UploadDate      string `xml:"UploadDate"`
}

func signingCertXML(u *User, c *SigningCertificate) xmlSigningCertificate {
	return xmlSigningCertificate{UserName: u.Name, CertificateID: c.ID, CertificateBody: c.Body, Status: c.Status, UploadDate: xmlTime(c.UploadDate)}
}

type iamUploadSigningCertificateResult struct {
	Certificate xmlSigningCertificate `xml:"Certificate"`
}

// parseCertificate checks that body is one PEM-encoded X.509 certificate.
func parseCertificate(body string) error {
	blk, _ := pem.Decode([]byte(strings.TrimSpace(body)))
	if blk == nil || blk.Type != "CERTIFICATE" {
		return errf(400, "MalformedCertificate", "Certificate is not a PEM-encoded X.509 certificate.")
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		return errf(400, "MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	return nil
}

func iamUploadSigningCertificate(r *request) (any, error) {
	body, err := r.bodyParam("CertificateBody")
	if err != nil {
		return nil, err
	}
	u, err := r.userTarget()
	if err != nil {
		return nil, err
	}
	if err := parseCertificate(body); err != nil {
		return nil, err
	}
	for _, o := range r.acct.Users {
		for _, c := range o.SigningCerts {
			if strings.TrimSpace(c.Body) == strings.TrimSpace(body) {
				return nil, errf(409, "DuplicateCertificate", "The same certificate already exists.")
			}
		}
	}
	if len(u.SigningCerts) >= signingCertificatesPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for SigningCertificatesPerUser: %d", signingCertificatesPerUserQuota)
	}
	c := &SigningCertificate{ID: randFrom(upperBase32, 32), Body: body, Status: "Active", UploadDate: r.now}
	u.SigningCerts = append(u.SigningCerts, c)
	return iamUploadSigningCertificateResult{Certificate: signingCertXML(u, c)}, nil
}

type iamListSigningCertificatesResult struct {
	Certificates []xmlSigningCertificate `xml:"Certificates>member"`
	IsTruncated  bool                    `xml:"IsTruncated"`
	Marker       string                  `xml:"Marker,omitempty"`
}

func iamListSigningCertificates(r *request) (any, error) {
	u, err := r.userTarget()
	if err != nil {
		return nil, err
	}
	start, end, next, err := r.pageParams(len(u.SigningCerts))
	if err != nil {
		return nil, err
	}
	out := iamListSigningCertificatesResult{Certificates: []xmlSigningCertificate{}, IsTruncated: next != "", Marker: next}
	for _, c := range u.SigningCerts[start:end] {
		out.Certificates = append(out.Certificates, signingCertXML(u, c))
	}
	return out, nil
}

func (r *request) targetSigningCert() (*User, int, error) {
	id, err := r.idParam("CertificateId", 24)
	if err != nil {
		return nil, 0, err
	}
	u, err := r.userTarget()
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(u.SigningCerts, func(c *SigningCertificate) bool { return c.ID == id })
	if i < 0 {
		return nil, 0, errf(404, "NoSuchEntity", "The Certificate with id %s cannot be found.", id)
	}
	return u, i, nil
}

func iamUpdateSigningCertificate(r *request) (any, error) {
	status, err := r.statusParam()
	if err != nil {
		return nil, err
	}
	u, i, err := r.targetSigningCert()
	if err != nil {
		return nil, err
	}
	u.SigningCerts[i].Status = status
	return nil, nil
}

func iamDeleteSigningCertificate(r *request) (any, error) {
	u, i, err := r.targetSigningCert()
	if err != nil {
		return nil, err
	}
	u.SigningCerts = slices.Delete(u.SigningCerts, i, i+1)
	return nil, nil
}

// certSlots returns a user's first two signing certificates by upload date,
// the credential report's cert_1 and cert_2.
func certSlots(certs []*SigningCertificate) [2]*SigningCertificate {
	cs := slices.Clone(certs)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].UploadDate.Before(cs[j].UploadDate) })
	var slots [2]*SigningCertificate
	for i := 0; i < len(cs) && i < 2; i++ {
		slots[i] = cs[i]
	}
	return slots
}

// certColumns renders the report's four certificate columns.
func certColumns(certs []*SigningCertificate) []string {
	cols := make([]string, 0, 4)
	for _, c := range certSlots(certs) {
		if c == nil {
			cols = append(cols, "false", "N/A")
			continue
		}
		cols = append(cols, boolStr(c.Status == "Active"), reportTime(c.UploadDate))
	}
	return cols
}

// SSH public keys.

type xmlSSHPublicKey struct {
	UserName         string `xml:"UserName"`
	SSHPublicKeyID   string `xml:"SSHPublicKeyId"`
	Fingerprint      string `xml:"Fingerprint"`
	SSHPublicKeyBody string `xml:"SSHPublicKeyBody"`
	Status           string `xml:"Status"`
	UploadDate       string `xml:"UploadDate"`
}

type xmlSSHPublicKeyMetadata struct {
	UserName       string `xml:"UserName"`
	SSHPublicKeyID string `xml:"SSHPublicKeyId"`
	Status         string `xml:"Status"`
	UploadDate     string `xml:"UploadDate"`
}

type iamSSHPublicKeyResult struct {
	SSHPublicKey xmlSSHPublicKey `xml:"SSHPublicKey"`
}

// parseSSHPublicKey reads an ssh-rsa key in OpenSSH format (the format
// CodeCommit takes; IAM also takes PEM) and returns its fingerprint, the
// colon-separated MD5 of the key's wire form as IAM shows it.
func parseSSHPublicKey(body string) (fingerprint string, err error) {
	key, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(body))
	if perr != nil {
		return "", errf(400, "InvalidPublicKey", "The SSH public key is invalid.")
	}
	if key.Type() != ssh.KeyAlgoRSA {
		return "", errf(400, "UnrecognizedPublicKeyEncoding", "The SSH public key encoding is not recognized: only ssh-rsa keys are supported.")
	}
	sum := md5.Sum(key.Marshal())
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":"), nil
}

func iamUploadSSHPublicKey(r *request) (any, error) {
	body, err := r.bodyParam("SSHPublicKeyBody")
	if err != nil {
		return nil, err
	}
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	fp, err := parseSSHPublicKey(body)
	if err != nil {
		return nil, err
	}
	for _, k := range u.SSHKeys {
		if k.Fingerprint == fp {
			return nil, errf(400, "DuplicateSSHPublicKey", "The SSH public key is already associated with the specified IAM user.")
		}
	}
	if len(u.SSHKeys) >= sshPublicKeysPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for SSHPublicKeysPerUser: %d", sshPublicKeysPerUserQuota)
	}
	k := &SSHPublicKey{ID: newUniqueID("APKA"), Body: strings.TrimSpace(body), Fingerprint: fp, Status: "Active", UploadDate: r.now}
	u.SSHKeys = append(u.SSHKeys, k)
	return iamSSHPublicKeyResult{SSHPublicKey: sshKeyXML(u, k)}, nil
}

func sshKeyXML(u *User, k *SSHPublicKey) xmlSSHPublicKey {
	return xmlSSHPublicKey{UserName: u.Name, SSHPublicKeyID: k.ID, Fingerprint: k.Fingerprint, SSHPublicKeyBody: k.Body, Status: k.Status, UploadDate: xmlTime(k.UploadDate)}
}

type iamListSSHPublicKeysResult struct {
	SSHPublicKeys []xmlSSHPublicKeyMetadata `xml:"SSHPublicKeys>member"`
	IsTruncated   bool                      `xml:"IsTruncated"`
	Marker        string                    `xml:"Marker,omitempty"`
}

func iamListSSHPublicKeys(r *request) (any, error) {
	u, err := r.userTarget()
	if err != nil {
		return nil, err
	}
	start, end, next, err := r.pageParams(len(u.SSHKeys))
	if err != nil {
		return nil, err
	}
	out := iamListSSHPublicKeysResult{SSHPublicKeys: []xmlSSHPublicKeyMetadata{}, IsTruncated: next != "", Marker: next}
	for _, k := range u.SSHKeys[start:end] {
		out.SSHPublicKeys = append(out.SSHPublicKeys, xmlSSHPublicKeyMetadata{UserName: u.Name, SSHPublicKeyID: k.ID, Status: k.Status, UploadDate: xmlTime(k.UploadDate)})
	}
	return out, nil
}

func (r *request) targetSSHKey() (*User, int, error) {
	id, err := r.idParam("SSHPublicKeyId", 20)
	if err != nil {
		return nil, 0, err
	}
	u, err := r.adminUser()
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(u.SSHKeys, func(k *SSHPublicKey) bool { return k.ID == id })
	if i < 0 {
		return nil, 0, errf(404, "NoSuchEntity", "The Public Key with id %s cannot be found.", id)
	}
	return u, i, nil
}

func iamGetSSHPublicKey(r *request) (any, error) {
	enc, err := r.requireParam("Encoding")
	if err != nil {
		return nil, err
	}
	if enc != "SSH" && enc != "PEM" {
		return nil, validationError(enc, "encoding", "Member must satisfy enum value set: [SSH, PEM]")
	}
	u, i, err := r.targetSSHKey()
	if err != nil {
		return nil, err
	}
	k := u.SSHKeys[i]
	x := sshKeyXML(u, k)
	if enc == "PEM" {
		key, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(k.Body))
		if perr != nil {
			return nil, errf(400, "UnrecognizedPublicKeyEncoding", "The SSH public key cannot be rendered as PEM.")
		}
		ck, ok := key.(ssh.CryptoPublicKey)
		if !ok {
			return nil, errf(400, "UnrecognizedPublicKeyEncoding", "The SSH public key cannot be rendered as PEM.")
		}
		der, merr := x509.MarshalPKIXPublicKey(ck.CryptoPublicKey())
		if merr != nil {
			return nil, errf(400, "UnrecognizedPublicKeyEncoding", "The SSH public key cannot be rendered as PEM.")
		}
		x.SSHPublicKeyBody = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	return iamSSHPublicKeyResult{SSHPublicKey: x}, nil
}

func iamUpdateSSHPublicKey(r *request) (any, error) {
	status, err := r.statusParam()
	if err != nil {
		return nil, err
	}
	u, i, err := r.targetSSHKey()
	if err != nil {
		return nil, err
	}
	u.SSHKeys[i].Status = status
	return nil, nil
}

func iamDeleteSSHPublicKey(r *request) (any, error) {
	u, i, err := r.targetSSHKey()
	if err != nil {
		return nil, err
	}
	u.SSHKeys = slices.Delete(u.SSHKeys, i, i+1)
	return nil, nil
}

// Password policy.

type xmlPasswordPolicy struct {
	MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool `xml:"RequireSymbols"`
	RequireNumbers             bool `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool `xml:"ExpirePasswords"`
	MaxPasswordAge             int  `xml:"MaxPasswordAge,omitempty"`
	PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
	HardExpiry                 bool `xml:"HardExpiry"`
}

type iamGetAccountPasswordPolicyResult struct {
	PasswordPolicy xmlPasswordPolicy `xml:"PasswordPolicy"`
}

func iamGetAccountPasswordPolicy(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	p := r.acct.PasswordPolicy
	if p == nil {
		return nil, errf(404, "NoSuchEntity", "The Password Policy with domain name %s cannot be found.", r.acct.ID)
	}
	return iamGetAccountPasswordPolicyResult{PasswordPolicy: xmlPasswordPolicy{
		MinimumPasswordLength: p.MinimumPasswordLength, RequireSymbols: p.RequireSymbols, RequireNumbers: p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercaseCharacters, RequireLowercaseCharacters: p.RequireLowercaseCharacters,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword, ExpirePasswords: p.MaxPasswordAge > 0,
		MaxPasswordAge: p.MaxPasswordAge, PasswordReusePrevention: p.PasswordReusePrevention, HardExpiry: p.HardExpiry,
	}}, nil
}

// iamUpdateAccountPasswordPolicy replaces the policy: as the API Reference
// says, parameters not given take their default values (minimum length 6,
// no requirements, no expiry, no reuse prevention).
func iamUpdateAccountPasswordPolicy(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	p := &PasswordPolicy{MinimumPasswordLength: 6}
	ints := []struct {
		name     string
		min, max int
		dst      *int
	}{
		{"MinimumPasswordLength", 6, 128, &p.MinimumPasswordLength},
		{"MaxPasswordAge", 1, 1095, &p.MaxPasswordAge},
		{"PasswordReusePrevention", 1, 24, &p.PasswordReusePrevention},
	}
	for _, f := range ints {
		if r.param(f.name) == "" {
			continue
		}
		v, err := r.intParam(f.name)
		if err != nil {
			return nil, err
		}
		if v < f.min || v > f.max {
			return nil, validationError(strconv.Itoa(v), lowerFirst(f.name), fmt.Sprintf("Member must have value between %d and %d", f.min, f.max))
		}
		*f.dst = v
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{"RequireSymbols", &p.RequireSymbols}, {"RequireNumbers", &p.RequireNumbers},
		{"RequireUppercaseCharacters", &p.RequireUppercaseCharacters}, {"RequireLowercaseCharacters", &p.RequireLowercaseCharacters},
		{"AllowUsersToChangePassword", &p.AllowUsersToChangePassword}, {"HardExpiry", &p.HardExpiry},
	}
	for _, f := range bools {
		v, err := r.boolParam(f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	r.acct.PasswordPolicy = p
	return nil, nil
}

func iamDeleteAccountPasswordPolicy(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	if r.acct.PasswordPolicy == nil {
		return nil, errf(404, "NoSuchEntity", "The account policy with name PasswordPolicy cannot be found.")
	}
	r.acct.PasswordPolicy = nil
	return nil, nil
}

// passwordNextRotation is the report's password_next_rotation of a password
// changed at changed: changed plus the policy's maximum age, or N/A when
// passwords do not expire.
func passwordNextRotation(a *Account, changed time.Time) string {
	if a.PasswordPolicy == nil || a.PasswordPolicy.MaxPasswordAge == 0 {
		return "N/A"
	}
	return reportTime(changed.AddDate(0, 0, a.PasswordPolicy.MaxPasswordAge))
}

// iamKindActions are the handlers of this file.
func iamKindActions() map[string]handler {
	return map[string]handler{
		"CreateServiceSpecificCredential": iamCreateServiceSpecificCredential,
		"ListServiceSpecificCredentials":  iamListServiceSpecificCredentials,
		"UpdateServiceSpecificCredential": iamUpdateServiceSpecificCredential,
		"DeleteServiceSpecificCredential": iamDeleteServiceSpecificCredential,
		"ResetServiceSpecificCredential":  iamResetServiceSpecificCredential,
		"UploadSigningCertificate":        iamUploadSigningCertificate,
		"ListSigningCertificates":         iamListSigningCertificates,
		"UpdateSigningCertificate":        iamUpdateSigningCertificate,
		"DeleteSigningCertificate":        iamDeleteSigningCertificate,
		"UploadSSHPublicKey":              iamUploadSSHPublicKey,
		"ListSSHPublicKeys":               iamListSSHPublicKeys,
		"GetSSHPublicKey":                 iamGetSSHPublicKey,
		"UpdateSSHPublicKey":              iamUpdateSSHPublicKey,
		"DeleteSSHPublicKey":              iamDeleteSSHPublicKey,
		"GetAccountPasswordPolicy":        iamGetAccountPasswordPolicy,
		"UpdateAccountPasswordPolicy":     iamUpdateAccountPasswordPolicy,
		"DeleteAccountPasswordPolicy":     iamDeleteAccountPasswordPolicy,
	}
}
