package notify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyrot/keyrot/internal/browsertest"
)

// fitProbe titles a copy of a digest "fits" when no block or line of the
// body reaches past the body (45em) or the window, else names what
// overflows. A code in a pre is measured by its pre: pre-wrap lets the
// space at a wrapped line's end hang, invisibly, past the edge.
var fitProbe = browsertest.Probe{
	Measure: "h1, h2, h3, p, pre, code, li, a",
	Skip:    "pre > code",
	Edge:    "Math.min(w, document.body.getBoundingClientRect().right)",
	Cut:     "pre",
}

// TestOwnerEmailFitsLaptopAndPrint renders an owner's digest with every kind
// of notice in headless Chromium: at 1280 and 900 px wide, and at the
// printable width of an A4 page (190 mm, 718 px), no heading, paragraph or
// command reaches past the body or the window (the fetch command, one
// 190-character line, overflowed at 900 px); the PDF is made.
// KEYROT_NOTIFY_ARTIFACTS=DIR keeps the screenshots and the PDF.
func TestOwnerEmailFitsLaptopAndPrint(t *testing.T) {
	bin := browsertest.Chromium(t)
	items := fixtureItems()
	reminder := fixtureItem(t, "bob")
	reminder.State, reminder.ReminderOf, reminder.DaysLeft = StateReminder, StateDeactivated, 1
	items = append(items, reminder)
	html := renderOwner(t, false, "security@example.com", items...).HTML
	dir := browsertest.ArtifactDir(t, "KEYROT_NOTIFY_ARTIFACTS")
	screen := browsertest.WriteFile(t, dir, "owner-digest.html", html)
	probe := browsertest.WriteFile(t, dir, "owner-digest-fit.html", fitProbe.Into(html))
	for _, tt := range []struct{ name, size string }{
		{"laptop 1280", "1280,900"}, {"narrow 900", "900,900"}, {"print A4 portrait", "718,1000"},
	} {
		dom := browsertest.Run(t, bin, "--window-size="+tt.size, "--dump-dom", probe)
		if title := browsertest.Title(dom); title != "fits" {
			t.Errorf("%s: %q", tt.name, title)
		}
	}
	browsertest.Run(t, bin, "--window-size=1280,1600", "--screenshot="+filepath.Join(dir, "owner-digest-1280.png"), screen)
	browsertest.Run(t, bin, "--window-size=900,2000", "--screenshot="+filepath.Join(dir, "owner-digest-900.png"), screen)
	browsertest.Run(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+filepath.Join(dir, "owner-digest.pdf"), screen)
	for _, f := range []string{"owner-digest-1280.png", "owner-digest-900.png", "owner-digest.pdf"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "owner-digest.pdf")); !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Error("owner-digest.pdf is not a PDF")
	}
}
