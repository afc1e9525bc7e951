package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/browsertest"
)

// fitProbe titles a copy of the report "fits" when nothing is wider than
// the window, else names what overflows.
var fitProbe = browsertest.Probe{Measure: "table, td, th, figure", Cut: "td, th"}

// TestHTMLFitsLaptopAndPrint renders the report in headless Chromium: at
// 1280 px wide nothing is cut or off-screen (the findings table used to
// push Exempt and Remediation out of a 1400 px window), the print
// stylesheet fits a landscape A4 page (277 mm, 1047 px), and the PDF is
// made. KEYROT_REPORT_ARTIFACTS=DIR keeps the screenshot and the PDF.
func TestHTMLFitsLaptopAndPrint(t *testing.T) {
	bin := browsertest.Chromium(t)
	html := render(t, "html", Options{}, fixtureReport())
	dir := browsertest.ArtifactDir(t, "KEYROT_REPORT_ARTIFACTS")
	screen := browsertest.WriteFile(t, dir, "report.html", html)
	probe := browsertest.WriteFile(t, dir, "report-fit.html", fitProbe.Into(html))
	// The print stylesheet, applied on screen at the printable width.
	printCSS := strings.NewReplacer("@media print", "@media all", "@media screen and", "@media not all and").Replace(html)
	printProbe := browsertest.WriteFile(t, dir, "report-print-fit.html", fitProbe.Into(printCSS))

	for _, tt := range []struct {
		name, url, size string
	}{{"screen 1280", probe, "1280,900"}, {"print A4 landscape", printProbe, "1047,740"}} {
		dom := browsertest.Run(t, bin, "--window-size="+tt.size, "--dump-dom", tt.url)
		if title := browsertest.Title(dom); title != "fits" {
			t.Errorf("%s: %q", tt.name, title)
		}
	}
	browsertest.Run(t, bin, "--window-size=1280,2400", "--screenshot="+filepath.Join(dir, "report-1280.png"), screen)
	browsertest.Run(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+filepath.Join(dir, "report.pdf"), screen)
	for _, f := range []string{"report-1280.png", "report.pdf"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.pdf")); !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Error("report.pdf is not a PDF")
	}
}
