package audit

import (
	"testing"

	"github.com/keyrot/keyrot/internal/policy"
)

// TestRuleKind: every rule has a kind, and the rules of each credential
// kind name it.
func TestRuleKind(t *testing.T) {
	for _, id := range policy.KnownRules() {
		if RuleKind(id) == "" {
			t.Errorf("rule %s has no kind", id)
		}
	}
	for id, want := range map[string]string{
		policy.RuleAccessKeyAge: KindAccessKey, policy.RuleCertExpiring: KindACMCertificate, policy.RuleServerCertExpired: KindServerCertificate,
		policy.RuleSecretRotationFailed: KindSecret, policy.RuleTrustAnchorExpiring: KindTrustAnchor, policy.RuleSSHKeyAge: KindSSHPublicKey,
		policy.RuleSigningCertificateAge: KindSigningCertificate, policy.RuleAPIKeyNoExpiry: KindBedrockAPIKey,
		policy.RuleServiceCredentialAge: KindServiceCredential, policy.RulePasswordPolicyWeak: KindPasswordPolicy, policy.RuleConsoleNoMFA: KindConsolePassword,
	} {
		if got := RuleKind(id); got != want {
			t.Errorf("RuleKind(%s) = %q, want %q", id, got, want)
		}
	}
	titled := map[string]bool{}
	for _, k := range Kinds() {
		titled[k.Kind] = k.Title != ""
	}
	for _, id := range policy.KnownRules() {
		if !titled[RuleKind(id)] {
			t.Errorf("kind %s of rule %s has no title", RuleKind(id), id)
		}
	}
	if RuleKind("no-such-rule") != "" {
		t.Error("an unknown rule has a kind")
	}
}
