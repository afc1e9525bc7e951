package policy

// Rule IDs, stable across releases: exemptions, findings and reports use them.
const (
	RuleAccessKeyAge            = "access-key-age"
	RuleAccessKeyUnused         = "access-key-unused"
	RuleAccessKeyMultipleActive = "access-key-multiple-active"
	RuleAccessKeySetupUnused    = "access-key-setup-unused"
	RuleAccessKeyInactiveLinger = "access-key-inactive-lingering"
	RuleRootAccessKey           = "root-access-key"
	RuleRootNoMFA               = "root-no-mfa"
	RuleConsoleNoMFA            = "console-no-mfa"
	RuleConsoleUnused           = "console-unused"
	RuleExemptionExpired        = "exemption-expired"
	RuleKeyLastUsedUnknown      = "key-last-used-unknown"
	RuleAccountNotAudited       = "account-not-audited"

	// The account's other long-term credentials (accountkinds.go).
	RuleServerCertExpired      = "server-certificate-expired"
	RuleServerCertExpiring     = "server-certificate-expiring"
	RuleCertExpired            = "certificate-expired"
	RuleCertExpiring           = "certificate-expiring"
	RuleCertImported           = "certificate-imported"
	RuleCertUnused             = "certificate-unused"
	RuleSecretRotationDisabled = "secret-rotation-disabled"
	RuleSecretRotationOverdue  = "secret-rotation-overdue"
	RuleSecretRotationFailed   = "secret-rotation-failed"
	RuleSecretUnused           = "secret-unused"
	RuleTrustAnchorExpired     = "trust-anchor-expired"
	RuleTrustAnchorExpiring    = "trust-anchor-expiring"
	RuleTrustAnchorDisabled    = "trust-anchor-disabled-expired"
	RuleTrustAnchorUnreadable  = "trust-anchor-unreadable"
)

// KnownRules lists every rule ID in a fixed order.
func KnownRules() []string {
	return append([]string{
		RuleAccessKeyAge, RuleAccessKeyUnused, RuleAccessKeyMultipleActive, RuleAccessKeySetupUnused,
		RuleAccessKeyInactiveLinger, RuleRootAccessKey, RuleRootNoMFA, RuleConsoleNoMFA, RuleConsoleUnused,
		RuleExemptionExpired, RuleKeyLastUsedUnknown, RuleAccountNotAudited,
		RuleServerCertExpired, RuleServerCertExpiring, RuleCertExpired, RuleCertExpiring, RuleCertImported, RuleCertUnused,
		RuleSecretRotationDisabled, RuleSecretRotationOverdue, RuleSecretRotationFailed, RuleSecretUnused,
		RuleTrustAnchorExpired, RuleTrustAnchorExpiring, RuleTrustAnchorDisabled, RuleTrustAnchorUnreadable,
	}, iamKindRules()...)
}

// IsKnownRule reports whether id is a rule ID.
func IsKnownRule(id string) bool {
	for _, r := range KnownRules() {
		if r == id {
			return true
		}
	}
	return false
}
