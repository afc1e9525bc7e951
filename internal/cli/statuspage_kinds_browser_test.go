package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/browsertest"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/report"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/statuspage"
)

// TestDemoEveryKindInReportsAndStatusPage audits the demo organization through the
// CLI (its history kept). The audit's stored report, rendered in every
// output format, names a finding of each kind besides access keys. The
// status page served from that history, opened in headless Chromium,
// shows in its table of credentials and findings by kind, visibly and
// within a 1280 px window, the demo's service-specific credentials,
// Bedrock API keys, signing certificates, SSH keys, password policy,
// server and ACM certificates, secrets and trust anchors, with their counts.
func TestDemoEveryKindInReportsAndStatusPage(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	stateDir := t.TempDir()
	policyFile := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(policyFile, []byte("ssh_keys:\n  collect: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none", "--state-dir", stateDir, "--clock", "sandbox", "-c", policyFile); code != ExitPartial {
		t.Fatalf("audit: exit %d\n%s", code, stderr)
	}
	ctx := context.Background()
	h, err := history.Open(ctx, filepath.Join(stateDir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	now := env.Server.Clock().Now()
	a := &app.App{History: h, Policy: policy.Default(), Now: func() time.Time { return now }}
	st, err := a.Status(ctx, app.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := a.AuditOfRun(ctx, st.Latest.RunID)
	if err != nil {
		t.Fatal(err)
	}
	rep := &report.Report{Result: stored.Result, ToolVersion: stored.Version, StartedAt: stored.Started, FinishedAt: stored.Finished}
	rules := []string{"service-credential-age", "bedrock-api-key-no-expiry", "signing-certificate-age", "ssh-key-age", "password-policy-weak",
		"server-certificate-expired", "certificate-expiring", "secret-rotation-failed", "trust-anchor-expiring", "trust-anchor-disabled-expired"}
	for _, format := range report.Formats() {
		rd, err := report.ForFormat(format, report.Options{NoColor: true, Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := rd.Render(&buf, rep); err != nil {
			t.Fatalf("render %s: %v", format, err)
		}
		for _, r := range rules {
			if !strings.Contains(buf.String(), r) {
				t.Errorf("the demo audit in %s does not name %s", format, r)
			}
		}
	}

	bin := browsertest.Chromium(t)
	srv := httptest.NewServer(statuspage.Handler(a, statuspage.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)

	kinds := []struct{ kind, row string }{
		{"service-specific-credential", "Service-specific credentials"},
		{"bedrock-api-key", "Bedrock long-term API keys"},
		{"signing-certificate", "X.509 signing certificates"},
		{"ssh-public-key", "SSH public keys"},
		{"password-policy", "Account password policy"},
		{"server-certificate", "IAM server certificates 1 1 1 0"},
		{"acm-certificate", "ACM certificates"},
		{"secret", "Secrets Manager secrets"},
		{"roles-anywhere-trust-anchor", "IAM Roles Anywhere trust anchors 2 2 0 0"},
	}
	probe := browsertest.Probe{Measure: "table, td, th, li"}
	text := visibleText(page)
	for _, k := range kinds {
		probe.Visible = append(probe.Visible, browsertest.Visible{Selector: `tr[data-kind="` + k.kind + `"]`, What: k.kind})
		if !strings.Contains(text, k.row) {
			t.Errorf("the kinds table lacks %q:\n%s", k.row, text)
		}
	}
	dir := browsertest.ArtifactDir(t, "KEYROT_STATUSPAGE_ARTIFACTS")
	f := browsertest.WriteFile(t, dir, "status-kinds-fit.html", probe.Into(page))
	if title := browsertest.Title(browsertest.Run(t, bin, "--window-size=1280,900", "--dump-dom", f)); title != "fits" {
		t.Errorf("status page at 1280 px: %q", title)
	}
}
