package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixtureCompliance is a compliance report with hostile free text: a
// formula, HTML, a pipe, a control character and whole key IDs.
func fixtureCompliance() *Compliance {
	at := func(d int) time.Time {
		return time.Date(2026, 4, 1, 9, 0, 30, 0, time.UTC).Add(time.Duration(d) * 24 * time.Hour)
	}
	return &Compliance{
		From: at(-1), To: at(29), ToolVersion: "v1.2.3", Audits: 3,
		Latest: AuditRef{RunID: 30, GeneratedAt: at(28)}, Baseline: AuditRef{RunID: 2, GeneratedAt: at(-2)},
		Controls: []ControlTrend{
			{Framework: FrameworkSecurityHub, Control: "IAM.3", Start: ControlStat{Evaluated: 4, Failing: 2}, End: ControlStat{Evaluated: 4, Failing: 1},
				Series: []Point{{At: at(0), Value: 50}, {At: at(14), Value: 75}, {At: at(28), Value: 75}}},
			{Framework: FrameworkCISv3, Control: "1.14", Start: ControlStat{Evaluated: 4, Failing: 2}, End: ControlStat{Evaluated: 4, Failing: 1}},
			{Framework: FrameworkCISv3, Control: "1.4", End: ControlStat{Evaluated: 1}},
		},
		KeysPast90:  []Point{{At: at(-2), Value: 2}, {At: at(0), Value: 2}, {At: at(14), Value: 1}, {At: at(28), Value: 1}},
		Rotated:     []RotatedKey{{At: at(3), Account: "111122223333", User: "app", OldKey: "AKIAIOSFODNN7EXAMPLE", NewKey: "AKIAI44QH8DHBEXAMPLE", RunID: 8}},
		Deactivated: 1, Deleted: 0,
		Exceptions: []Exception{{Account: "111122223333", User: "vendor", KeyID: "AKIAVENDORVENDORVEN7", Rule: "access-key-age", Match: "user:vendor",
			Reason: "=HYPERLINK(\"x\") <b>vendor</b> | ticket\x1b[31m SEC-42, not AKIAIOSFODNN7EXAMPLE", Expires: at(200)},
			{Account: "111122223333", User: "ci", Rule: "console-mfa", Match: "tag:keyrot:exempt", Reason: "no console"}},
		New:      []FindingRef{{ID: "a", Rule: "access-key-age", Severity: "high", Account: "111122223333", User: "pair", KeyID: "AKIAPAIRPAIRPAIRPAI6", Title: "=cmd|' /C calc'!A0"}},
		Resolved: []FindingRef{{ID: "b", Rule: "access-key-multiple-active", Severity: "medium", Account: "111122223333", User: "batch", Title: "Two keys"}},
	}
}

func TestComplianceGolden(t *testing.T) {
	for _, format := range ComplianceFormats() {
		t.Run(format, func(t *testing.T) {
			r, err := ComplianceForFormat(format)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := r.RenderCompliance(&buf, fixtureCompliance()); err != nil {
				t.Fatal(err)
			}
			got := buf.String()
			path := filepath.Join("testdata", "golden", "compliance-"+format+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", format, path, d)
			}
			if format != "csv" && strings.Contains(got, "AKIAIOSFODNN7EXAMPLE") {
				t.Errorf("%s shows a whole key ID", format)
			}
			bad := []string{"\x1b", "<b>vendor"}
			if format == "csv" {
				bad = []string{",=", "\n="} // a formula cell; the CSV keeps text as written otherwise
			}
			for _, bad := range bad {
				if strings.Contains(got, bad) {
					t.Errorf("%s holds %q", format, bad)
				}
			}
		})
	}
	if _, err := ComplianceForFormat("sarif"); err == nil || !strings.Contains(err.Error(), "want one of html, markdown, csv") {
		t.Errorf("ComplianceForFormat(sarif): %v", err)
	}
}
