package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigValidateCheckDestinations runs config validate
// --check-destinations on a file that declares a writable credentials file
// profile and a Vault secret whose token Vault refuses (403, as Vault
// answers an unknown token): the profile passes, the Vault destination is
// named with its error, and the token never appears.
func TestConfigValidateCheckDestinations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("KEYROT_TEST_VAULT_TOKEN", "hvs.very-secret-token")
	path := filepath.Join(dir, "keyrot.yaml")
	conf := "version: 1\ndeliver:\n  vault:\n    url: " + srv.URL + "\n    token_env: KEYROT_TEST_VAULT_TOKEN\n" +
		"  profile:\n    file: " + filepath.Join(dir, "credentials") + "\n" +
		"  destinations:\n    - to: [profile:work, vault:secret/ci/deploy]\n      users: [alice]\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path)
	if code != ExitOK {
		t.Fatalf("validate without the flag: exit %d, %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if !strings.Contains(stdout, "profile:work: ok") {
		t.Errorf("stdout %q should pass profile:work", stdout)
	}
	if !strings.Contains(stderr, "vault:secret/ci/deploy (destinations[0]): ") || !strings.Contains(stderr, "unauthorized") ||
		!strings.Contains(stderr, "1 of 2 destination(s) failed") {
		t.Errorf("stderr %q should name the Vault destination as unauthorized", stderr)
	}
	if strings.Contains(stdout+stderr, "hvs.very-secret-token") {
		t.Errorf("the token leaked: %q %q", stdout, stderr)
	}
}
