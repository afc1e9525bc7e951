package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

// Table renders aligned text for a terminal: findings grouped by account,
// worst first, key IDs masked, severities coloured unless NoColor.
type Table struct {
	NoColor bool
}

var severityColor = map[audit.Severity]string{
	audit.SeverityCritical: "\x1b[1;31m",
	audit.SeverityHigh:     "\x1b[31m",
	audit.SeverityMedium:   "\x1b[33m",
	audit.SeverityLow:      "\x1b[36m",
	audit.SeverityInfo:     "\x1b[2m",
}

const colorReset = "\x1b[0m"

// Render writes the table.
func (t Table) Render(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	res := r.result()
	header := "keyrot audit"
	if !res.GeneratedAt.IsZero() {
		header += ", generated " + rfc3339(res.GeneratedAt)
	}
	if r.ToolVersion != "" {
		header += " (keyrot " + human(r.ToolVersion) + ")"
	}
	fmt.Fprintln(bw, header)

	byAccount := map[string][]*audit.Finding{}
	for _, f := range r.findings() {
		byAccount[f.AccountID] = append(byAccount[f.AccountID], f)
	}
	var failed, skipped []AccountRun
	for _, a := range r.accounts() {
		switch a.Status {
		case inventory.AccountFailed:
			failed = append(failed, a)
			continue
		case inventory.AccountSkipped:
			skipped = append(skipped, a)
			continue
		}
		fmt.Fprintln(bw)
		line := "Account " + human(accountLabel(a.ID, a.Name))
		if age := r.reportAge(a); age != "" {
			line += ", credential report " + age + " old"
		}
		fs := byAccount[a.ID]
		if len(fs) == 0 {
			fmt.Fprintln(bw, line+": no findings")
			continue
		}
		fmt.Fprintln(bw, line)
		rows := [][]string{{"SEVERITY", "RULE", "USER", "KEY", "EVIDENCE", "EXEMPT"}}
		sevs := []audit.Severity{-1}
		for _, f := range fs {
			exempt := ""
			if f.Exempt {
				exempt = "exempt"
			}
			rows = append(rows, []string{f.Severity.String(), human(f.Rule), human(f.User), maskedKey(f.KeyID), human(evidenceText(f.Evidence)), exempt})
			sevs = append(sevs, f.Severity)
		}
		t.writeRows(bw, rows, sevs)
	}

	s := r.summary()
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "Summary: %s (%d exempt): %s; accounts: %d audited, %d failed, %d skipped\n",
		countOf(s.Total, "finding", "findings"), s.Exempt, s.severityCounts(), s.Audited, s.Failed, s.Skipped)
	for _, g := range []struct {
		title string
		list  []AccountRun
	}{{"Failed accounts", failed}, {"Skipped accounts", skipped}} {
		if len(g.list) == 0 {
			continue
		}
		fmt.Fprintln(bw, g.title+":")
		for _, a := range g.list {
			reason := a.Reason
			if reason == "" {
				reason = "no reason recorded"
			}
			fmt.Fprintf(bw, "  %s: %s\n", human(accountLabel(a.ID, a.Name)), human(reason))
		}
	}
	return bw.Flush()
}

// writeRows pads cells to column width (counted in runes) and colours the
// severity cell after padding so escapes do not upset the alignment.
func (t Table) writeRows(w io.Writer, rows [][]string, sevs []audit.Severity) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for ri, row := range rows {
		var b strings.Builder
		for i, c := range row {
			cell := c
			if i < len(row)-1 {
				cell += strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2)
			}
			if i == 0 && !t.NoColor && sevs[ri] >= 0 {
				if col, ok := severityColor[sevs[ri]]; ok {
					cell = col + c + colorReset + cell[len(c):]
				}
			}
			b.WriteString(cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
