package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestAuditIAMKindsEveryFormat audits the demo organization with SSH keys
// listed and finds the findings of the other per-user credential kinds and
// of the password policies in every output format, with no credential
// secret in any of them.
func TestAuditIAMKindsEveryFormat(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	if err := os.WriteFile(filepath.Join(".", "keyrot.yaml"), []byte("version: 1\nssh_keys: {collect: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := []string{
		"service-credential-age", "bedrock-api-key-no-expiry", "bedrock-api-key-lifetime", "signing-certificate-age",
		"ssh-key-age", "password-age", "password-policy-weak", "password-policy-missing",
	}
	for _, format := range []string{"table", "json", "csv", "markdown", "html", "sarif", "asff"} {
		t.Run(format, func(t *testing.T) {
			code, out, stderr := runCLI(t, "audit", "-o", format, "--progress", "none")
			if code != ExitPartial {
				t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, stderr)
			}
			for _, r := range rules {
				if !strings.Contains(out, r) {
					t.Errorf("%s output lacks %s", format, r)
				}
			}
			// Secrets of service-specific credentials (passwords, API key
			// secrets beginning ABSK) are never read, let alone shown.
			if strings.Contains(out, "ABSK") || strings.Contains(out, "ServicePassword") {
				t.Errorf("%s output shows a credential secret", format)
			}
		})
	}
}
