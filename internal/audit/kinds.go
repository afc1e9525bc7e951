package audit

import (
	"strings"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// Kinds of findings that are not about one credential.
const (
	// KindPasswordPolicy is the account password policy's findings.
	KindPasswordPolicy = "password-policy"
	// KindAccount is the findings about an account as a whole (not audited).
	KindAccount = "account"
)

// ruleKinds maps the rules whose kind their ID prefix does not tell.
var ruleKinds = map[string]string{
	policy.RuleRootAccessKey:         KindRootAccessKey,
	policy.RuleRootNoMFA:             KindRootPassword,
	policy.RuleConsoleNoMFA:          KindConsolePassword,
	policy.RuleConsoleUnused:         KindConsolePassword,
	policy.RulePasswordAge:           KindConsolePassword,
	policy.RulePasswordPolicyMissing: KindPasswordPolicy,
	policy.RulePasswordPolicyWeak:    KindPasswordPolicy,
	policy.RuleExemptionExpired:      KindAccessKey,
	policy.RuleKeyLastUsedUnknown:    KindAccessKey,
	policy.RuleAccountNotAudited:     KindAccount,
}

// rulePrefixKinds maps rule ID prefixes to the kind of credential their
// findings are about.
var rulePrefixKinds = []struct{ prefix, kind string }{
	{"access-key-", KindAccessKey},
	{"server-certificate-", KindServerCertificate},
	{"certificate-", KindACMCertificate},
	{"secret-", KindSecret},
	{"trust-anchor-", KindTrustAnchor},
	{"service-credential-", KindServiceCredential},
	{"bedrock-api-key-", KindBedrockAPIKey},
	{"signing-certificate-", KindSigningCertificate},
	{"ssh-key-", KindSSHPublicKey},
}

// RuleKind returns the kind of credential rule id's findings are about
// (the Kind… constants, KindPasswordPolicy or KindAccount); "" for an
// unknown rule.
func RuleKind(id string) string {
	if k, ok := ruleKinds[id]; ok {
		return k
	}
	for _, p := range rulePrefixKinds {
		if strings.HasPrefix(id, p.prefix) {
			return p.kind
		}
	}
	return ""
}

// CountCredentials counts the snapshot's long-term credentials by kind
// and account: the rows of the inventory output. The count does not
// depend on the policy (only the rows' due dates do).
func CountCredentials(snap *inventory.Snapshot) map[string]map[string]int {
	out := map[string]map[string]int{}
	if snap == nil {
		return out
	}
	for _, c := range Credentials(policy.Default(), snap, snap.CollectedAt) {
		if out[c.Kind] == nil {
			out[c.Kind] = map[string]int{}
		}
		out[c.Kind][c.AccountID]++
	}
	return out
}

// KindInfo names a credential kind for people.
type KindInfo struct {
	Kind, Title string
}

// kindInfos are every kind of the inventory and the findings, in the
// order reports list them.
var kindInfos = []KindInfo{
	{KindAccessKey, "IAM access keys"},
	{KindRootAccessKey, "Root access keys"},
	{KindConsolePassword, "Console passwords"},
	{KindRootPassword, "Root user"},
	{KindPasswordPolicy, "Account password policy"},
	{KindServiceCredential, "Service-specific credentials"},
	{KindBedrockAPIKey, "Bedrock long-term API keys"},
	{KindSigningCertificate, "X.509 signing certificates"},
	{KindSSHPublicKey, "SSH public keys"},
	{KindServerCertificate, "IAM server certificates"},
	{KindACMCertificate, "ACM certificates"},
	{KindSecret, "Secrets Manager secrets"},
	{KindTrustAnchor, "IAM Roles Anywhere trust anchors"},
	{KindAccount, "Accounts not audited"},
}

// Kinds returns every kind with its title, in the order reports list them.
func Kinds() []KindInfo { return append([]KindInfo(nil), kindInfos...) }
