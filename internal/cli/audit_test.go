package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// useSandbox points the AWS configuration of cli.Main at env with the admin key.
func useSandbox(t *testing.T, env *sandboxtest.Env) {
	t.Helper()
	id, sec := env.Server.AdminCredentials()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sec)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", env.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Chdir(t.TempDir()) // no stray keyrot.yaml
}

type jsonAudit struct {
	Accounts []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"accounts"`
	Findings []struct {
		Rule      string `json:"rule"`
		Severity  string `json:"severity"`
		AccountID string `json:"account_id"`
		User      string `json:"user"`
		KeyID     string `json:"key_id"`
		Exempt    bool   `json:"exempt"`
	} `json:"findings"`
}

// TestAuditDemoGolden audits the demo organization through the CLI, the real
// SDK and the sandbox, and compares every finding with the golden list.
func TestAuditDemoGolden(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	code, out, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d (the demo has an account without the role)\nstderr: %s", code, ExitPartial, stderr)
	}
	var res jsonAudit
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("decode json output: %v\n%s", err, out)
	}
	var lines []string
	for _, a := range res.Accounts {
		lines = append(lines, fmt.Sprintf("account %s %s", a.ID, a.Status))
	}
	for _, f := range res.Findings {
		ex := ""
		if f.Exempt {
			ex = " exempt"
		}
		key := ""
		if f.KeyID != "" {
			key = " key"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s%s%s", f.AccountID, f.User, f.Rule, f.Severity, key, ex))
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join(testdataDir(t), "audit-demo.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("demo audit differs from %s (-want +got):\n%s", golden, diff)
	}
	if strings.Contains(out, "SecretAccessKey") || strings.Contains(stderr, "SecretAccessKey") {
		t.Error("output mentions secret access keys")
	}
}

// TestAuditFailOn checks the CI gate: exit 3 with findings at or above the
// severity, and exit 0 when a clean account is audited alone.
func TestAuditFailOn(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	acct := cleanDemoAccount(t, env)
	code, _, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none", "--accounts", acct, "--fail-on", "low")
	if code != ExitOK {
		t.Fatalf("clean account %s: exit %d, want 0\n%s", acct, code, stderr)
	}
	code, _, stderr = runCLI(t, "audit", "-o", "csv", "--progress", "none", "--accounts", "345678901234", "--fail-on", "high")
	if code != ExitFindings || !strings.Contains(stderr, "at or above high") {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	code, _, stderr = runCLI(t, "audit", "--fail-on", "severe")
	if code != ExitUsage || !strings.Contains(stderr, "unknown severity") {
		t.Fatalf("bad --fail-on: exit %d, stderr %s", code, stderr)
	}
}

// cleanDemoAccount finds a demo account with no findings by auditing each alone.
func cleanDemoAccount(t *testing.T, env *sandboxtest.Env) string {
	t.Helper()
	_, out, _ := runCLI(t, "audit", "-o", "json", "--progress", "none")
	var res jsonAudit
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	dirty := map[string]bool{}
	for _, f := range res.Findings {
		dirty[f.AccountID] = true
	}
	for _, a := range res.Accounts {
		if a.Status == "audited" && !dirty[a.ID] {
			return a.ID
		}
	}
	t.Fatal("the demo scenario has no compliant account")
	return ""
}

func testdataDir(t *testing.T) string {
	t.Helper()
	return testdataAbs
}

// TestAuditOutFile writes the report to a file (atomically) and nothing to stdout.
func TestAuditOutFile(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	file := filepath.Join(t.TempDir(), "audit.html")
	code, out, stderr := runCLI(t, "audit", "-o", "html", "--out-file", file, "--progress", "none")
	if code != ExitPartial || out != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, out, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), "<html") || !strings.Contains(string(b), "root-access-key") {
		t.Fatalf("report file: %v\n%.200s", err, b)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".keyrot-report-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestAuditDuringRotationWindow: keyrot's own rotation must not fail a CI
// gate while the owner's window to switch is open; once the deactivation
// date passes with the old key still active, the findings count again.
func TestAuditDuringRotationWindow(t *testing.T) {
	e := startLifecycle(t, "")
	e.Server.Clock().Advance(5 * day) // day 90
	if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	audit := func(wantCode int) jsonAudit {
		t.Helper()
		code, out, stderr := runCLI(t, "audit", "-o", "json", "--fail-on", "low", "--progress", "none", "--report-wait", "5ms", "--clock", "sandbox")
		if code != wantCode {
			t.Fatalf("audit: exit %d, want %d\n%s\n%s", code, wantCode, out, stderr)
		}
		var res jsonAudit
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	e.Server.Clock().Advance(3 * day) // day 93: inside the window
	res := audit(ExitOK)
	if len(res.Findings) < 2 {
		t.Fatalf("want the old key's findings listed as exempt, got %+v", res.Findings)
	}
	for _, f := range res.Findings {
		if !f.Exempt {
			t.Errorf("finding %s not marked as explained by the rotation in progress", f.Rule)
		}
	}
	e.Server.Clock().Advance(8 * day) // day 101: deactivation was due on day 100
	res = audit(ExitFindings)
	for _, f := range res.Findings {
		if f.Exempt {
			t.Errorf("finding %s still exempt after the window closed", f.Rule)
		}
	}
}
