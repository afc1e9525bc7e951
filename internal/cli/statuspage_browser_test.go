package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/browsertest"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/statuspage"
)

// statusProbe titles a copy of the status page "fits" when nothing is
// wider than the window and the facts the test asserts are visible, else
// names the problems.
var statusProbe = browsertest.Probe{
	Measure: "table, td, th, figure, svg, li",
	Visible: []browsertest.Visible{
		{Selector: "tr.blocked-item", What: "blocked rotation"},
		{Selector: "table.runs tbody tr", What: "recent runs"},
		{Selector: "section[aria-labelledby=trends] svg polyline", What: "trend chart"},
		{Selector: "section[aria-labelledby=deadlines] table", What: "upcoming deadlines"},
	},
}

// checkStatusPage serves the status page of the history of e (60
// simulated days of audits and applies on the sandbox clock, the sandbox's
// clock at now) over HTTP and opens it in headless Chromium: the runs are
// listed with their outcomes, pair's blocked rotation and batch's upcoming
// deactivation are shown, the report link of the latest audit opens that
// run's full report, nothing overflows a 1280 px laptop window or a
// landscape A4 page (the print stylesheet), and no secret is on either
// page. Screenshots and a PDF are written to KEYROT_STATUSPAGE_ARTIFACTS=DIR
// when set (else a temporary directory).
func checkStatusPage(t *testing.T, e *rotationEnv, now time.Time) {
	bin := browsertest.Chromium(t)
	ctx := context.Background()
	h, err := history.Open(ctx, filepath.Join(e.stateDir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	host, _ := os.Hostname()
	a := &app.App{History: h, Policy: policy.Default(), Host: host, Now: func() time.Time { return now }}
	srv := httptest.NewServer(statuspage.Handler(a, statuspage.Options{}))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, page := get("/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", code, page)
	}
	if code, body := get("/runs/999999"); code != http.StatusNotFound || !strings.Contains(body, "kept no audit report") {
		t.Errorf("GET /runs/999999: %d %s", code, body)
	}
	if code, _ := get("/runs/abc"); code != http.StatusBadRequest {
		t.Errorf("GET /runs/abc: %d", code)
	}

	dir := browsertest.ArtifactDir(t, "KEYROT_STATUSPAGE_ARTIFACTS")

	dom := page
	if title := browsertest.Title([]byte(dom)); title != "keyrot status" {
		t.Fatalf("title %q", title)
	}
	text := visibleText(dom)
	for _, want := range []string{
		"Latest audit", "Run 119, 2026-04-30 09:00 UTC",
		// pair's two keys in use: blocked until a person deactivates one.
		"111122223333 pair AKIA…PAI5 blocked two active keys, both in use", "deactivate one by hand",
		// batch's key was rotated on day 50; its old key is deactivated on day 60.
		"2026-05-01 deactivate-key 111122223333 batch AKIA…TCH3",
		// Runs with their outcomes.
		"120 2026-04-30 09:00 apply enforce succeeded", "119 2026-04-30 09:00 audit audit-only succeeded",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	if n := strings.Count(dom, `<tr><td class="num">`); n != 20 {
		t.Errorf("%d runs listed, want the 20 most recent", n)
	}

	// The report link of the latest audit opens that run's full report.
	m := regexp.MustCompile(`<a href="(runs/\d+)">full report</a>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatal("no link to the latest audit's report")
	}
	rep := browsertest.Run(t, bin, "--window-size=1280,900", "--dump-dom", srv.URL+"/"+m[1])
	if title := browsertest.Title(rep); !strings.HasPrefix(title, "keyrot audit report 2026-04-30T09:00") {
		t.Errorf("the report link opened %q", title)
	}
	if !bytes.Contains(rep, []byte("pair")) || !bytes.Contains(rep, []byte("Compliance by control")) {
		t.Error("the run's report lacks its findings or compliance")
	}

	// Layout: a laptop window, and the print stylesheet at A4 landscape;
	// the probe also checks that the facts asserted above are visible.
	probe := browsertest.WriteFile(t, dir, "status-fit.html", statusProbe.Into(page))
	printCSS := strings.NewReplacer("@media print", "@media all").Replace(page)
	printProbe := browsertest.WriteFile(t, dir, "status-print-fit.html", statusProbe.Into(printCSS))
	for _, tt := range []struct{ name, url, size string }{{"screen 1280", probe, "1280,900"}, {"print A4 landscape", printProbe, "1047,740"}} {
		if title := browsertest.Title(browsertest.Run(t, bin, "--window-size="+tt.size, "--dump-dom", tt.url)); title != "fits" {
			t.Errorf("%s: %q", tt.name, title)
		}
	}
	browsertest.Run(t, bin, "--window-size=1280,3000", "--screenshot="+filepath.Join(dir, "status-1280.png"), srv.URL+"/")
	browsertest.Run(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+filepath.Join(dir, "status.pdf"), srv.URL+"/")
	for _, f := range []string{"status-1280.png", "status.pdf"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "status.pdf")); !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Error("status.pdf is not a PDF")
	}
	assertNoSecrets(t, e, "the status page and the run's report", page+string(rep))
}

var tags = regexp.MustCompile(`<[^>]*>`)

// visibleText is a DOM's text with tags removed and white space collapsed.
func visibleText(dom string) string {
	if i := strings.Index(dom, "<body"); i >= 0 {
		dom = dom[i:]
	}
	return strings.Join(strings.Fields(tags.ReplaceAllString(strings.NewReplacer("&amp;", "&", "&#39;", "'").Replace(dom), " ")), " ")
}
