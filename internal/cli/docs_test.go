package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/audit"
)

// ruleLike finds rule IDs quoted in Markdown: `access-key-age`, `"key-age"`.
var ruleLike = regexp.MustCompile("`\"?((?:access-key|key|root|console|exemption|account)-[a-z-]+)\"?`")

// TestDocsNameRealRules: every rule ID the README and docs/ quote exists.
func TestDocsNameRealRules(t *testing.T) {
	root := filepath.Join(testdataAbs, "..", "..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ruleLike.FindAllStringSubmatch(string(b), -1) {
			if _, ok := audit.Rule(m[1]); !ok {
				t.Errorf("%s names rule %q, which keyrot does not have", filepath.Base(f), m[1])
			}
		}
	}
}

// TestConfigFlagEverywhere: -c/--config names the policy file on config
// validate and init too, as docs/config.md says.
func TestConfigFlagEverywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.yaml")
	if code, _, stderr := runCLI(t, "config", "init", "-c", path); code != ExitOK {
		t.Fatalf("config init -c: exit %d, %s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "config", "validate", "--config", path); code != ExitOK || !strings.Contains(out, path+": valid") {
		t.Fatalf("config validate --config: exit %d, %s%s", code, out, stderr)
	}
}

// TestSandboxScenarioEveryProblem: a scenario's problems are all listed,
// an unknown field does not hide the others (docs/sandbox.md).
func TestSandboxScenarioEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	scenario := `organization:
  management:
    name: management
accounts:
  - name: one
    ou: Nowhere
    users:
      - name: alice
        passwd: x
        keys:
          - age: ninety
`
	if err := os.WriteFile(path, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "sandbox", "--scenario", path, "--addr", "127.0.0.1:0")
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{`unknown key "passwd"`, `invalid duration "ninety"`, `unknown OU "Nowhere"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no %q in\n%s", want, stderr)
		}
	}
}
