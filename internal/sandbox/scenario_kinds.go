package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Scenario fields of per-user credentials besides access keys and
// passwords, and of the account's password policy.

// ScenarioServiceCredential is an IAM service-specific credential.
type ScenarioServiceCredential struct {
	// Service is codecommit, cassandra or bedrock (or the full
	// codecommit.amazonaws.com, ...).
	Service string `yaml:"service" json:"service"`
	// Age is how long ago the credential was created (required).
	Age string `yaml:"age" json:"age"`
	// Status is Active (default) or Inactive.
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// ExpiresIn is how long until a Bedrock API key expires (negative ages
	// are not allowed: write expired: true for one already expired); empty
	// for a key that never expires.
	ExpiresIn string `yaml:"expires_in,omitempty" json:"expires_in,omitempty"`
	// Expired makes a Bedrock API key that expired a day ago.
	Expired bool `yaml:"expired,omitempty" json:"expired,omitempty"`
}

// ScenarioSigningCertificate is an X.509 signing certificate; its body is
// a generated self-signed certificate.
type ScenarioSigningCertificate struct {
	Age    string `yaml:"age" json:"age"`
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
}

// ScenarioSSHKey is an SSH public key for CodeCommit; its body is a
// generated ssh-rsa public key unless Body gives one.
type ScenarioSSHKey struct {
	Age    string `yaml:"age" json:"age"`
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	Body   string `yaml:"body,omitempty" json:"body,omitempty"`
}

// ScenarioPasswordPolicy is the account's password policy, as
// UpdateAccountPasswordPolicy takes it.
type ScenarioPasswordPolicy struct {
	MinimumLength      int  `yaml:"minimum_length,omitempty" json:"minimum_length,omitempty"`
	RequireSymbols     bool `yaml:"require_symbols,omitempty" json:"require_symbols,omitempty"`
	RequireNumbers     bool `yaml:"require_numbers,omitempty" json:"require_numbers,omitempty"`
	RequireUppercase   bool `yaml:"require_uppercase,omitempty" json:"require_uppercase,omitempty"`
	RequireLowercase   bool `yaml:"require_lowercase,omitempty" json:"require_lowercase,omitempty"`
	AllowUsersToChange bool `yaml:"allow_users_to_change,omitempty" json:"allow_users_to_change,omitempty"`
	// MaxAgeDays is the maximum password age in days; 0 for none.
	MaxAgeDays      int  `yaml:"max_age_days,omitempty" json:"max_age_days,omitempty"`
	ReusePrevention int  `yaml:"reuse_prevention,omitempty" json:"reuse_prevention,omitempty"`
	HardExpiry      bool `yaml:"hard_expiry,omitempty" json:"hard_expiry,omitempty"`
}

// scenarioStatus reads an Active/Inactive status, Active by default.
func (b *builder) scenarioStatus(path, v string) string {
	switch {
	case v == "" || strings.EqualFold(v, "Active"):
		return "Active"
	case strings.EqualFold(v, "Inactive"):
		return "Inactive"
	}
	b.problem(path, "invalid status %q (want Active or Inactive)", v)
	return "Active"
}

// requiredAge reads a required age; ok is false when it is missing or bad.
func (b *builder) requiredAge(path, v string) (time.Duration, bool) {
	d, ok := b.age(path, v)
	if !ok && v == "" {
		b.problem(path, "required (write e.g. 90d)")
	}
	return d, ok
}

// userKinds builds u's service-specific credentials, signing certificates
// and SSH keys; it returns the oldest one's age.
func (b *builder) userKinds(path, accountID string, u *User, spec ScenarioUser) time.Duration {
	oldest := time.Duration(0)
	perService := map[string]int{}
	for i, cs := range spec.ServiceCredentials {
		p := path + ".service_credentials[" + strconv.Itoa(i) + "]"
		svc := cs.Service
		if !strings.Contains(svc, ".") {
			svc += ".amazonaws.com"
		}
		apiKey, known := serviceCredentialServices[svc]
		if !known {
			b.problem(p+".service", "unknown service %q (want codecommit, cassandra or bedrock)", cs.Service)
			continue
		}
		perService[svc]++
		if perService[svc] > serviceCredentialsPerServiceQuota {
			b.problem(p, "at most %d credentials per user per service (IAM quota)", serviceCredentialsPerServiceQuota)
		}
		age, ok := b.requiredAge(p+".age", cs.Age)
		if !ok {
			continue
		}
		oldest = max(oldest, age)
		c := newServiceCredential(u, accountID, svc, b.now.Add(-age), 0)
		c.ID = "ACCA" + b.ids.from(upperBase32, 17)
		c.Status = b.scenarioStatus(p+".status", cs.Status)
		switch {
		case (cs.ExpiresIn != "" || cs.Expired) && !apiKey:
			b.problem(p+".expires_in", "only API keys (bedrock) expire")
		case cs.Expired:
			t := b.now.Add(-day)
			c.ExpirationDate = &t
		case cs.ExpiresIn != "":
			if d, ok := b.age(p+".expires_in", cs.ExpiresIn); ok {
				t := b.now.Add(d)
				c.ExpirationDate = &t
			}
		}
		u.ServiceCredentials = append(u.ServiceCredentials, c)
	}
	if len(spec.SigningCertificates) > signingCertificatesPerUserQuota {
		b.problem(path+".signing_certificates", "at most %d signing certificates per user (IAM quota)", signingCertificatesPerUserQuota)
	}
	for i, cs := range spec.SigningCertificates {
		p := path + ".signing_certificates[" + strconv.Itoa(i) + "]"
		age, ok := b.requiredAge(p+".age", cs.Age)
		if !ok {
			continue
		}
		oldest = max(oldest, age)
		up := b.now.Add(-age)
		u.SigningCerts = append(u.SigningCerts, &SigningCertificate{
			ID: b.ids.from(upperBase32, 32), Body: b.selfSignedCert(u.Name, up), Status: b.scenarioStatus(p+".status", cs.Status), UploadDate: up,
		})
	}
	if len(spec.SSHKeys) > sshPublicKeysPerUserQuota {
		b.problem(path+".ssh_keys", "at most %d SSH public keys per user (IAM quota)", sshPublicKeysPerUserQuota)
	}
	for i, ks := range spec.SSHKeys {
		p := path + ".ssh_keys[" + strconv.Itoa(i) + "]"
		age, ok := b.requiredAge(p+".age", ks.Age)
		if !ok {
			continue
		}
		oldest = max(oldest, age)
		body := ks.Body
		if body == "" {
			body = b.sshRSAKey(u.Name)
		}
		fp, err := parseSSHPublicKey(body)
		if err != nil {
			b.problem(p+".body", "not an ssh-rsa public key in OpenSSH format")
			continue
		}
		u.SSHKeys = append(u.SSHKeys, &SSHPublicKey{
			ID: "APKA" + b.ids.from(upperBase32, 17), Body: strings.TrimSpace(body), Fingerprint: fp,
			Status: b.scenarioStatus(p+".status", ks.Status), UploadDate: b.now.Add(-age),
		})
	}
	return oldest
}

// passwordPolicy builds the account's password policy.
func (b *builder) passwordPolicy(path string, spec *ScenarioPasswordPolicy) *PasswordPolicy {
	if spec == nil {
		return nil
	}
	p := &PasswordPolicy{
		MinimumPasswordLength: spec.MinimumLength, RequireSymbols: spec.RequireSymbols, RequireNumbers: spec.RequireNumbers,
		RequireUppercaseCharacters: spec.RequireUppercase, RequireLowercaseCharacters: spec.RequireLowercase,
		AllowUsersToChangePassword: spec.AllowUsersToChange, MaxPasswordAge: spec.MaxAgeDays,
		PasswordReusePrevention: spec.ReusePrevention, HardExpiry: spec.HardExpiry,
	}
	if p.MinimumPasswordLength == 0 {
		p.MinimumPasswordLength = 6
	}
	if p.MinimumPasswordLength < 6 || p.MinimumPasswordLength > 128 {
		b.problem(path+".minimum_length", "must be 6 to 128")
	}
	if p.MaxPasswordAge < 0 || p.MaxPasswordAge > 1095 {
		b.problem(path+".max_age_days", "must be 1 to 1095 (or 0 for none)")
	}
	if p.PasswordReusePrevention < 0 || p.PasswordReusePrevention > 24 {
		b.problem(path+".reuse_prevention", "must be 1 to 24 (or 0 for none)")
	}
	return p
}

// certKey signs every generated signing certificate of a scenario.
func (b *builder) certSigner() *ecdsa.PrivateKey {
	if b.certKey == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b.certKey = k
	}
	return b.certKey
}

// selfSignedCert returns a PEM certificate for cn valid from notBefore for
// a year.
func (b *builder) selfSignedCert(cn string, notBefore time.Time) string {
	k := b.certSigner()
	serial := new(big.Int).SetUint64(b.ids.r.Uint64())
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notBefore.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err) // a well-formed template and key always sign
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// sshRSAKey returns an ssh-rsa public key line. Its modulus is random (no
// private key exists): the sandbox stores and fingerprints keys, it never
// verifies a signature made with one.
func (b *builder) sshRSAKey(comment string) string {
	buf := make([]byte, 256)
	for i := 0; i < len(buf); i += 8 {
		v := b.ids.r.Uint64()
		for j := 0; j < 8; j++ {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	buf[0] |= 0x80
	buf[len(buf)-1] |= 1
	pub, err := ssh.NewPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(buf), E: 65537})
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + comment
}
