package report

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
)

// Compliance is the periodic (monthly) compliance report: compliance per
// control over the period, the keys rotated in it, the exceptions in force
// and what changed since the report before it. It is built from the
// history of audits and the actions journal (app.ComplianceReport).
type Compliance struct {
	// From and To bound the period: [From, To).
	From, To time.Time
	// ToolVersion is keyrot's version.
	ToolVersion string
	// Audits is how many audits were recorded in the period.
	Audits int
	// Latest is the last audit of the period (zero RunID when none);
	// Baseline the one the changes are counted from: the last audit before
	// the period, else the first of the period.
	Latest, Baseline AuditRef
	// Controls is compliance per control at the baseline and at the end.
	Controls []ControlTrend
	// KeysPast90 is the active keys older than 90 days, per audit.
	KeysPast90 []Point
	// Rotated are the keys replaced in the period (create-key actions that
	// succeeded); Deactivated and Deleted count the old keys retired.
	Rotated     []RotatedKey
	Deactivated int
	Deleted     int
	// Exceptions are the exempt findings of the latest audit.
	Exceptions []Exception
	// New are the findings of the latest audit the baseline did not have;
	// Resolved those of the baseline the latest audit no longer has.
	New, Resolved []FindingRef
}

// AuditRef names one audit run.
type AuditRef struct {
	RunID       int64
	GeneratedAt time.Time
}

// Point is one value of a series at a time.
type Point struct {
	At    time.Time
	Value float64
}

// ControlTrend is one control's compliance over the period.
type ControlTrend struct {
	Framework string
	Control   string
	// Start and End are the control at the baseline and the latest audit
	// (Evaluated 0 when the audit did not evaluate it).
	Start, End ControlStat
	// Series is the percentage compliant at each audit of the period.
	Series []Point
}

// RotatedKey is one key replaced by keyrot.
type RotatedKey struct {
	At      time.Time
	Account string
	User    string
	OldKey  string
	NewKey  string
	RunID   int64
}

// Exception is an exempt finding with its exemption.
type Exception struct {
	Account, User, KeyID, Rule string
	Match, Reason              string
	// Expires is zero when the exemption does not expire.
	Expires time.Time
}

// FindingRef is a finding named in a comparison.
type FindingRef struct {
	ID, Rule, Severity, Account, User, KeyID, Title string
}

// FrameworkTitle is a framework's name for people ("cis_v3" is "CIS AWS
// Foundations Benchmark v3.0.0").
func FrameworkTitle(fw string) string { return frameworkTitle(fw) }

// ControlTitle is a control's title, empty when keyrot does not know it.
func ControlTitle(fw, control string) string { return controlTitle(fw, control) }

// Human prepares free text for people: key IDs masked, control characters
// replaced by spaces.
func Human(s string) string { return human(s) }

// ComplianceFormats lists the formats of the compliance report.
func ComplianceFormats() []string { return []string{"html", "markdown", "csv"} }

// ComplianceRenderer writes a compliance report in one format.
type ComplianceRenderer interface {
	RenderCompliance(w io.Writer, c *Compliance) error
}

// ComplianceForFormat returns the renderer for a format name
// (case-insensitive; "md" is an alias of "markdown").
func ComplianceForFormat(name string) (ComplianceRenderer, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "html":
		return HTML{}, nil
	case "markdown", "md":
		return Markdown{}, nil
	case "csv":
		return CSV{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", name, strings.Join(ComplianceFormats(), ", "))
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// minute formats t in UTC to the minute (RFC 3339), or "" for the zero
// time: the report's times are those of runs, which take seconds.
func minute(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Minute).Format(time.RFC3339)
}

func pct(c ControlStat) string {
	if c.Evaluated == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", c.Percent())
}

func (c *Compliance) sorted() *Compliance {
	cc := *c
	cc.Controls = slices.Clone(c.Controls)
	slices.SortStableFunc(cc.Controls, func(a, b ControlTrend) int {
		return cmp.Or(cmp.Compare(frameworkOrder[a.Framework], frameworkOrder[b.Framework]), audit.CompareControls(a.Control, b.Control))
	})
	return &cc
}

func (c *Compliance) keysPast90At(ref AuditRef) string {
	for _, p := range c.KeysPast90 {
		if p.At.Equal(ref.GeneratedAt) {
			return strconv.Itoa(int(p.Value))
		}
	}
	return "n/a"
}

// rotatedLine is "1 key rotated, 2 old keys deactivated, 0 deleted".
func (c *Compliance) rotatedLine() string {
	return fmt.Sprintf("%s rotated, %s deactivated, %d deleted", countOf(len(c.Rotated), "key", "keys"), countOf(c.Deactivated, "old key", "old keys"), c.Deleted)
}

// RenderCompliance writes the report as Markdown.
func (Markdown) RenderCompliance(w io.Writer, c *Compliance) error {
	c = c.sorted()
	var b strings.Builder
	cell := md
	fmt.Fprintf(&b, "# keyrot compliance report, %s to %s\n\n", day(c.From), day(c.To))
	fmt.Fprintf(&b, "%d audits in the period", c.Audits)
	if c.Latest.RunID != 0 {
		fmt.Fprintf(&b, "; the latest, run %d, on %s", c.Latest.RunID, minute(c.Latest.GeneratedAt))
	}
	if c.Baseline.RunID != 0 {
		fmt.Fprintf(&b, "; changes are counted from run %d (%s)", c.Baseline.RunID, minute(c.Baseline.GeneratedAt))
	}
	b.WriteString(".\n\n")
	b.WriteString("## Compliance by control\n\n")
	if len(c.Controls) == 0 {
		b.WriteString("No audit in the period.\n\n")
	} else {
		b.WriteString("| Framework | Control | Title | At the start | At the end | Failing at the end |\n|---|---|---|---:|---:|---:|\n")
		for _, t := range c.Controls {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", cell(frameworkTitle(t.Framework)), cell(t.Control), cell(controlTitle(t.Framework, t.Control)),
				pct(t.Start), pct(t.End), t.End.Failing)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Active keys older than 90 days: %s at the start, %s at the end.\n\n", c.keysPast90At(c.Baseline), c.keysPast90At(c.Latest))
	fmt.Fprintf(&b, "## Keys rotated\n\n%s.\n\n", c.rotatedLine())
	if len(c.Rotated) > 0 {
		b.WriteString("| When | Account | User | Old key | New key | Run |\n|---|---|---|---|---|---:|\n")
		for _, r := range c.Rotated {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", day(r.At), cell(r.Account), cell(r.User), maskedKey(r.OldKey), maskedKey(r.NewKey), r.RunID)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Exceptions\n\n")
	if len(c.Exceptions) == 0 {
		b.WriteString("None.\n\n")
	} else {
		b.WriteString("| Account | User | Key | Rule | Exemption | Reason | Expires |\n|---|---|---|---|---|---|---|\n")
		for _, e := range c.Exceptions {
			exp := day(e.Expires)
			if exp == "" {
				exp = "never"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(e.Account), cell(e.User), maskedKey(e.KeyID), cell(e.Rule), cell(e.Match), cell(e.Reason), exp)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Changes\n\n")
	for _, l := range []struct {
		title string
		fs    []FindingRef
	}{{"New findings", c.New}, {"Resolved findings", c.Resolved}} {
		fmt.Fprintf(&b, "### %s (%d)\n\n", l.title, len(l.fs))
		if len(l.fs) == 0 {
			b.WriteString("None.\n\n")
			continue
		}
		b.WriteString("| Severity | Account | User | Key | Rule | Title |\n|---|---|---|---|---|---|\n")
		for _, f := range l.fs {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(f.Severity), cell(f.Account), cell(f.User), maskedKey(f.KeyID), cell(f.Rule), cell(f.Title))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ComplianceCSVHeader is the compliance CSV's columns, in order: one row
// per fact, its kind in "section". Columns are only ever appended.
var ComplianceCSVHeader = []string{
	"section", "framework", "control", "account_id", "user", "key_id", "rule", "severity",
	"start", "end", "date", "detail", "run_id",
}

// RenderCompliance writes the report as CSV (RFC 4180, CRLF), key IDs whole,
// times in RFC 3339 to the minute.
// Sections: period, control, keys_past_90, rotated, exception,
// new_finding, resolved_finding.
func (CSV) RenderCompliance(w io.Writer, c *Compliance) error {
	c = c.sorted()
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	rows := [][]string{ComplianceCSVHeader}
	row := func(vals ...string) {
		r := make([]string, len(ComplianceCSVHeader))
		copy(r, vals)
		for i := range r {
			r[i] = csvSafe(r[i])
		}
		rows = append(rows, r)
	}
	num := func(c ControlStat) string {
		if c.Evaluated == 0 {
			return ""
		}
		return strconv.FormatFloat(c.Percent(), 'f', 1, 64)
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	row("period", "", "", "", "", "", "", "", minute(c.From), minute(c.To), minute(c.Latest.GeneratedAt), fmt.Sprintf("%d audits", c.Audits), id(c.Latest.RunID))
	for _, t := range c.Controls {
		row("control", t.Framework, t.Control, "", "", "", "", "", num(t.Start), num(t.End), "", fmt.Sprintf("%d of %d failing", t.End.Failing, t.End.Evaluated))
	}
	for _, p := range c.KeysPast90 {
		row("keys_past_90", "", "", "", "", "", "", "", "", strconv.Itoa(int(p.Value)), minute(p.At))
	}
	for _, r := range c.Rotated {
		row("rotated", "", "", r.Account, r.User, r.OldKey, "", "", "", "", minute(r.At), "new key "+r.NewKey, id(r.RunID))
	}
	for _, e := range c.Exceptions {
		row("exception", "", "", e.Account, e.User, e.KeyID, e.Rule, "", "", "", minute(e.Expires), e.Match+": "+e.Reason)
	}
	for _, l := range []struct {
		section string
		fs      []FindingRef
	}{{"new_finding", c.New}, {"resolved_finding", c.Resolved}} {
		for _, f := range l.fs {
			row(l.section, "", "", f.Account, f.User, f.KeyID, f.Rule, f.Severity, "", "", "", f.Title)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// RenderCompliance writes the report as one self-contained HTML page:
// inline CSS and SVG, no script, printable. Key IDs are masked.
func (HTML) RenderCompliance(w io.Writer, c *Compliance) error {
	c = c.sorted()
	type ctl struct {
		Framework, Control, Title, Start, End string
		Failing                               int
	}
	type finding struct{ Severity, SeverityClass, Account, User, Key, Rule, Title string }
	type exception struct{ Account, User, Key, Rule, Match, Reason, Expires string }
	type rotated struct {
		When, Account, User, Old, New string
		Run                           int64
	}
	page := struct {
		From, To, Version, Latest, Baseline string
		LatestRun, BaselineRun              int64
		Audits                              int
		Controls                            []ctl
		Charts                              []LineChart
		KeysStart, KeysEnd                  string
		Rotated                             []rotated
		RotatedLine                         string
		Exceptions                          []exception
		New, Resolved                       []finding
	}{From: day(c.From), To: day(c.To), Version: human(c.ToolVersion), Latest: minute(c.Latest.GeneratedAt), LatestRun: c.Latest.RunID,
		Baseline: minute(c.Baseline.GeneratedAt), BaselineRun: c.Baseline.RunID, Audits: c.Audits,
		KeysStart: c.keysPast90At(c.Baseline), KeysEnd: c.keysPast90At(c.Latest), RotatedLine: c.rotatedLine()}
	var series []Series
	for _, t := range c.Controls {
		page.Controls = append(page.Controls, ctl{Framework: frameworkTitle(t.Framework), Control: human(t.Control), Title: controlTitle(t.Framework, t.Control),
			Start: pct(t.Start), End: pct(t.End), Failing: t.End.Failing})
		if t.Framework == FrameworkSecurityHub {
			series = append(series, Series{Name: human(t.Control), Points: t.Series})
		}
	}
	if len(series) > 0 {
		page.Charts = append(page.Charts, NewLineChart("Compliance per Security Hub control (% compliant)", series, 0, 100, "%"))
	}
	if len(c.KeysPast90) > 0 {
		page.Charts = append(page.Charts, NewLineChart("Active keys older than 90 days", []Series{{Name: "keys", Points: c.KeysPast90}}, 0, 0, ""))
	}
	for _, r := range c.Rotated {
		page.Rotated = append(page.Rotated, rotated{When: day(r.At), Account: human(r.Account), User: human(r.User), Old: maskedKey(r.OldKey), New: maskedKey(r.NewKey), Run: r.RunID})
	}
	for _, e := range c.Exceptions {
		exp := day(e.Expires)
		if exp == "" {
			exp = "never"
		}
		page.Exceptions = append(page.Exceptions, exception{Account: human(e.Account), User: human(e.User), Key: maskedKey(e.KeyID), Rule: human(e.Rule),
			Match: human(e.Match), Reason: human(e.Reason), Expires: exp})
	}
	conv := func(fs []FindingRef) []finding {
		var out []finding
		for _, f := range fs {
			out = append(out, finding{Severity: f.Severity, SeverityClass: "sev-" + f.Severity, Account: human(f.Account), User: human(f.User),
				Key: maskedKey(f.KeyID), Rule: human(f.Rule), Title: human(f.Title)})
		}
		return out
	}
	page.New, page.Resolved = conv(c.New), conv(c.Resolved)
	return complianceTemplate.Execute(w, page)
}

// PageCSS is the stylesheet shared by keyrot's HTML pages (the compliance
// report and the status page): readable on a laptop, printable on A4.
const PageCSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #ffffff; margin: 2rem; line-height: 1.45; }
h1, h2, h3 { color: #0b2545; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #e8edf3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.sev { font-weight: 600; padding: 0.1rem 0.4rem; border-radius: 3px; }
.sev-critical { background: #7f1d1d; color: #ffffff; }
.sev-high { background: #fde2e2; color: #7f1d1d; }
.sev-medium { background: #fff3c4; color: #5c4400; }
.sev-low { background: #e0f2fe; color: #0c4a6e; }
.sev-info { background: #f1f1f1; color: #333333; }
.status-failed, .status-interrupted, .blocked { color: #7f1d1d; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; max-width: 100%; }
figcaption { font-weight: 600; margin-bottom: 0.25rem; }
svg { max-width: 100%; height: auto; }
svg text { font-size: 12px; fill: #1a1a1a; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { margin: 0; font-size: 8.5pt; line-height: 1.3; }
  h1 { font-size: 16pt; } h2 { font-size: 12pt; break-after: avoid; }
  table { width: 100%; }
  thead { display: table-header-group; }
  tr, figure { break-inside: avoid; }
  th, td { padding: 0.15rem 0.3rem; }
  .sev, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav, .noprint { display: none; }
}
`

// PageCSSHTML is PageCSS for html/template.
func PageCSSHTML() template.CSS { return template.CSS(PageCSS) }

var complianceTemplate = template.Must(template.New("compliance").Funcs(template.FuncMap{"css": PageCSSHTML, "list": func(v ...any) []any { return v }}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyrot compliance report {{.From}} to {{.To}}</title>
<style>{{css}}</style>
</head>
<body>
<header>
<h1>keyrot compliance report</h1>
<p>Period {{.From}} to {{.To}}{{if .Version}}, keyrot {{.Version}}{{end}}. {{.Audits}} audits in the period{{if .LatestRun}}; the latest, run {{.LatestRun}}, on {{.Latest}}{{end}}{{if .BaselineRun}}; changes are counted from run {{.BaselineRun}} ({{.Baseline}}){{end}}.</p>
</header>
<main>
<section aria-labelledby="compliance">
<h2 id="compliance">Compliance by control</h2>
{{if .Controls}}<table>
<caption>Share of credentials compliant per control</caption>
<thead><tr><th scope="col">Framework</th><th scope="col">Control</th><th scope="col">Title</th><th scope="col">At the start</th><th scope="col">At the end</th><th scope="col">Failing at the end</th></tr></thead>
<tbody>
{{range .Controls}}<tr><td>{{.Framework}}</td><td class="nowrap">{{.Control}}</td><td>{{.Title}}</td><td class="num">{{.Start}}</td><td class="num">{{.End}}</td><td class="num">{{.Failing}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No audit in the period.</p>
{{end}}<p>Active keys older than 90 days: {{.KeysStart}} at the start, {{.KeysEnd}} at the end.</p>
<div class="charts">
{{range .Charts}}{{template "linechart" .}}{{end}}
</div>
</section>
<section aria-labelledby="rotated">
<h2 id="rotated">Keys rotated</h2>
<p>{{.RotatedLine}}.</p>
{{if .Rotated}}<table>
<caption>Keys replaced in the period</caption>
<thead><tr><th scope="col">When</th><th scope="col">Account</th><th scope="col">User</th><th scope="col">Old key</th><th scope="col">New key</th><th scope="col">Run</th></tr></thead>
<tbody>
{{range .Rotated}}<tr><td class="nowrap">{{.When}}</td><td>{{.Account}}</td><td>{{.User}}</td><td class="nowrap">{{.Old}}</td><td class="nowrap">{{.New}}</td><td class="num">{{.Run}}</td></tr>
{{end}}</tbody>
</table>
{{end}}</section>
<section aria-labelledby="exceptions">
<h2 id="exceptions">Exceptions</h2>
{{if .Exceptions}}<table>
<caption>Exempt findings of the latest audit</caption>
<thead><tr><th scope="col">Account</th><th scope="col">User</th><th scope="col">Key</th><th scope="col">Rule</th><th scope="col">Exemption</th><th scope="col">Reason</th><th scope="col">Expires</th></tr></thead>
<tbody>
{{range .Exceptions}}<tr><td>{{.Account}}</td><td>{{.User}}</td><td class="nowrap">{{.Key}}</td><td>{{.Rule}}</td><td>{{.Match}}</td><td>{{.Reason}}</td><td class="nowrap">{{.Expires}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>None.</p>
{{end}}</section>
<section aria-labelledby="changes">
<h2 id="changes">Changes</h2>
{{template "findings" (list "New findings" .New)}}
{{template "findings" (list "Resolved findings" .Resolved)}}
</section>
</main>
</body>
</html>
{{define "findings"}}<h3>{{index . 0}} ({{len (index . 1)}})</h3>
{{if index . 1}}<table>
<thead><tr><th scope="col">Severity</th><th scope="col">Account</th><th scope="col">User</th><th scope="col">Key</th><th scope="col">Rule</th><th scope="col">Title</th></tr></thead>
<tbody>
{{range index . 1}}<tr><td><span class="sev {{.SeverityClass}}">{{.Severity}}</span></td><td>{{.Account}}</td><td>{{.User}}</td><td class="nowrap">{{.Key}}</td><td>{{.Rule}}</td><td>{{.Title}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>None.</p>
{{end}}{{end}}
` + LineChartTemplate))
