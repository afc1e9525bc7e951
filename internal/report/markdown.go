package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/keyrot/keyrot/internal/inventory"
)

// Markdown renders a summary and tables (GitHub-flavoured Markdown), key IDs
// masked and every user-supplied string escaped.
type Markdown struct{}

// mdEscaper backslash-escapes the punctuation that Markdown (and the HTML
// it lets through) would interpret, including the table's pipes.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `&`, `\&`, `~`, `\~`, `#`, `\#`, `!`, `\!`,
)

// md prepares free text for a Markdown table cell.
func md(s string) string { return mdEscaper.Replace(human(s)) }

// Render writes the Markdown document.
func (Markdown) Render(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	res := r.result()
	s := r.summary()
	fmt.Fprintln(bw, "# keyrot audit report")
	fmt.Fprintln(bw)
	var meta []string
	if !res.GeneratedAt.IsZero() {
		meta = append(meta, "Generated "+rfc3339(res.GeneratedAt))
	}
	if r.ToolVersion != "" {
		meta = append(meta, "keyrot "+md(r.ToolVersion))
	}
	if len(meta) > 0 {
		fmt.Fprintln(bw, strings.Join(meta, " by ")+".")
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "- **Findings:** %d (%d exempt): %s\n", s.Total, s.Exempt, s.severityCounts())
	fmt.Fprintf(bw, "- **Accounts:** %d audited, %d failed, %d skipped\n", s.Audited, s.Failed, s.Skipped)
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "## Accounts")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Account | Name | Status | Credential report age | Findings | Reason |")
	fmt.Fprintln(bw, "| --- | --- | --- | --- | ---: | --- |")
	perAccount := map[string]int{}
	for _, f := range res.Findings {
		if !f.Exempt {
			perAccount[f.AccountID]++
		}
	}
	for _, a := range r.accounts() {
		n := fmt.Sprint(perAccount[a.ID])
		if a.Status != inventory.AccountAudited {
			n = "n/a"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s |\n", md(a.ID), md(a.Name), md(string(a.Status)), r.reportAge(a), n, md(a.Reason))
	}
	fmt.Fprintln(bw)

	if cs := r.controlStats(); len(cs) > 0 {
		fmt.Fprintln(bw, "## Compliance by control")
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "| Framework | Control | Title | Evaluated | Failing | Compliant |")
		fmt.Fprintln(bw, "| --- | --- | --- | ---: | ---: | ---: |")
		for _, c := range cs {
			fmt.Fprintf(bw, "| %s | %s | %s | %d | %d | %.1f%% |\n", md(frameworkTitle(c.Framework)), md(c.Control), md(controlTitle(c.Framework, c.Control)),
				c.Evaluated, c.Failing, c.Percent())
		}
		fmt.Fprintln(bw)
	}

	fmt.Fprintln(bw, "## Findings")
	fmt.Fprintln(bw)
	fs := r.findings()
	if len(fs) == 0 {
		fmt.Fprintln(bw, "No findings.")
		return bw.Flush()
	}
	fmt.Fprintln(bw, "| Severity | Account | Rule | User | Key | Evidence | Exempt |")
	fmt.Fprintln(bw, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, f := range fs {
		exempt := ""
		if f.Exempt {
			exempt = "yes"
			if f.Exemption != nil {
				exempt += " (" + md(f.Exemption.Match) + ": " + md(f.Exemption.Reason) + ")"
			}
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s |\n",
			f.Severity, md(accountLabel(f.AccountID, f.AccountName)), md(f.Rule), md(f.User), md(maskedKey(f.KeyID)), md(evidenceText(f.Evidence)), exempt)
	}
	return bw.Flush()
}
