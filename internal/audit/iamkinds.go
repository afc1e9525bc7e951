package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// The rules of the per-user IAM credentials besides access keys
// (service-specific credentials, signing certificates, SSH public keys) and
// of console passwords against the account password policy. AWS records no
// last use of service-specific credentials, signing certificates or SSH
// keys, so their rules judge age and status only: none can say that one is
// unused.

// Controls of the password policy rules. CIS v3.0.0 1.8 (minimum length
// 14) and 1.9 (prevent reuse) are 1.7 and 1.8 in v5.0.0; Security Hub
// IAM.15 and IAM.16 implement them, IAM.7 asks for a strong configuration
// (upper- and lower-case letters, numbers, symbols).
var (
	ctlPwLength     = Controls{CISv3: []string{"1.8"}, CISv5: []string{"1.7"}, SecurityHub: []string{"IAM.15"}}
	ctlPwReuse      = Controls{CISv3: []string{"1.9"}, CISv5: []string{"1.8"}, SecurityHub: []string{"IAM.16"}}
	ctlPwComplexity = Controls{SecurityHub: []string{"IAM.7"}}
	ctlPwPolicy     = ctlPwLength.union(ctlPwReuse).union(ctlPwComplexity)
)

var iamKindRules = []RuleInfo{
	{policy.RuleServiceCredentialAge, "Service-specific credential not rotated within the rotation period", SeverityMedium, Controls{}},
	{policy.RuleServiceCredentialLinger, "Inactive service-specific credential past its deletion date", SeverityLow, Controls{}},
	{policy.RuleAPIKeyNoExpiry, "Bedrock long-term API key never expires", SeverityHigh, Controls{}},
	{policy.RuleAPIKeyLifetime, "Bedrock long-term API key lives longer than allowed", SeverityMedium, Controls{}},
	{policy.RuleSigningCertificateAge, "Signing certificate not rotated within the rotation period", SeverityMedium, Controls{}},
	{policy.RuleSigningCertificateLinger, "Inactive signing certificate past its deletion date", SeverityLow, Controls{}},
	{policy.RuleSSHKeyAge, "SSH public key not rotated within the rotation period", SeverityMedium, Controls{}},
	{policy.RuleSSHKeyInactiveLingering, "Inactive SSH public key past its deletion date", SeverityLow, Controls{}},
	{policy.RulePasswordAge, "Console password older than the maximum password age", SeverityMedium, Controls{}},
	{policy.RulePasswordPolicyMissing, "Account has no password policy", SeverityMedium, ctlPwPolicy},
	{policy.RulePasswordPolicyWeak, "Account password policy weaker than the benchmark", SeverityMedium, ctlPwPolicy},
}

var iamKindDocs = map[string]RuleDoc{
	policy.RuleServiceCredentialAge: {
		"An active service-specific credential (CodeCommit HTTPS Git credentials, Amazon Keyspaces credentials or a Bedrock long-term API key) is older than the rotation period. AWS records no last use for these credentials, so keyrot judges their age.",
		"Create a second credential for the service (two per user per service are allowed), move its users to it, then deactivate and delete the old one.",
		[]string{"service_credentials.rotate_after"}, "high once the credential is past service_credentials.deactivate_after"},
	policy.RuleServiceCredentialLinger: {
		"An inactive service-specific credential is older than the deletion period. An inactive credential can be re-activated; once nothing needs it, it should be deleted.",
		"Delete the credential: aws iam delete-service-specific-credential.",
		[]string{"service_credentials.delete_after"}, ""},
	policy.RuleAPIKeyNoExpiry: {
		"A Bedrock long-term API key was created without an expiration date, so it stays valid until someone deletes it. AWS recommends short-term API keys, and long-term keys with an expiry.",
		"Create a replacement key with an expiry (aws iam create-service-specific-credential --service-name bedrock.amazonaws.com --credential-age-days 90), move its users to it, then delete this one.",
		[]string{"service_credentials.require_api_key_expiry"}, ""},
	policy.RuleAPIKeyLifetime: {
		"A Bedrock long-term API key expires later after its creation than the policy allows.",
		"Replace the key with one created with a shorter --credential-age-days, then delete this one.",
		[]string{"service_credentials.api_key_max_lifetime"}, ""},
	policy.RuleSigningCertificateAge: {
		"An active X.509 signing certificate of an IAM user is older than the rotation period. AWS records no last use of signing certificates.",
		"Upload a new certificate (two per user are allowed), move its users to it, then deactivate and delete the old one; delete it outright if nothing uses it.",
		[]string{"signing_certificates.rotate_after"}, ""},
	policy.RuleSigningCertificateLinger: {
		"An inactive signing certificate is older than the deletion period.",
		"Delete the certificate: aws iam delete-signing-certificate.",
		[]string{"signing_certificates.delete_after"}, ""},
	policy.RuleSSHKeyAge: {
		"An active SSH public key of an IAM user (CodeCommit) is older than the rotation period. AWS records no last use of SSH keys.",
		"Upload a new key, move the user's Git clients to it, then deactivate and delete the old one; delete it outright if nothing uses it.",
		[]string{"ssh_keys.rotate_after", "ssh_keys.collect"}, ""},
	policy.RuleSSHKeyInactiveLingering: {
		"An inactive SSH public key is older than the deletion period.",
		"Delete the key: aws iam delete-ssh-public-key.",
		[]string{"ssh_keys.delete_after", "ssh_keys.collect"}, ""},
	policy.RulePasswordAge: {
		"A console password is older than the account password policy's maximum age (or keyrot's passwords.max_age where the account sets none).",
		"Have the user change the password, or remove console access if it is not needed (aws iam delete-login-profile).",
		[]string{"passwords.max_age"}, ""},
	policy.RulePasswordPolicyMissing: {
		"The account has no IAM password policy, so IAM's defaults apply: no minimum length beyond 8 characters, no reuse prevention, no complexity requirement.",
		"Set a password policy: aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 --require-uppercase-characters --require-lowercase-characters --require-numbers --require-symbols.",
		[]string{"passwords.require_policy"}, ""},
	policy.RulePasswordPolicyWeak: {
		"The account password policy is weaker than the CIS benchmark and Security Hub ask: a minimum length under 14 (CIS 1.8 v3, IAM.15), fewer than 24 remembered passwords (CIS 1.9 v3, IAM.16), or no upper-case, lower-case, number or symbol requirement (IAM.7).",
		"Strengthen the policy: aws iam update-account-password-policy with every setting given (the call replaces the whole policy).",
		[]string{"passwords.minimum_length", "passwords.reuse_prevention", "passwords.require_complexity"}, ""},
}

func init() {
	rules = append(rules, iamKindRules...)
	for id, d := range iamKindDocs {
		ruleDocs[id] = d
	}
}

// iamKindThreshold is Threshold for the rules of this file.
func iamKindThreshold(p *policy.Policy, id string) string {
	sc := p.ServiceCredentials
	switch id {
	case policy.RuleServiceCredentialAge:
		return "rotate after " + sc.RotateAfter.String()
	case policy.RuleServiceCredentialLinger:
		return "inactive and older than " + sc.DeleteAfter.String()
	case policy.RuleAPIKeyNoExpiry:
		return onOff(sc.RequireAPIKeyExpiry)
	case policy.RuleAPIKeyLifetime:
		if sc.APIKeyMaxLifetime == 0 {
			return "off"
		}
		return "at most " + sc.APIKeyMaxLifetime.String()
	case policy.RuleSigningCertificateAge:
		return "rotate after " + p.SigningCertificates.RotateAfter.String()
	case policy.RuleSigningCertificateLinger:
		return "inactive and older than " + p.SigningCertificates.DeleteAfter.String()
	case policy.RuleSSHKeyAge:
		return "rotate after " + p.SSHKeys.RotateAfter.String()
	case policy.RuleSSHKeyInactiveLingering:
		return "inactive and older than " + p.SSHKeys.DeleteAfter.String()
	case policy.RulePasswordAge:
		if p.Passwords.MaxAge == 0 {
			return "the account's maximum age"
		}
		return "the account's maximum age, else " + p.Passwords.MaxAge.String()
	case policy.RulePasswordPolicyMissing:
		return onOff(p.Passwords.RequirePolicy)
	case policy.RulePasswordPolicyWeak:
		return fmt.Sprintf("length >= %d, reuse >= %d, complexity %s", p.Passwords.MinimumLength, p.Passwords.ReusePrevention, onOff(p.Passwords.RequireComplexity))
	}
	return ""
}

// serviceName is a short name of a credential's service for messages.
func serviceName(s string) string {
	switch s {
	case inventory.ServiceCodeCommit:
		return "CodeCommit"
	case inventory.ServiceKeyspaces:
		return "Keyspaces"
	case inventory.ServiceBedrock:
		return "Bedrock API key"
	}
	return s
}

// userKinds judges u's service-specific credentials, signing
// certificates, SSH keys and password age.
func (e *evaluator) userKinds(a *inventory.Account, u *inventory.User) {
	sc := e.p.ServiceCredentials
	for _, c := range u.ServiceCredentials {
		res := a.ID + "/" + u.Name + "/" + c.ID
		ev := func(f *Finding) {
			f.KeyID = c.ID
			f.Evidence.CreateDate = timePtr(c.CreateDate)
			age := inventory.AgeDays(c.CreateDate, e.now)
			f.Evidence.AgeDays = &age
			f.Extra = map[string]string{"service": c.Service}
			if c.ExpirationDate != nil {
				f.Extra["expires"] = c.ExpirationDate.UTC().Format("2006-01-02")
			}
		}
		if c.Status == inventory.KeyExpired {
			continue // an expired API key authenticates nothing
		}
		if !c.Active() {
			var fs []Finding
			if exceeds(c.CreateDate, e.now, sc.DeleteAfter) {
				f := e.finding(policy.RuleServiceCredentialLinger, a, u.Name, c.ID)
				ev(&f)
				f.Evidence.ThresholdDays = sc.DeleteAfter.Days()
				f.Evidence.Detail = fmt.Sprintf("inactive %s credential created %d days ago; inactive credentials are deleted after %s", serviceName(c.Service), *f.Evidence.AgeDays, sc.DeleteAfter)
				f.Remediation = fmt.Sprintf("Delete it once nothing needs it: aws iam delete-service-specific-credential --user-name %s --service-specific-credential-id %s.", u.Name, c.ID)
				fs = append(fs, f)
			}
			e.judge(a, u, res, fs, check{rule: policy.RuleServiceCredentialLinger})
			continue
		}
		var fs []Finding
		if exceeds(c.CreateDate, e.now, sc.RotateAfter) {
			f := e.finding(policy.RuleServiceCredentialAge, a, u.Name, c.ID)
			ev(&f)
			if exceeds(c.CreateDate, e.now, sc.DeactivateAfter) {
				f.Severity = SeverityHigh
			}
			f.Evidence.ThresholdDays = sc.RotateAfter.Days()
			f.Evidence.Detail = fmt.Sprintf("active %s credential is %d days old; these credentials are rotated after %s", serviceName(c.Service), *f.Evidence.AgeDays, sc.RotateAfter)
			f.Remediation = fmt.Sprintf("Create a second credential (aws iam create-service-specific-credential --user-name %s --service-name %s), move its users to it, then deactivate and delete this one.", u.Name, c.Service)
			fs = append(fs, f)
		}
		e.judge(a, u, res, fs, check{rule: policy.RuleServiceCredentialAge})
		if !c.APIKey() {
			continue
		}
		if sc.RequireAPIKeyExpiry {
			fs = nil
			if c.ExpirationDate == nil {
				f := e.finding(policy.RuleAPIKeyNoExpiry, a, u.Name, c.ID)
				ev(&f)
				f.Evidence.Detail = "active Bedrock long-term API key created without an expiration date"
				f.Remediation = fmt.Sprintf("Create a replacement with an expiry (aws iam create-service-specific-credential --user-name %s --service-name bedrock.amazonaws.com --credential-age-days %d), move its users to it, then delete this key; prefer short-term API keys.", u.Name, max(1, sc.APIKeyMaxLifetime.Days()))
				fs = append(fs, f)
			}
			e.judge(a, u, res, fs, check{rule: policy.RuleAPIKeyNoExpiry})
		}
		if sc.APIKeyMaxLifetime > 0 && c.ExpirationDate != nil {
			fs = nil
			if life := c.ExpirationDate.Sub(c.CreateDate); life > time.Duration(sc.APIKeyMaxLifetime) {
				f := e.finding(policy.RuleAPIKeyLifetime, a, u.Name, c.ID)
				ev(&f)
				f.Evidence.ThresholdDays = sc.APIKeyMaxLifetime.Days()
				f.Evidence.Detail = fmt.Sprintf("Bedrock API key valid for %d days from creation (until %s); at most %s allowed", int(life.Hours()/24), c.ExpirationDate.UTC().Format("2006-01-02"), sc.APIKeyMaxLifetime)
				f.Remediation = fmt.Sprintf("Replace it with a key created with --credential-age-days %d or less, then delete this one.", sc.APIKeyMaxLifetime.Days())
				fs = append(fs, f)
			}
			e.judge(a, u, res, fs, check{rule: policy.RuleAPIKeyLifetime})
		}
	}

	sg := e.p.SigningCertificates
	for _, c := range u.SigningCertificates {
		ref := c.ID
		if ref == "" {
			ref = fmt.Sprintf("cert%d", c.Slot)
		}
		e.aged(a, u, ref, c.Active(), c.UploadDate, "signing certificate", sg.RotateAfter, sg.DeleteAfter,
			policy.RuleSigningCertificateAge, policy.RuleSigningCertificateLinger,
			fmt.Sprintf("aws iam upload-signing-certificate --user-name %s", u.Name),
			fmt.Sprintf("aws iam delete-signing-certificate --user-name %s --certificate-id %s", u.Name, orPlaceholder(c.ID, "<certificate-id>")))
	}
	sk := e.p.SSHKeys
	for _, k := range u.SSHPublicKeys {
		e.aged(a, u, k.ID, k.Active(), k.UploadDate, "SSH public key", sk.RotateAfter, sk.DeleteAfter,
			policy.RuleSSHKeyAge, policy.RuleSSHKeyInactiveLingering,
			fmt.Sprintf("aws iam upload-ssh-public-key --user-name %s", u.Name),
			fmt.Sprintf("aws iam delete-ssh-public-key --user-name %s --ssh-public-key-id %s", u.Name, k.ID))
	}
	e.passwordAge(a, u)
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

// aged judges one certificate or SSH key: active and older than rotate,
// or inactive and older than del.
func (e *evaluator) aged(a *inventory.Account, u *inventory.User, ref string, active bool, up time.Time, what string,
	rotate, del policy.Duration, ageRule, lingerRule, replace, remove string) {
	res := a.ID + "/" + u.Name + "/" + ref
	rule, limit := ageRule, rotate
	if !active {
		rule, limit = lingerRule, del
	}
	var fs []Finding
	if exceeds(up, e.now, limit) {
		f := e.finding(rule, a, u.Name, ref)
		f.KeyID = ref
		f.Evidence.CreateDate = timePtr(up)
		age := inventory.AgeDays(up, e.now)
		f.Evidence.AgeDays = &age
		f.Evidence.ThresholdDays = limit.Days()
		if active {
			f.Evidence.Detail = fmt.Sprintf("active %s uploaded %d days ago; rotated after %s", what, age, limit)
			f.Remediation = fmt.Sprintf("Upload a new one (%s), move its users to it, then deactivate and delete this one (%s); AWS records no last use, so check with its owner first.", replace, remove)
		} else {
			f.Evidence.Detail = fmt.Sprintf("inactive %s uploaded %d days ago; inactive ones are deleted after %s", what, age, limit)
			f.Remediation = fmt.Sprintf("Delete it once nothing needs it: %s.", remove)
		}
		fs = append(fs, f)
	}
	e.judge(a, u, res, fs, check{rule: rule})
}

// passwordAge judges a console password's age against the account's
// maximum password age, or passwords.max_age where the account sets none.
func (e *evaluator) passwordAge(a *inventory.Account, u *inventory.User) {
	if u.Password == nil || !u.Password.Enabled || u.Password.LastChanged == nil {
		return
	}
	limit, source := e.p.Passwords.MaxAge, "passwords.max_age"
	if pp := a.PasswordPolicy; pp != nil && pp.Exists && pp.MaxPasswordAge > 0 {
		limit, source = policy.Duration(pp.MaxPasswordAge)*policy.Duration(day), "the account's password policy"
	}
	if limit <= 0 {
		return
	}
	changed := *u.Password.LastChanged
	var fs []Finding
	if exceeds(changed, e.now, limit) {
		f := e.finding(policy.RulePasswordAge, a, u.Name, "")
		f.Evidence.CreateDate = timePtr(changed)
		age := inventory.AgeDays(changed, e.now)
		f.Evidence.AgeDays = &age
		f.Evidence.ThresholdDays = limit.Days()
		f.Evidence.Detail = fmt.Sprintf("console password last changed %d days ago; %s allows %s", age, source, limit)
		f.Remediation = fmt.Sprintf("Have %s change the password, or remove console access if it is not needed: aws iam delete-login-profile --user-name %s.", u.Name, u.Name)
		fs = append(fs, f)
	}
	e.judge(a, u, a.ID+"/"+u.Name, fs, check{rule: policy.RulePasswordAge})
}

// passwordPolicy judges the account's password policy.
func (e *evaluator) passwordPolicy(a *inventory.Account) {
	pp := a.PasswordPolicy
	if pp == nil {
		return // not read: nothing is known
	}
	pw := e.p.Passwords
	res := a.ID + "/password-policy"
	if !pp.Exists {
		if !pw.RequirePolicy {
			return
		}
		f := e.finding(policy.RulePasswordPolicyMissing, a, "", "")
		f.Evidence.Detail = "the account has no password policy; IAM's defaults apply (8 characters, no reuse prevention, no complexity)"
		f.Remediation = fmt.Sprintf("aws iam update-account-password-policy --minimum-password-length %d --password-reuse-prevention %d --require-uppercase-characters --require-lowercase-characters --require-numbers --require-symbols", pw.MinimumLength, max(1, pw.ReusePrevention))
		e.judge(a, nil, res, []Finding{f}, check{rule: policy.RulePasswordPolicyMissing, controls: ctlPwPolicy})
		return
	}
	var short []string
	var failed Controls
	if pp.MinimumPasswordLength < pw.MinimumLength {
		short = append(short, fmt.Sprintf("minimum length %d (want %d or more)", pp.MinimumPasswordLength, pw.MinimumLength))
		failed = failed.union(ctlPwLength)
	}
	if pp.PasswordReusePrevention < pw.ReusePrevention {
		short = append(short, fmt.Sprintf("remembers %d earlier passwords (want %d or more)", pp.PasswordReusePrevention, pw.ReusePrevention))
		failed = failed.union(ctlPwReuse)
	}
	if pw.RequireComplexity {
		var missing []string
		for _, r := range []struct {
			on   bool
			name string
		}{{pp.RequireUppercaseCharacters, "upper-case letters"}, {pp.RequireLowercaseCharacters, "lower-case letters"}, {pp.RequireNumbers, "numbers"}, {pp.RequireSymbols, "symbols"}} {
			if !r.on {
				missing = append(missing, r.name)
			}
		}
		if len(missing) > 0 {
			short = append(short, "does not require "+strings.Join(missing, ", "))
			failed = failed.union(ctlPwComplexity)
		}
	}
	var fs []Finding
	if len(short) > 0 {
		f := e.finding(policy.RulePasswordPolicyWeak, a, "", "")
		f.Controls = failed
		f.Evidence.Detail = "the account password policy " + strings.Join(short, "; ")
		f.Remediation = fmt.Sprintf("Strengthen it, giving every setting (the call replaces the whole policy): aws iam update-account-password-policy --minimum-password-length %d --password-reuse-prevention %d --require-uppercase-characters --require-lowercase-characters --require-numbers --require-symbols", max(pw.MinimumLength, pp.MinimumPasswordLength), max(1, pw.ReusePrevention, pp.PasswordReusePrevention))
		fs = append(fs, f)
	}
	e.judge(a, nil, res, fs, check{rule: policy.RulePasswordPolicyWeak, controls: ctlPwPolicy})
}
