package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestReportBadInput: keyrot report refuses a --since it cannot read and an
// output it does not write, with a usage error that says what it wants,
// before it opens the history.
func TestReportBadInput(t *testing.T) {
	state := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"since garbage", []string{"--since", "a month"}, `invalid argument "a month" for "--since"`},
		{"since unit", []string{"--since", "30x"}, `"--since"`},
		{"since zero", []string{"--since", "0d"}, "--since must be a positive duration such as 30d"},
		{"since negative", []string{"--since", "-3d"}, `"--since"`},
		{"unknown output", []string{"-o", "pdf"}, `--output: unknown output format "pdf" (want one of html, markdown, csv)`},
		{"audit format", []string{"-o", "sarif"}, `unknown output format "sarif"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"report", "--state-dir", state}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) || out != "" {
				t.Errorf("exit %d, want %d; stderr %q lacks %q; stdout %q", code, ExitUsage, stderr, tt.want, out)
			}
		})
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Errorf("bad input opened the history: %v", entries)
	}
	// An empty history is a report with no figures and a warning.
	code, out, stderr := runCLI(t, "report", "--state-dir", state, "-o", "markdown")
	if code != ExitOK || !strings.Contains(out, "0 audits in the period") || !strings.Contains(stderr, "no audit is recorded") {
		t.Errorf("empty history: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestAuditWithoutHistoryStillReports: an audit whose state store cannot
// be opened warns on stderr and still reports (it is read-only); one that
// can is a run in keyrot history with its summary and trend.
func TestAuditWithoutHistoryStillReports(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The state directory is a path under a regular file: it cannot exist.
	code, out, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none", "--report-wait", "5ms", "--state-dir", filepath.Join(blocked, "state"))
	if code != ExitPartial || !strings.Contains(stderr, "this audit is not recorded in the history") || !strings.Contains(out, `"findings"`) {
		t.Fatalf("audit with a broken state dir: exit %d\n%s", code, stderr)
	}

	state := t.TempDir()
	if code, _, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none", "--report-wait", "5ms", "--state-dir", state); code != ExitPartial {
		t.Fatalf("audit: exit %d\n%s", code, stderr)
	}
	code, out, stderr = runCLI(t, "history", "-o", "json", "--state-dir", state)
	if code != ExitOK {
		t.Fatalf("history: exit %d\n%s", code, stderr)
	}
	var doc historyRuns
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].Command != "audit" || doc.Runs[0].Status != "succeeded" || !strings.Contains(doc.Runs[0].Summary, "findings") {
		t.Errorf("runs: %+v", doc.Runs)
	}
	if len(doc.Trends) != 1 || doc.Trends[0].RunID != doc.Runs[0].ID || doc.Trends[0].Findings == 0 || len(doc.Trends[0].Controls) == 0 {
		t.Errorf("trends: %+v", doc.Trends)
	}
	_, tbl, _ := runCLI(t, "history", "--state-dir", state)
	if !strings.Contains(tbl, "trends: 1 audit in the last 90d") || !strings.Contains(tbl, "IAM.3") {
		t.Errorf("history table lacks the trends:\n%s", tbl)
	}
	if code, page, stderr := runCLI(t, "history", "-o", "html", "--state-dir", state); code != ExitOK || !strings.Contains(page, "<title>keyrot status</title>") {
		t.Errorf("history -o html: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "history", "-o", "html", "--account", "111111111111", "--user", "u", "--state-dir", state); code != ExitUsage || !strings.Contains(stderr, "does not go with --user") {
		t.Errorf("history -o html --user: exit %d %s", code, stderr)
	}
}

// TestAuditAppliesRetention: with history.retention 60h, the audits older
// than two and a half days on the sandbox clock are pruned at the end of the next
// audit, and an apply's journal is kept whatever its age.
func TestAuditAppliesRetention(t *testing.T) {
	e := startLifecycle(t, "")
	withPolicy(t, e, "history:\n  retention: 60h\n")
	if code, _, stderr := e.run(t, "apply", "--yes", "-o", "json"); code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	for d := range 6 {
		if d > 0 {
			e.Server.Clock().Advance(day)
		}
		if code, _, stderr := e.run(t, "audit", "-o", "json"); code != ExitOK {
			t.Fatalf("day %d: audit exit %d\n%s", d, code, stderr)
		}
	}
	_, out, _ := runCLI(t, "history", "-o", "json", "--since", "30d", "--state-dir", e.stateDir, "--limit", "50")
	var doc historyRuns
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var commands []string
	for _, r := range doc.Runs {
		commands = append(commands, r.Command)
	}
	// The last prune, at the end of day 5's audit, cut at day 2.5: days 3
	// to 5 stay. The apply (day 0) stays: it is the journal's.
	if len(doc.Trends) != 3 || strings.Join(commands, ",") != "audit,audit,audit,apply" {
		t.Errorf("after retention: %d audits in the trends, runs %v", len(doc.Trends), commands)
	}
}
