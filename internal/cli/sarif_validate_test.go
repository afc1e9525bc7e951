package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSARIFValidatesForGitHub runs Microsoft's SARIF multitool with
// GitHub's rules (validate --rule-kind "Gh;Sarif") on the demo audit: no
// error may be reported (GH2012 was: a rule without fullDescription; GitHub
// also rejects results without a physical location). The tool is the npm
// package @microsoft/sarif-multitool; .ci/run installs it and sets
// KEYROT_SARIF_MULTITOOL (and KEYROT_REQUIRE_SARIF_MULTITOOL=1, so that CI
// fails rather than skips without it).
func TestSARIFValidatesForGitHub(t *testing.T) {
	tool := os.Getenv("KEYROT_SARIF_MULTITOOL")
	if tool == "" {
		tool, _ = exec.LookPath("sarif-multitool")
	}
	if tool == "" {
		if os.Getenv("KEYROT_REQUIRE_SARIF_MULTITOOL") == "1" {
			t.Fatal("sarif-multitool is required (KEYROT_REQUIRE_SARIF_MULTITOOL=1) and was not found")
		}
		t.Skip("sarif-multitool not installed (npm @microsoft/sarif-multitool; set KEYROT_SARIF_MULTITOOL)")
	}
	e := startRotationEnv(t, "demo")
	_, out, _ := e.audit(t, "-o", "sarif")
	dir := t.TempDir()
	in, result := filepath.Join(dir, "keyrot.sarif"), filepath.Join(dir, "validation.sarif")
	if err := os.WriteFile(in, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "validate", "--rule-kind", "Gh;Sarif", "--output", result, in)
	cmd.Env = append(os.Environ(), "DOTNET_CLI_TELEMETRY_OPTOUT=1", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
	text, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s validate: %v\n%s", tool, err, text)
	}
	b, err := os.ReadFile(result)
	if err != nil {
		t.Fatalf("no validation log: %v\n%s", err, text)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	for _, r := range log.Runs {
		for _, res := range r.Results {
			if res.Level == "error" || strings.HasPrefix(res.RuleID, "GH") {
				t.Errorf("%s %s: %s", res.Level, res.RuleID, res.Message.Text)
			}
		}
	}
}
