package audit

import (
	"fmt"

	"github.com/keyrot/keyrot/internal/policy"
)

// RuleInfo describes one rule: its title, usual severity and the controls it
// implements.
type RuleInfo struct {
	ID       string
	Title    string
	Severity Severity
	Controls Controls
}

// Control IDs. CIS numbers are from the CIS AWS Foundations Benchmark
// v3.0.0 and v5.0.0; Security Hub IDs are AWS Security Hub control IDs.
var (
	ctlKeyAge   = Controls{CISv3: []string{"1.14"}, CISv5: []string{"1.13"}, SecurityHub: []string{"IAM.3"}}
	ctlUnused   = Controls{CISv3: []string{"1.12"}, CISv5: []string{"1.11"}, SecurityHub: []string{"IAM.22"}}
	ctlUnused90 = Controls{CISv3: []string{"1.12"}, CISv5: []string{"1.11"}, SecurityHub: []string{"IAM.8", "IAM.22"}}
	ctlMulti    = Controls{CISv3: []string{"1.13"}, CISv5: []string{"1.12"}}
	ctlSetup    = Controls{CISv3: []string{"1.11"}, CISv5: []string{"1.10"}}
	ctlRootKey  = Controls{CISv3: []string{"1.4"}, CISv5: []string{"1.3"}, SecurityHub: []string{"IAM.4"}}
	ctlRootMFA  = Controls{CISv3: []string{"1.5"}, CISv5: []string{"1.4"}, SecurityHub: []string{"IAM.9"}}
	ctlConsMFA  = Controls{CISv3: []string{"1.10"}, CISv5: []string{"1.9"}, SecurityHub: []string{"IAM.5"}}

	ctlServerCertExpired = Controls{CISv3: []string{"1.19"}}
	ctlACM1              = Controls{SecurityHub: []string{"ACM.1"}}
	ctlSM1               = Controls{SecurityHub: []string{"SecretsManager.1"}}
	ctlSM2               = Controls{SecurityHub: []string{"SecretsManager.2"}}
	ctlSM3               = Controls{SecurityHub: []string{"SecretsManager.3"}}
	ctlSM4               = Controls{SecurityHub: []string{"SecretsManager.4"}}
)

// iam8Days is the fixed threshold of Security Hub IAM.8 (unused 90 days).
const iam8Days = 90

var rules = []RuleInfo{
	{policy.RuleAccessKeyAge, "Access key not rotated within the rotation period", SeverityMedium, ctlKeyAge},
	{policy.RuleAccessKeyUnused, "Active access key unused", SeverityMedium, ctlUnused90},
	{policy.RuleAccessKeyMultipleActive, "User has more active access keys than allowed", SeverityMedium, ctlMulti},
	{policy.RuleAccessKeySetupUnused, "Access key created at user set-up and never used", SeverityLow, ctlSetup},
	{policy.RuleAccessKeyInactiveLinger, "Inactive access key past its deletion date", SeverityLow, Controls{}},
	{policy.RuleRootAccessKey, "Root user has an access key", SeverityCritical, ctlRootKey},
	{policy.RuleRootNoMFA, "Root user has no MFA", SeverityCritical, ctlRootMFA},
	{policy.RuleConsoleNoMFA, "Console user has no MFA", SeverityHigh, ctlConsMFA},
	{policy.RuleConsoleUnused, "Console password unused", SeverityMedium, ctlUnused90},
	{policy.RuleExemptionExpired, "Exemption has expired", SeverityMedium, Controls{}},
	{policy.RuleKeyLastUsedUnknown, "Access key last use could not be read", SeverityLow, Controls{}},
	{policy.RuleAccountNotAudited, "Account could not be audited", SeverityHigh, Controls{}},

	// The account's other long-term credentials (accountkinds.go).
	{policy.RuleServerCertExpired, "IAM server certificate has expired", SeverityHigh, ctlServerCertExpired},
	{policy.RuleServerCertExpiring, "IAM server certificate expires soon", SeverityMedium, Controls{}},
	{policy.RuleCertExpired, "ACM certificate has expired", SeverityHigh, ctlACM1},
	{policy.RuleCertExpiring, "ACM certificate expires soon", SeverityMedium, ctlACM1},
	{policy.RuleCertImported, "Imported ACM certificate is never renewed by ACM", SeverityLow, Controls{}},
	{policy.RuleCertUnused, "ACM certificate is not in use", SeverityLow, Controls{}},
	{policy.RuleSecretRotationDisabled, "Secret has no automatic rotation", SeverityMedium, ctlSM1},
	{policy.RuleSecretRotationOverdue, "Secret rotation is overdue", SeverityMedium, ctlSM4},
	{policy.RuleSecretRotationFailed, "Secret's last rotation did not finish", SeverityHigh, ctlSM2},
	{policy.RuleSecretUnused, "Secret not accessed recently", SeverityMedium, ctlSM3},
	// No CIS or Security Hub control covers IAM Roles Anywhere; AWS
	// SEC02-BP05 asks for certificates to be renewed before they expire.
	{policy.RuleTrustAnchorExpired, "IAM Roles Anywhere trust anchor's CA certificate has expired", SeverityHigh, Controls{}},
	{policy.RuleTrustAnchorExpiring, "IAM Roles Anywhere trust anchor's CA certificate expires soon", SeverityMedium, Controls{}},
	{policy.RuleTrustAnchorDisabled, "Disabled IAM Roles Anywhere trust anchor holds an expired CA certificate", SeverityLow, Controls{}},
	{policy.RuleTrustAnchorUnreadable, "IAM Roles Anywhere trust anchor's CA bundle could not be read", SeverityLow, Controls{}},
}

// RuleDoc is a rule's generic text: what it checks, why, what to do about a
// finding, and the keyrot.yaml settings that tune it. It names no user,
// key or account: a finding's own message and remediation do.
type RuleDoc struct {
	// Description says what the rule checks and why, in a few sentences.
	Description string
	// Remediation says what to do about a finding of this rule.
	Remediation string
	// Settings are the keyrot.yaml paths that set the rule's threshold or
	// turn it on or off.
	Settings []string
	// SeverityNote says when a finding's severity differs from the rule's.
	SeverityNote string
}

var ruleDocs = map[string]RuleDoc{
	policy.RuleAccessKeyAge: {
		"An active access key is older than the rotation period. Long-lived keys that leak stay useful to an attacker; CIS asks for rotation every 90 days or less.",
		"Rotate the key: create a new one, move its users to it, then deactivate and delete the old one (keyrot apply does this safely; keyrot plan shows the steps).",
		[]string{"access_keys.rotate_after"}, "high once the key is past access_keys.deactivate_after"},
	policy.RuleAccessKeyUnused: {
		"An active access key has not been used for longer than allowed. An unused key is attack surface with no purpose.",
		"Deactivate the key if nothing needs it, and delete it later (keyrot apply does both in turn).",
		[]string{"access_keys.unused_after"}, ""},
	policy.RuleAccessKeyMultipleActive: {
		"A user has more active access keys than allowed. A second active key is usually a rotation left half-done.",
		"Find which key is in use (aws iam get-access-key-last-used) and deactivate the other.",
		[]string{"access_keys.max_active_keys"}, ""},
	policy.RuleAccessKeySetupUnused: {
		"An access key was created with its user and never used. CIS asks not to create keys at user set-up: create them only when a program needs one.",
		"Delete the key; create keys only when a program needs them.",
		[]string{"access_keys.setup_grace"}, ""},
	policy.RuleAccessKeyInactiveLinger: {
		"An inactive access key is older than the deletion period. Inactive keys can be re-activated; once nothing needs one it should be deleted.",
		"Delete the key once nothing needs it (keyrot apply does it after the deletion period).",
		[]string{"access_keys.delete_after"}, ""},
	policy.RuleRootAccessKey: {
		"The account's root user has an access key. Root keys cannot be restricted by any policy.",
		"Sign in as the root user, move anything that uses the key to an IAM role, then delete the key under Security credentials (root keys cannot be managed through IAM APIs).",
		[]string{"root.forbid_access_keys"}, "low when the root key is inactive"},
	policy.RuleRootNoMFA: {
		"The account's root user has no MFA device.",
		"Sign in as the root user and assign an MFA device (a hardware key or passkey is preferred).",
		[]string{"root.require_mfa"}, ""},
	policy.RuleConsoleNoMFA: {
		"An IAM user can sign in to the console with a password and has no MFA device.",
		"Have the user assign an MFA device, or remove the password if console access is not needed (aws iam delete-login-profile).",
		[]string{"console.require_mfa"}, ""},
	policy.RuleConsoleUnused: {
		"A console password has not been used for longer than allowed.",
		"Remove console access if it is not needed (aws iam delete-login-profile).",
		[]string{"console.unused_after"}, ""},
	policy.RuleExemptionExpired: {
		"An exemption in keyrot.yaml has expired, so the findings it covered are reported again.",
		"Fix what the exemption covered, or renew it in keyrot.yaml with a new expires date and a current reason.",
		[]string{"exemptions"}, ""},
	policy.RuleKeyLastUsedUnknown: {
		"The last use of an access key could not be read, so the rules that depend on it could not be applied; keyrot does not act on a guess.",
		"Allow iam:GetAccessKeyLastUsed (or iam:GenerateCredentialReport and iam:GetCredentialReport) to the audit role and run the audit again.",
		nil, ""},
	policy.RuleAccountNotAudited: {
		"An account of the organization could not be audited (its role could not be assumed, or a call was denied): nothing is known about its credentials.",
		"Check that the member role exists in the account and trusts the management account, then run the audit again.",
		[]string{"organization.role_name"}, ""},

	// The account's other long-term credentials (accountkinds.go).
	policy.RuleServerCertExpired: {
		"An SSL/TLS certificate stored in IAM has expired. Expired certificates can be deployed by mistake to a load balancer or CloudFront; CIS asks to remove them.",
		"Move anything that uses the certificate to a current one (ACM is preferred), then delete it: aws iam delete-server-certificate --server-certificate-name <name>.",
		[]string{"server_certificates.exclude"}, ""},
	policy.RuleServerCertExpiring: {
		"An SSL/TLS certificate stored in IAM expires within the warning period. IAM never renews certificates.",
		"Obtain a new certificate, upload it (or move to ACM, which renews), and switch its users before the old one expires.",
		[]string{"server_certificates.expiry_warning", "server_certificates.exclude"}, ""},
	policy.RuleCertExpired: {
		"An ACM certificate has expired. Anything still using it fails TLS; an unused expired certificate is clutter that can be attached by mistake.",
		"Replace the certificate where it is used, then delete it: aws acm delete-certificate --certificate-arn <arn>.",
		[]string{"certificates.exclude"}, ""},
	policy.RuleCertExpiring: {
		"An ACM certificate expires within the warning period (Security Hub ACM.1). ACM renews eligible Amazon-issued certificates by itself; an imported one, or one whose renewal cannot be validated, expires.",
		"For an imported certificate, import a renewed one (aws acm import-certificate --certificate-arn <arn> ...); for an Amazon-issued one, check its renewal status and its domain validation records.",
		[]string{"certificates.expiry_warning", "certificates.exclude"}, ""},
	policy.RuleCertImported: {
		"An ACM certificate was imported: ACM never renews imported certificates, so someone must re-import it before it expires.",
		"Replace it with an ACM-issued certificate where possible, or make sure its renewal is owned and scheduled.",
		[]string{"certificates.flag_imported", "certificates.exclude"}, ""},
	policy.RuleCertUnused: {
		"An issued ACM certificate is used by no AWS resource. ACM does not renew certificates that are not in use, and unused certificates are clutter.",
		"Delete it if nothing needs it: aws acm delete-certificate --certificate-arn <arn>.",
		[]string{"certificates.flag_unused", "certificates.exclude"}, ""},
	policy.RuleSecretRotationDisabled: {
		"A Secrets Manager secret has no automatic rotation (Security Hub SecretsManager.1). A secret that never changes stays useful to whoever copied it.",
		"Configure rotation with a rotation function: aws secretsmanager rotate-secret --secret-id <name> --rotation-lambda-arn <arn> --rotation-rules AutomaticallyAfterDays=<days>.",
		[]string{"secrets.require_rotation", "secrets.exclude"}, ""},
	policy.RuleSecretRotationOverdue: {
		"A secret was not rotated within its schedule (Security Hub SecretsManager.4): its next rotation date has passed, or its last rotation is older than the policy's period for its kind.",
		"Start a rotation (keyrot apply does where rotation is configured: RotateSecret), and check why the schedule was missed.",
		[]string{"secrets.rotate_every", "secrets.schedules", "secrets.exclude"}, ""},
	policy.RuleSecretRotationFailed: {
		"A secret has an AWSPENDING version that is not AWSCURRENT: its last rotation started and did not finish (Security Hub SecretsManager.2), and Secrets Manager refuses to start another until it is resolved.",
		"Read the rotation function's logs, fix the cause, then finish or undo the rotation (aws secretsmanager update-secret-version-stage) and rotate again.",
		[]string{"secrets.exclude"}, ""},
	policy.RuleSecretUnused: {
		"A secret has not been read for longer than allowed (Security Hub SecretsManager.3). Unused secrets are access nobody needs.",
		"Delete it if nothing needs it: aws secretsmanager delete-secret --secret-id <name> (with a recovery window).",
		[]string{"secrets.unused_after", "secrets.exclude"}, ""},
	policy.RuleTrustAnchorExpired: {
		"Every CA certificate of an enabled IAM Roles Anywhere trust anchor has expired: no workload outside AWS can obtain credentials through it, and an anchor nobody renewed is often one nobody owns.",
		"Put the renewed CA certificate in the trust anchor (aws rolesanywhere update-trust-anchor --trust-anchor-id <id> --source ...), or delete the anchor if nothing uses it.",
		[]string{"trust_anchors.exclude"}, ""},
	policy.RuleTrustAnchorExpiring: {
		"The last CA certificate of an enabled IAM Roles Anywhere trust anchor expires within the warning period; after that the workloads that use it can no longer obtain credentials.",
		"Issue the renewed CA certificate and add it to the trust anchor's bundle before the old one expires, then move the workloads' certificates to it.",
		[]string{"trust_anchors.expiry_warning", "trust_anchors.exclude"}, ""},
	policy.RuleTrustAnchorDisabled: {
		"A disabled IAM Roles Anywhere trust anchor still holds an expired CA certificate. Re-enabling it would restore trust in a CA nobody maintains; a dead anchor should be deleted.",
		"Delete it: aws rolesanywhere delete-trust-anchor --trust-anchor-id <id>.",
		[]string{"trust_anchors.flag_disabled_expired", "trust_anchors.exclude"}, ""},
	policy.RuleTrustAnchorUnreadable: {
		"The CA certificate bundle of an IAM Roles Anywhere trust anchor could not be parsed as PEM certificates, so its expiry is unknown.",
		"Read the bundle (aws rolesanywhere get-trust-anchor --trust-anchor-id <id>) and replace it with PEM-encoded certificates.",
		[]string{"trust_anchors.exclude"}, ""},
}

// Doc returns the generic text of rule id.
func Doc(id string) RuleDoc { return ruleDocs[id] }

// Threshold describes the value of the rule's settings in p, e.g.
// "90d" or "require_mfa: true"; empty when the rule has none.
func Threshold(p *policy.Policy, id string) string {
	ak := p.AccessKeys
	switch id {
	case policy.RuleAccessKeyAge:
		return "rotate after " + ak.RotateAfter.String()
	case policy.RuleAccessKeyUnused:
		return "unused for " + ak.UnusedAfter.String()
	case policy.RuleAccessKeyMultipleActive:
		return fmt.Sprintf("at most %d active", ak.MaxActiveKeys)
	case policy.RuleAccessKeySetupUnused:
		return "created within " + ak.SetupGrace.String() + " of the user"
	case policy.RuleAccessKeyInactiveLinger:
		return "inactive and older than " + ak.DeleteAfter.String()
	case policy.RuleRootAccessKey:
		return onOff(p.Root.ForbidAccessKeys)
	case policy.RuleRootNoMFA:
		return onOff(p.Root.RequireMFA)
	case policy.RuleConsoleNoMFA:
		return onOff(p.Console.RequireMFA)
	case policy.RuleConsoleUnused:
		return "unused for " + p.Console.UnusedAfter.String()
	case policy.RuleServerCertExpiring:
		return "expires within " + p.ServerCertificates.ExpiryWarning.String()
	case policy.RuleCertExpiring:
		return "expires within " + p.Certificates.ExpiryWarning.String()
	case policy.RuleCertImported:
		return onOff(p.Certificates.FlagImported)
	case policy.RuleCertUnused:
		return onOff(p.Certificates.FlagUnused)
	case policy.RuleSecretRotationDisabled:
		return onOff(p.Secrets.RequireRotation)
	case policy.RuleSecretRotationOverdue:
		return "rotate every " + p.Secrets.RotateEvery.String() + " unless a schedule matches"
	case policy.RuleSecretUnused:
		return "unused for " + p.Secrets.UnusedAfter.String()
	case policy.RuleTrustAnchorExpiring:
		return "expires within " + p.TrustAnchors.ExpiryWarning.String()
	case policy.RuleTrustAnchorDisabled:
		return onOff(p.TrustAnchors.FlagDisabledExpired)
	}
	return iamKindThreshold(p, id)
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// Rules returns every rule in policy.KnownRules order.
func Rules() []RuleInfo { return append([]RuleInfo(nil), rules...) }

// Rule returns the rule with id.
func Rule(id string) (RuleInfo, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return RuleInfo{}, false
}

func mustRule(id string) RuleInfo {
	r, ok := Rule(id)
	if !ok {
		panic("audit: unknown rule " + id)
	}
	return r
}
