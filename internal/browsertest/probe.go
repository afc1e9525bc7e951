package browsertest

import (
	"encoding/json"
	"strings"
)

// Probe is a layout check run in the page: a script that titles the page
// "fits" when the page is no wider than the window, no element that
// Measure selects reaches past Edge, none that Cut selects has its
// content cut off, and every Visible element is shown; else it titles the
// page "overflow: " and the first five problems.
type Probe struct {
	// Measure selects the elements whose right edge is checked.
	Measure string
	// Skip selects, among them, elements not checked (a code in a pre is
	// measured by its pre).
	Skip string
	// Edge is a JavaScript expression for the right edge no element may
	// pass, evaluated once with w the window's width; "" is w.
	Edge string
	// Cut selects, among the measured elements, those whose content must
	// not be wider than their box.
	Cut string
	// Visible lists elements that must be in the page with a size and not
	// hidden.
	Visible []Visible
}

// Visible is an element a Probe requires to be shown: the first match of
// Selector, named What in the problem.
type Visible struct{ Selector, What string }

// Script returns the probe as a <script> element.
func (p Probe) Script() string {
	edge := p.Edge
	if edge == "" {
		edge = "w"
	}
	var b strings.Builder
	b.WriteString("<script>\n(function () {\n")
	b.WriteString("  var w = document.documentElement.clientWidth, bad = [];\n")
	b.WriteString("  var edge = " + edge + ";\n")
	b.WriteString(`  if (document.documentElement.scrollWidth > w) bad.push("page " + document.documentElement.scrollWidth + " > " + w);` + "\n")
	b.WriteString("  document.querySelectorAll(" + jsString(p.Measure) + ").forEach(function (e) {\n")
	if p.Skip != "" {
		b.WriteString("    if (e.matches(" + jsString(p.Skip) + ")) return;\n")
	}
	b.WriteString("    var r = e.getBoundingClientRect();\n")
	b.WriteString(`    if (r.right > edge + 1) bad.push(e.tagName + " to " + Math.round(r.right) + ": " + e.textContent.slice(0, 30));` + "\n")
	if p.Cut != "" {
		b.WriteString("    if (e.matches(" + jsString(p.Cut) + `) && e.scrollWidth > e.clientWidth + 1) bad.push(e.tagName + " cut: " + e.textContent.slice(0, 30));` + "\n")
	}
	b.WriteString("  });\n")
	for _, v := range p.Visible {
		b.WriteString("  (function () {\n")
		b.WriteString("    var e = document.querySelector(" + jsString(v.Selector) + "), r = e && e.getBoundingClientRect();\n")
		b.WriteString(`    if (!e || r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === "hidden") bad.push(` + jsString(v.What+" not visible") + ");\n")
		b.WriteString("  })();\n")
	}
	b.WriteString(`  document.title = bad.length ? "overflow: " + bad.slice(0, 5).join("; ") : "fits";` + "\n")
	b.WriteString("})();\n</script>")
	return b.String()
}

// Into returns page with the probe added at the end of its body.
func (p Probe) Into(page string) string {
	return strings.Replace(page, "</body>", p.Script()+"</body>", 1)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
