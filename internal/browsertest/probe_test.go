package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbe runs probes in Chromium: a page that fits is titled "fits";
// a table wider than the window, a cell whose text is cut, a line past the
// edge and a hidden element are each named; a skipped element is not.
func TestProbe(t *testing.T) {
	bin := Chromium(t)
	dir := t.TempDir()
	title := func(p Probe, body string) string {
		t.Helper()
		page := "<!doctype html><html><head><title>t</title></head><body style=\"margin:0\">" + body + "</body></html>"
		f := filepath.Join(dir, "p.html")
		if err := os.WriteFile(f, []byte(p.Into(page)), 0o644); err != nil {
			t.Fatal(err)
		}
		return Title(Run(t, bin, "--window-size=800,600", "--dump-dom", "file://"+f))
	}
	table := Probe{Measure: "table, td", Cut: "td"}
	for _, tt := range []struct {
		name, body string
		p          Probe
		want       string // "fits", or a part of the problem
	}{
		{"fits", `<table><tr><td>a</td></tr></table>`, table, "fits"},
		{"wide table", `<table style="width:2000px"><tr><td>a</td></tr></table>`, table, "page 2000"},
		{"cut cell", `<table style="table-layout:fixed;width:100px"><tr><td style="overflow:hidden;width:50px"><div style="width:300px">long</div></td></tr></table>`, table, "TD cut: long"},
		{"past the edge", `<div style="width:400px"><p style="width:500px">line</p></div>`, Probe{Measure: "p", Edge: "document.querySelector('div').getBoundingClientRect().right"}, "P to 500: line"},
		{"skipped", `<div style="width:400px"><p style="width:500px">line</p></div>`, Probe{Measure: "p", Skip: "div > p", Edge: "400"}, "fits"},
		{"hidden", `<p id="x" style="visibility:hidden">x</p>`, Probe{Measure: "p", Visible: []Visible{{"#x", "x"}}}, "x not visible"},
	} {
		got := title(tt.p, tt.body)
		if tt.want == "fits" && got != "fits" || tt.want != "fits" && (!strings.HasPrefix(got, "overflow: ") || !strings.Contains(got, tt.want)) {
			t.Errorf("%s: title %q, want %q", tt.name, got, tt.want)
		}
	}
}
