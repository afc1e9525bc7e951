package report

import (
	"fmt"
	"html/template"
	"io"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

// HTML renders one self-contained page for auditors: inline CSS, inline SVG
// charts, no scripts and no external resources. Key IDs are masked.
type HTML struct{}

type htmlPage struct {
	GeneratedAt string
	ToolVersion string
	StartedAt   string
	FinishedAt  string
	Summary     summary
	SevCounts   []htmlSevCount
	Accounts    []htmlAccount
	Problem     []htmlAccount // failed and skipped
	Controls    []htmlControl
	Charts      []htmlChart
	Findings    []htmlFinding
}

type htmlSevCount struct {
	Name  string
	Count int
}

type htmlAccount struct {
	ID, Name, Status, Reason, ReportAge string
	Findings                            string
}

type htmlControl struct {
	Framework, Control string
	// Title is the control's title, when keyrot knows it.
	Title              string
	Evaluated, Failing int
	Percent            string
	BarWidth           int // 0..100
}

type htmlChart struct {
	Title     string
	AriaLabel string
	Width     int
	Height    int
	BaseY     int
	Bars      []htmlBar
}

type htmlBar struct {
	X, Y, W, H    int
	TextX, CountY int
	LabelY        int
	Label         string
	Count         int
}

type htmlFinding struct {
	Severity, SeverityClass, Account, Rule, Title, User, Key, Evidence, Exempt, Remediation string
}

// Render writes the page.
func (HTML) Render(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, r.htmlPage())
}

func (r *Report) htmlPage() htmlPage {
	res := r.result()
	p := htmlPage{
		GeneratedAt: rfc3339(res.GeneratedAt),
		ToolVersion: human(r.ToolVersion),
		StartedAt:   rfc3339(r.StartedAt),
		FinishedAt:  rfc3339(r.FinishedAt),
		Summary:     r.summary(),
	}
	for sev := audit.SeverityCritical; sev >= audit.SeverityInfo; sev-- {
		p.SevCounts = append(p.SevCounts, htmlSevCount{Name: sev.String(), Count: p.Summary.BySeverity[sev]})
	}
	perAccount := map[string]int{}
	for _, f := range res.Findings {
		if !f.Exempt {
			perAccount[f.AccountID]++
		}
	}
	for _, a := range r.accounts() {
		ha := htmlAccount{ID: a.ID, Name: human(a.Name), Status: string(a.Status), Reason: human(a.Reason), ReportAge: r.reportAge(a), Findings: "n/a"}
		if a.Status == inventory.AccountAudited {
			ha.Findings = fmt.Sprint(perAccount[a.ID])
		} else {
			p.Problem = append(p.Problem, ha)
		}
		p.Accounts = append(p.Accounts, ha)
	}
	for _, c := range r.controlStats() {
		pct := c.Percent()
		p.Controls = append(p.Controls, htmlControl{
			Framework: frameworkTitle(c.Framework), Control: human(c.Control), Title: controlTitle(c.Framework, c.Control),
			Evaluated: c.Evaluated, Failing: c.Failing,
			Percent: fmt.Sprintf("%.1f%%", pct), BarWidth: int(pct + 0.5),
		})
	}
	for _, h := range r.keyAges() {
		p.Charts = append(p.Charts, keyAgeChart(h))
	}
	for _, f := range r.findings() {
		hf := htmlFinding{
			Severity: f.Severity.String(), SeverityClass: "sev-" + f.Severity.String(),
			Account: human(accountLabel(f.AccountID, f.AccountName)), Rule: human(f.Rule), Title: human(f.Title),
			User: human(f.User), Key: maskedKey(f.KeyID), Evidence: human(evidenceText(f.Evidence)), Remediation: human(f.Remediation),
		}
		if f.Exempt {
			hf.Exempt = "yes"
			if f.Exemption != nil {
				hf.Exempt += " (" + human(f.Exemption.Match) + ": " + human(f.Exemption.Reason) + ")"
			}
		}
		p.Findings = append(p.Findings, hf)
	}
	return p
}

// keyAgeChart lays out a bar chart of one account's key ages.
func keyAgeChart(h AccountKeyAges) htmlChart {
	const (
		barW, gap, left, top, plotH = 56, 16, 16, 24, 140
	)
	c := htmlChart{
		Title:  "Access key age, account " + human(accountLabel(h.AccountID, h.AccountName)),
		Width:  left*2 + len(h.Buckets)*(barW+gap) - gap,
		Height: top + plotH + 40,
		BaseY:  top + plotH,
	}
	maxCount := 1
	for _, b := range h.Buckets {
		maxCount = max(maxCount, b.Count)
	}
	label := fmt.Sprintf("%d access keys by age in days:", h.Keys)
	for i, b := range h.Buckets {
		bh := b.Count * plotH / maxCount
		x := left + i*(barW+gap)
		c.Bars = append(c.Bars, htmlBar{
			X: x, Y: top + plotH - bh, W: barW, H: bh, TextX: x + barW/2,
			CountY: top + plotH - bh - 6, LabelY: top + plotH + 18, Label: b.Label, Count: b.Count,
		})
		sep := ","
		if i == len(h.Buckets)-1 {
			sep = "."
		}
		label += fmt.Sprintf(" %s: %d%s", b.Label, b.Count, sep)
	}
	c.AriaLabel = label
	return c
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyrot audit report{{with .GeneratedAt}} {{.}}{{end}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #ffffff; margin: 2rem; line-height: 1.45; }
h1, h2, h3 { color: #0b2545; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #e8edf3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.sev { font-weight: 600; padding: 0.1rem 0.4rem; border-radius: 3px; }
.sev-critical { background: #7f1d1d; color: #ffffff; }
.sev-high { background: #fde2e2; color: #7f1d1d; }
.sev-medium { background: #fff3c4; color: #5c4400; }
.sev-low { background: #e0f2fe; color: #0c4a6e; }
.sev-info { background: #f1f1f1; color: #333333; }
.meter { display: inline-block; width: 100px; height: 0.8rem; background: #e5e5e5; border: 1px solid #6b6b6b; vertical-align: middle; margin-right: 0.4rem; }
.meter span { display: block; height: 100%; background: #1d6b3a; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 0.25rem; }
svg text { font-size: 12px; fill: #1a1a1a; }
ul.summary { list-style: none; padding: 0; }
/* Fit a laptop window: the findings table takes the page's width, its
   columns wrap (evidence and remediation most), nothing is cut off. */
main { max-width: 100%; }
table { max-width: 100%; }
td { overflow-wrap: break-word; }
table.findings { width: 100%; table-layout: fixed; font-size: 0.92em; }
table.findings td.rule { overflow-wrap: anywhere; }
col.c-sev { width: 6.5em; } col.c-account { width: 9em; } col.c-rule { width: 11%; }
col.c-title { width: 12%; } col.c-user { width: 12%; } col.c-key { width: 7em; }
col.c-evidence { width: 22%; } col.c-exempt { width: 8%; } col.c-remediation { width: 23%; }
@media screen and (max-width: 900px) {
  body { margin: 0.75rem; }
  table.findings, table.findings thead, table.findings tbody, table.findings tr, table.findings td { display: block; width: auto; }
  table.findings thead, table.findings colgroup { display: none; }
  table.findings tr { border: 1px solid #8a8a8a; margin-bottom: 0.75rem; }
  table.findings td { border: none; border-bottom: 1px solid #e0e0e0; }
}
/* Print (and PDF): landscape A4, the whole width used, rows not split,
   headers repeated on each page, severity colours kept. */
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { margin: 0; font-size: 8.5pt; line-height: 1.3; }
  h1 { font-size: 16pt; } h2 { font-size: 12pt; break-after: avoid; }
  table { width: 100%; }
  thead { display: table-header-group; }
  tr, figure { break-inside: avoid; }
  th, td { padding: 0.15rem 0.3rem; }
  .sev, .meter span, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  table.findings { font-size: 1em; }
  col.c-sev { width: 5.5em; } col.c-account { width: 10em; } col.c-key { width: 7em; }
}
</style>
</head>
<body>
<header>
<h1>keyrot audit report</h1>
<p>{{if .GeneratedAt}}Generated {{.GeneratedAt}}{{end}}{{if .ToolVersion}} by keyrot {{.ToolVersion}}{{end}}.{{if .StartedAt}} Run started {{.StartedAt}}{{end}}{{if .FinishedAt}}, finished {{.FinishedAt}}{{end}}{{if .StartedAt}}.{{end}}</p>
</header>
<main>
<section aria-labelledby="summary">
<h2 id="summary">Summary</h2>
<ul class="summary">
<li><strong>{{.Summary.Total}}</strong> {{if eq .Summary.Total 1}}finding{{else}}findings{{end}}, of which {{.Summary.Exempt}} exempt.</li>
<li>Open findings by severity:{{range $i, $s := .SevCounts}}{{if $i}},{{end}} <span class="sev sev-{{$s.Name}}">{{$s.Name}}</span> {{$s.Count}}{{end}}.</li>
<li>Accounts: {{.Summary.Audited}} audited, {{.Summary.Failed}} failed, {{.Summary.Skipped}} skipped.</li>
</ul>
</section>
<section aria-labelledby="accounts">
<h2 id="accounts">Accounts</h2>
<table>
<caption>Accounts in this run</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Credential report age</th><th scope="col">Open findings</th></tr></thead>
<tbody>
{{range .Accounts}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.ReportAge}}</td><td class="num">{{.Findings}}</td></tr>
{{end}}</tbody>
</table>
{{if .Problem}}<h3>Accounts not audited</h3>
<table>
<caption>Failed and skipped accounts with their reasons</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead>
<tbody>
{{range .Problem}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{end}}</section>
<section aria-labelledby="compliance">
<h2 id="compliance">Compliance by control</h2>
{{if .Controls}}<p>A credential passes a control when it has no finding for that control, or only exempt ones.</p>
<table>
<caption>Credentials evaluated and failing per control</caption>
<thead><tr><th scope="col">Framework</th><th scope="col">Control</th><th scope="col">Title</th><th scope="col">Evaluated</th><th scope="col">Failing</th><th scope="col">Compliant</th></tr></thead>
<tbody>
{{range .Controls}}<tr><td>{{.Framework}}</td><td class="nowrap">{{.Control}}</td><td>{{.Title}}</td><td class="num">{{.Evaluated}}</td><td class="num">{{.Failing}}</td><td class="nowrap"><span class="meter" aria-hidden="true"><span style="width: {{.BarWidth}}%"></span></span>{{.Percent}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No finding names a control.</p>
{{end}}</section>
<section aria-labelledby="key-ages">
<h2 id="key-ages">Access key age</h2>
<div class="charts">
{{range .Charts}}<figure>
<figcaption>{{.Title}}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.AriaLabel}}">
<title>{{.AriaLabel}}</title>
<line x1="0" y1="{{.BaseY}}" x2="{{.Width}}" y2="{{.BaseY}}" stroke="#4a4a4a" stroke-width="1"/>
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="#1f4e79"/>
<text x="{{.TextX}}" y="{{.CountY}}" text-anchor="middle">{{.Count}}</text>
<text x="{{.TextX}}" y="{{.LabelY}}" text-anchor="middle">{{.Label}}</text>
{{end}}</svg>
</figure>
{{else}}<p>No audited account with an inventory.</p>
{{end}}</div>
</section>
<section aria-labelledby="findings">
<h2 id="findings">Findings</h2>
{{if .Findings}}<table class="findings">
<caption>Findings, worst first within each account (access key IDs masked)</caption>
<colgroup><col class="c-sev"><col class="c-account"><col class="c-rule"><col class="c-title"><col class="c-user"><col class="c-key"><col class="c-evidence"><col class="c-exempt"><col class="c-remediation"></colgroup>
<thead><tr><th scope="col">Severity</th><th scope="col">Account</th><th scope="col">Rule</th><th scope="col">Title</th><th scope="col">User</th><th scope="col">Key</th><th scope="col">Evidence</th><th scope="col">Exempt</th><th scope="col">Remediation</th></tr></thead>
<tbody>
{{range .Findings}}<tr><td><span class="sev {{.SeverityClass}}">{{.Severity}}</span></td><td>{{.Account}}</td><td class="rule">{{.Rule}}</td><td>{{.Title}}</td><td>{{.User}}</td><td class="nowrap">{{.Key}}</td><td>{{.Evidence}}</td><td>{{.Exempt}}</td><td>{{.Remediation}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No findings.</p>
{{end}}</section>
</main>
</body>
</html>
`))
