package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/policy"
)

// TestPolicyValidateReportsNotifyProblems checks what keyrot config validate
// prints: policy.Parse reports the notify section's problems with the file
// and line, next to the policy's own.
func TestPolicyValidateReportsNotifyProblems(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "config", "password_in_file.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = policy.Parse(append([]byte("version: 1\n"), data...), "keyrot.yaml")
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
	}
	want := []string{
		"keyrot.yaml:7: notify.channels[0].password_env: is required with username: name the environment variable that holds the password",
		"keyrot.yaml:8: notify.channels[0].password: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in password_env",
		"keyrot.yaml:9: notify.channels[1].secret_env: is required for a webhook channel: the name of the environment variable holding the HMAC signing key",
		"keyrot.yaml:11: notify.channels[1].secret: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in secret_env",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("policy problems (-want +got):\n%s", d)
	}
	good, err := os.ReadFile(filepath.Join("testdata", "config", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Parse(good, "keyrot.yaml"); err != nil {
		t.Errorf("a valid notify section is refused: %v", err)
	}
}
