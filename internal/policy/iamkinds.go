package policy

// The keyrot.yaml sections of the per-user IAM credentials besides access
// keys, and of console passwords against the account password policy.

// Rule IDs of these kinds (see rules.go for the others).
const (
	RuleServiceCredentialAge     = "service-credential-age"
	RuleServiceCredentialLinger  = "service-credential-inactive-lingering"
	RuleAPIKeyNoExpiry           = "bedrock-api-key-no-expiry"
	RuleAPIKeyLifetime           = "bedrock-api-key-lifetime"
	RuleSigningCertificateAge    = "signing-certificate-age"
	RuleSSHKeyAge                = "ssh-key-age"
	RulePasswordAge              = "password-age"
	RulePasswordPolicyWeak       = "password-policy-weak"
	RulePasswordPolicyMissing    = "password-policy-missing"
	RuleSSHKeyInactiveLingering  = "ssh-key-inactive-lingering"
	RuleSigningCertificateLinger = "signing-certificate-inactive-lingering"
)

// iamKindRules lists the rules of this file in a fixed order.
func iamKindRules() []string {
	return []string{
		RuleServiceCredentialAge, RuleServiceCredentialLinger, RuleAPIKeyNoExpiry, RuleAPIKeyLifetime,
		RuleSigningCertificateAge, RuleSigningCertificateLinger, RuleSSHKeyAge, RuleSSHKeyInactiveLingering,
		RulePasswordAge, RulePasswordPolicyMissing, RulePasswordPolicyWeak,
	}
}

// ServiceCredentials is the lifecycle of IAM service-specific credentials
// (CodeCommit HTTPS Git credentials, Amazon Keyspaces credentials and
// Amazon Bedrock long-term API keys).
type ServiceCredentials struct {
	// Rotate turns on their rotation by keyrot apply: at RotateAfter a
	// second credential of the same service is created and stored in
	// Secrets Manager, at DeactivateAfter the old one is deactivated and at
	// DeleteAfter deleted. Off by default: AWS records no last use for
	// these credentials, so keyrot cannot hold a deactivation back while
	// the old credential is still in use, as it does for access keys; the
	// gate is time and notice only, which the owners must agree to.
	Rotate bool `yaml:"rotate"`
	// RotateAfter is the age after which an active credential must be
	// replaced; DeactivateAfter and DeleteAfter follow it as for access keys.
	RotateAfter     Duration `yaml:"rotate_after"`
	DeactivateAfter Duration `yaml:"deactivate_after"`
	DeleteAfter     Duration `yaml:"delete_after"`
	// RequireAPIKeyExpiry flags long-term API keys created without an
	// expiration date (AWS recommends short-term keys).
	RequireAPIKeyExpiry bool `yaml:"require_api_key_expiry"`
	// APIKeyMaxLifetime is the longest a long-term API key may live, from
	// creation to expiry.
	APIKeyMaxLifetime Duration `yaml:"api_key_max_lifetime"`
}

// SigningCertificates is the policy for users' X.509 signing certificates.
type SigningCertificates struct {
	// RotateAfter is the age after which an active certificate is flagged.
	RotateAfter Duration `yaml:"rotate_after"`
	// DeleteAfter is the age after which an inactive certificate is flagged.
	DeleteAfter Duration `yaml:"delete_after"`
}

// SSHKeys is the policy for users' SSH public keys (CodeCommit).
type SSHKeys struct {
	// Collect lists every user's SSH keys: one IAM call per user, as no
	// account-wide listing returns them. Off, SSH keys are not audited.
	Collect bool `yaml:"collect"`
	// RotateAfter is the age after which an active key is flagged.
	RotateAfter Duration `yaml:"rotate_after"`
	// DeleteAfter is the age after which an inactive key is flagged.
	DeleteAfter Duration `yaml:"delete_after"`
}

// Passwords is the policy for console passwords against the account's
// password policy.
type Passwords struct {
	// MaxAge flags passwords older than this when the account's password
	// policy sets no maximum age; 0 judges age only against the account's
	// own maximum.
	MaxAge Duration `yaml:"max_age"`
	// RequirePolicy flags accounts with no password policy (IAM's
	// defaults then apply).
	RequirePolicy bool `yaml:"require_policy"`
	// MinimumLength is the shortest minimum length the account policy may
	// set (CIS 1.8 v3 / IAM.15: 14).
	MinimumLength int `yaml:"minimum_length"`
	// ReusePrevention is the fewest earlier passwords the account policy
	// must remember (CIS 1.9 v3 / IAM.16: 24).
	ReusePrevention int `yaml:"reuse_prevention"`
	// RequireComplexity asks the account policy to require upper- and
	// lower-case letters, numbers and symbols (IAM.7).
	RequireComplexity bool `yaml:"require_complexity"`
}

// defaultIAMKinds sets the defaults of this file's sections.
func defaultIAMKinds(p *Policy) {
	p.ServiceCredentials = ServiceCredentials{
		RotateAfter: Duration(90 * day), DeactivateAfter: Duration(100 * day), DeleteAfter: Duration(110 * day),
		RequireAPIKeyExpiry: true, APIKeyMaxLifetime: Duration(90 * day),
	}
	p.SigningCertificates = SigningCertificates{RotateAfter: Duration(90 * day), DeleteAfter: Duration(110 * day)}
	p.SSHKeys = SSHKeys{RotateAfter: Duration(90 * day), DeleteAfter: Duration(110 * day)}
	p.Passwords = Passwords{RequirePolicy: true, MinimumLength: 14, ReusePrevention: 24, RequireComplexity: true}
}

// iamKinds checks this file's sections.
func (v *validator) iamKinds() {
	sc := v.p.ServiceCredentials
	v.lifecycle("service_credentials", sc.RotateAfter, sc.DeactivateAfter, sc.DeleteAfter)
	if sc.APIKeyMaxLifetime < 0 {
		v.add("service_credentials.api_key_max_lifetime", "must not be negative (got %s); 0 turns the check off", sc.APIKeyMaxLifetime)
	}
	cert := v.p.SigningCertificates
	v.positive("signing_certificates.rotate_after", cert.RotateAfter)
	if cert.DeleteAfter <= cert.RotateAfter {
		v.add("signing_certificates.delete_after", "must be more than rotate_after (got %s <= %s)", cert.DeleteAfter, cert.RotateAfter)
	}
	ssh := v.p.SSHKeys
	v.positive("ssh_keys.rotate_after", ssh.RotateAfter)
	if ssh.DeleteAfter <= ssh.RotateAfter {
		v.add("ssh_keys.delete_after", "must be more than rotate_after (got %s <= %s)", ssh.DeleteAfter, ssh.RotateAfter)
	}
	pw := v.p.Passwords
	if pw.MaxAge < 0 {
		v.add("passwords.max_age", "must not be negative (got %s); 0 uses only the account's own maximum age", pw.MaxAge)
	}
	if pw.MinimumLength < 6 || pw.MinimumLength > 128 {
		v.add("passwords.minimum_length", "must be between 6 and 128, what IAM allows (got %d); CIS recommends 14", pw.MinimumLength)
	}
	if pw.ReusePrevention < 0 || pw.ReusePrevention > 24 {
		v.add("passwords.reuse_prevention", "must be between 0 and 24, what IAM allows (got %d); CIS recommends 24", pw.ReusePrevention)
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be more than 0 (got %s)", d)
	}
}

// lifecycle checks rotate < deactivate < delete under prefix.
func (v *validator) lifecycle(prefix string, rotate, deactivate, del Duration) {
	f := func(name string) string { return prefix + "." + name }
	v.positive(f("rotate_after"), rotate)
	if rotate >= deactivate {
		v.addAt(v.line(f("rotate_after"), f("deactivate_after"), prefix), f("rotate_after"), "must be less than deactivate_after (got %s >= %s)", rotate, deactivate)
	}
	if deactivate >= del {
		v.addAt(v.line(f("deactivate_after"), f("delete_after"), prefix), f("deactivate_after"), "must be less than delete_after (got %s >= %s)", deactivate, del)
	}
}
