package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/policy"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestConfigInitValidate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	code, _, stderr := runCLI(t, "config", "init", "-f", path)
	if code != ExitOK {
		t.Fatalf("init: exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(data, policy.Init()) {
		t.Fatalf("init wrote %d bytes, err %v", len(data), err)
	}
	code, _, stderr = runCLI(t, "config", "init", "-f", path)
	if code != ExitUsage || !strings.Contains(stderr, "already exists; use --force") {
		t.Errorf("second init: exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(path, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = runCLI(t, "config", "init", "-f", path, "--force"); code != ExitOK {
		t.Errorf("init --force: exit %d, %q", code, stderr)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, policy.Init()) {
		t.Error("init --force did not replace the file")
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path)
	if code != ExitOK || stdout != path+": valid\n" || stderr != "" {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestConfigInitStdout(t *testing.T) {
	code, stdout, _ := runCLI(t, "config", "init", "-f", "-")
	if code != ExitOK || stdout != string(policy.Init()) {
		t.Errorf("init -f -: exit %d, %d bytes", code, len(stdout))
	}
}

func TestConfigValidateProblems(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyrot.yaml")
	bad := "version: 1\naccess_keys:\n  rotate_after: 120d\n  max_active_keys: 3\nrotation:\n  mode: yolo\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "--file", path)
	if code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	want := strings.Join([]string{
		path + ":3: access_keys.rotate_after: must be less than deactivate_after (got 120d >= 100d)",
		path + ":4: access_keys.max_active_keys: must be 1 or 2, IAM allows at most two keys per user (got 3)",
		path + `:6: rotation.mode: must be enforce or audit-only (got "yolo")`,
		path + ": 3 problem(s)",
		"",
	}, "\n")
	if diff := cmp.Diff(want, stderr); diff != "" || stdout != "" {
		t.Errorf("stdout %q; stderr (-want +got):\n%s", stdout, diff)
	}
}

func TestConfigValidateMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, stderr := runCLI(t, "config", "validate", "-f", path)
	if code != ExitUsage || !strings.Contains(stderr, "does not exist; create one with keyrot config init") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestConfigSchema(t *testing.T) {
	code, stdout, _ := runCLI(t, "config", "schema")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if s["title"] != "keyrot.yaml" {
		t.Errorf("title = %v", s["title"])
	}
}

func TestConfigBadArgs(t *testing.T) {
	if code, _, _ := runCLI(t, "config", "validate", "extra"); code != ExitUsage {
		t.Errorf("extra arg: exit %d, want %d", code, ExitUsage)
	}
	if code, _, _ := runCLI(t, "config", "init", "--nope"); code != ExitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, ExitUsage)
	}
}
