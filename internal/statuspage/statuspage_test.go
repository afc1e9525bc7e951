package statuspage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/report"
)

const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYz9FAKEKEY1"

var now = time.Date(2026, 4, 30, 9, 0, 0, 0, time.UTC)

// fakeSource is a Source with fixed data, some of it hostile.
type fakeSource struct {
	status  *app.Status
	reports map[int64]*app.StoredAudit
	err     error
}

func (f *fakeSource) Status(context.Context, app.StatusRequest) (*app.Status, error) {
	return f.status, f.err
}

func (f *fakeSource) AuditOfRun(_ context.Context, id int64) (*app.StoredAudit, error) {
	if a, ok := f.reports[id]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("read audit of run %d: %w", id, history.ErrNotFound)
}

func source() *fakeSource {
	sum := history.AuditSummary{AccountsAudited: 2, Findings: 3, Exempt: 1, BySeverity: map[string]int{"high": 2, "critical": 1}, KeysActive: 9, KeysPast90: 4,
		Controls: []history.ControlCompliance{{Framework: "security_hub", Control: "IAM.3", Evaluated: 9, Failing: 4}},
		ByKind: map[string]history.KindSummary{
			"access-key": {Credentials: 9, Findings: 2, Severe: 2}, "roles-anywhere-trust-anchor": {Credentials: 2, Findings: 1, Exempt: 1},
			"secret": {Credentials: 4}, "ssh-public-key": {}}}
	tr := &app.Trends{Audits: []history.AuditRun{{RunID: 7, GeneratedAt: now.Add(-24 * time.Hour), Summary: sum}, {RunID: 9, GeneratedAt: now, Summary: sum}},
		Controls: []report.ControlTrend{{Framework: "security_hub", Control: "IAM.3", End: report.ControlStat{Evaluated: 9, Failing: 4},
			Series: []report.Point{{At: now.Add(-24 * time.Hour), Value: 50}, {At: now, Value: 55.6}}}},
		KeysPast90: []report.Point{{At: now.Add(-24 * time.Hour), Value: 5}, {At: now, Value: 4}}}
	return &fakeSource{
		status: &app.Status{GeneratedAt: now, Latest: history.AuditRun{RunID: 9, GeneratedAt: now, Summary: sum}, Trends: tr, PlanRun: 10,
			Blocked: []history.PlanItem{{RunID: 10, Item: history.PlanBlocked, Kind: "deactivate-key", Account: "111122223333", User: "pair",
				KeyID: "AKIAPAIRPAIRPAIRPAI5", Reason: `<script>alert(1)</script> deactivate one by hand, not AKIAPAIRPAIRPAIRPAI6`}},
			Upcoming: []history.PlanItem{{RunID: 10, Item: history.PlanUpcoming, Kind: "delete-key", Account: "111122223333", User: "app",
				KeyID: "AKIAAPPAPPAPPAPPAPP2", Due: now.Add(5 * 24 * time.Hour)}},
			Runs: []history.Run{{ID: 10, Command: "apply", Mode: history.ModeEnforce, Status: history.RunFailed, Started: now, Finished: now.Add(3 * time.Second),
				Summary: "1 failed \x1b[31m"}, {ID: 9, Command: "audit", Mode: history.ModeAuditOnly, Status: history.RunSucceeded, Started: now}},
			Reports: map[int64]bool{9: true}},
		reports: map[int64]*app.StoredAudit{9: {Result: &audit.Result{GeneratedAt: now, Findings: []audit.Finding{{ID: "f", Rule: "access-key-age",
			AccountID: "111122223333", User: "app", KeyID: "AKIAAPPAPPAPPAPPAPP2", Title: "Access key not rotated", Severity: audit.SeverityHigh}}}, Version: "v1"}},
	}
}

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStatusPage(t *testing.T) {
	h := Handler(source(), Options{})
	resp, page := get(t, h, http.MethodGet, "/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{
		"<title>keyrot status</title>", "Run 9, 2026-04-30 09:00 UTC", `<a href="runs/9">full report</a>`,
		"<strong>3</strong> open findings", "<strong>1 / 2</strong> critical / high", "<strong>4</strong> of 9 active keys past 90 days",
		"<polyline", "IAM.3", "55.6%", "2026-05-05", "delete-key", "AKIA…APP2",
		"pair", "AKIA…PAI5", "deactivate one by hand, not AKIA…PAI6", // free text: key IDs masked
		`<td class="status-failed">failed</td>`, "3s", `<a href="runs/9">report</a>`,
		// Credentials and findings by kind, in audit.Kinds order; a kind
		// with neither is left out.
		`<tr data-kind="access-key"><td>IAM access keys</td><td class="num">9</td><td class="num">2</td><td class="num blocked">2</td><td class="num">0</td></tr>
<tr data-kind="secret"><td>Secrets Manager secrets</td><td class="num">4</td><td class="num">0</td><td class="num">0</td><td class="num">0</td></tr>
<tr data-kind="roles-anywhere-trust-anchor"><td>IAM Roles Anywhere trust anchors</td><td class="num">2</td><td class="num">1</td><td class="num">0</td><td class="num">1</td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "AKIAPAIRPAIRPAIRPAI6", "AKIAAPPAPPAPPAPPAPP2", "\x1b", `href="http`, `src=`, "<link", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	if strings.Contains(page, `data-kind="ssh-public-key"`) {
		t.Error("a kind without credentials or findings is listed")
	}
	if strings.Count(page, `href="runs/10"`) != 0 {
		t.Error("a run without an audit report is linked")
	}
}

func TestRunReport(t *testing.T) {
	h := Handler(source(), Options{})
	resp, body := get(t, h, http.MethodGet, "/runs/9")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<title>keyrot audit report 2026-04-30T09:00:00Z</title>") ||
		!strings.Contains(body, "AKIA…APP2") || strings.Contains(body, "AKIAAPPAPPAPPAPPAPP2") {
		t.Errorf("GET /runs/9: %d\n%.400s", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		method, path string
		code         int
		want         string
	}{
		{http.MethodGet, "/runs/10", http.StatusNotFound, "run 10 kept no audit report"},
		{http.MethodGet, "/runs/x", http.StatusBadRequest, "a run ID is a positive number"},
		{http.MethodGet, "/runs/-1", http.StatusBadRequest, "positive"},
		{http.MethodGet, "/nothing", http.StatusNotFound, ""},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
	} {
		resp, body := get(t, h, tt.method, tt.path)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, body, tt.code, tt.want)
		}
	}
}

// TestHistoryErrorsAreNotShown: a failing history is a 500 that says to
// look at the log, and the error (which could name paths) is logged only.
func TestHistoryErrorsAreNotShown(t *testing.T) {
	src := source()
	src.err = fmt.Errorf("open /secret/path/history.db: %s", fakeSecret)
	resp, body := get(t, Handler(src, Options{}), http.MethodGet, "/")
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "/secret/path") || strings.Contains(body, fakeSecret) {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

func TestEmptyHistory(t *testing.T) {
	src := &fakeSource{status: &app.Status{GeneratedAt: now, Trends: &app.Trends{}, Reports: map[int64]bool{}}}
	_, page := get(t, Handler(src, Options{}), http.MethodGet, "/")
	for _, want := range []string{"No audit recorded yet", "No audit in the window", "Nothing due in the next 30 days", "No run recorded yet"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	st := source().status
	for i := range 200 {
		st.Runs = append(st.Runs, history.Run{ID: int64(100 + i), Command: "audit", Status: history.RunSucceeded, Started: now, Summary: "2 findings"})
	}
	for range b.N {
		if err := Render(io.Discard, st); err != nil {
			b.Fatal(err)
		}
	}
}
