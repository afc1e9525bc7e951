package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/app"
)

// TestPlanDetailedExitcode: with --detailed-exitcode, plan exits 10 when
// changes are pending and 0 when there is nothing to do; without it, 0.
func TestPlanDetailedExitcode(t *testing.T) {
	e := startRotationEnv(t, "demo")
	if code, _, stderr := e.run(t, "plan", "--accounts", "345678901234", "--detailed-exitcode"); code != ExitChangesPending || !strings.Contains(stderr, "changes pending") {
		t.Errorf("changes pending: exit %d, want %d\n%s", code, ExitChangesPending, stderr)
	}
	if code, _, stderr := e.run(t, "plan", "--accounts", "678901234567", "--detailed-exitcode"); code != ExitOK {
		t.Errorf("nothing to do: exit %d, want 0\n%s", code, stderr)
	}
	if code, _, stderr := e.run(t, "plan", "--accounts", "345678901234"); code != ExitOK {
		t.Errorf("without --detailed-exitcode: exit %d, want 0\n%s", code, stderr)
	}
}

// TestJSONOutputs: plan JSON has [] for empty lists and numbers as
// numbers; history JSON is snake_case with a schema_version; apply JSON
// has a summary.
func TestJSONOutputs(t *testing.T) {
	e := startRotationEnv(t, "demo")
	_, out, stderr := e.run(t, "plan", "--accounts", "345678901234", "-o", "json")
	var p struct {
		Plan map[string]json.RawMessage `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan json: %v\n%s%s", err, out, stderr)
	}
	for _, list := range []string{"actions", "deferred", "blocked", "upcoming", "accounts"} {
		if s := string(p.Plan[list]); !strings.HasPrefix(s, "[") {
			t.Errorf("plan %s = %s, want a list", list, s)
		}
	}
	var acts []struct {
		Evidence map[string]any `json:"evidence"`
	}
	if err := json.Unmarshal(p.Plan["actions"], &acts); err != nil || len(acts) == 0 {
		t.Fatalf("actions: %v", err)
	}
	if _, ok := acts[0].Evidence["age_days"].(float64); !ok {
		t.Errorf("evidence age_days = %#v, want a number", acts[0].Evidence["age_days"])
	}
	if _, ok := acts[0].Evidence["last_used_known"].(bool); !ok {
		t.Errorf("evidence last_used_known = %#v, want a boolean", acts[0].Evidence["last_used_known"])
	}

	code, out, stderr := e.run(t, "apply", "--accounts", "345678901234", "--yes", "-o", "json")
	var applied struct {
		SchemaVersion int   `json:"schema_version"`
		RunID         int64 `json:"run_id"`
		Summary       struct {
			Actions, Succeeded, Failed int
		} `json:"summary"`
		Outcomes []json.RawMessage `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(out), &applied); err != nil || (code != ExitOK && code != ExitBlocked) {
		t.Fatalf("apply json: exit %d, %v\n%s%s", code, err, out, stderr)
	}
	if n := strings.Count(stderr, "no notification channel is configured"); n != 1 {
		t.Errorf("the no-channel warning is said %d times, want once:\n%s", n, stderr)
	}
	if applied.SchemaVersion != 1 || applied.RunID == 0 || applied.Summary.Actions != len(applied.Outcomes) || applied.Summary.Succeeded == 0 {
		t.Errorf("apply json: %+v", applied)
	}

	_, out, _ = runCLI(t, "history", "--state-dir", e.stateDir, "-o", "json")
	for _, want := range []string{`"schema_version": 1`, `"runs": [`, `"started_at"`, `"command": "apply"`} {
		if !strings.Contains(out, want) {
			t.Errorf("history json lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"ID"`) || strings.Contains(out, `"Started"`) {
		t.Errorf("history json has Go field names:\n%s", out)
	}
	_, out, _ = runCLI(t, "history", "--state-dir", e.stateDir, "-o", "json", "--account", "345678901234", "--user", "ci-deploy")
	for _, want := range []string{`"schema_version": 1`, `"account_id": "345678901234"`, `"events": [`, `"run_id"`} {
		if !strings.Contains(out, want) {
			t.Errorf("history story json lacks %s:\n%s", want, out)
		}
	}
}

// TestRulesCommand: keyrot rules lists every rule with its severity,
// threshold and controls; explain shows one; an unknown rule is a usage
// error with a suggestion.
func TestRulesCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, stderr := runCLI(t, "rules")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"access-key-age", "medium", "rotate after 90d", "IAM.3", "account-not-audited"} {
		if !strings.Contains(out, want) {
			t.Errorf("keyrot rules lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "rules", "explain", "console-no-mfa")
	if code != ExitOK || !strings.Contains(out, "Remediation: ") || !strings.Contains(out, "console.require_mfa") || !strings.Contains(out, "CIS v3.0.0 1.10") {
		t.Errorf("explain: exit %d\n%s", code, out)
	}
	code, _, stderr = runCLI(t, "rules", "explain", "key-age")
	if code != ExitUsage || !strings.Contains(stderr, `did you mean access-key-age`) {
		t.Errorf("unknown rule: exit %d, %s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "rules", "explain"); code != ExitUsage || !strings.Contains(stderr, "takes one rule ID") {
		t.Errorf("explain without a rule: exit %d, %s", code, stderr)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Rules         []struct {
			ID, Remediation string
		} `json:"rules"`
	}
	_, out, _ = runCLI(t, "rules", "-o", "json")
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.SchemaVersion != 1 || len(doc.Rules) < 12 {
		t.Errorf("rules json: %v %+v", err, doc)
	}
}

// TestHistoryEmpty: without runs, history says so instead of printing a
// bare header.
func TestHistoryEmpty(t *testing.T) {
	code, out, _ := runCLI(t, "history", "--state-dir", t.TempDir())
	if code != ExitOK || !strings.Contains(out, "no runs recorded in ") {
		t.Errorf("exit %d, %q", code, out)
	}
}

// TestPartialErrorGrammar: "1 account could not be read".
func TestPartialErrorGrammar(t *testing.T) {
	if got := (&app.PartialError{Failed: []string{"901234567801 (denied)"}}).Error(); got != "1 account could not be read: 901234567801 (denied)" {
		t.Errorf("got %q", got)
	}
}
