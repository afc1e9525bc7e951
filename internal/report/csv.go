package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the CSV format's columns, in order. Columns are only ever
// appended.
var CSVHeader = []string{
	"account_id", "account_name", "severity", "rule", "title", "user", "key_id",
	"age_days", "days_since_use", "last_used", "threshold_days",
	"exempt", "exemption_match", "exemption_reason",
	"cis_v3", "cis_v5", "security_hub", "detail", "remediation", "finding_id",
}

// CSV renders one row per finding (RFC 4180: a header, records ending in
// CRLF, quotes doubled; line breaks inside a quoted cell stay as written). Key IDs are
// whole. A cell that a spreadsheet would run as a formula (one starting with
// = + - @, a tab or a carriage return) is prefixed with a single quote.
type CSV struct{}

// Render writes the CSV.
func (CSV) Render(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180: records end in CRLF
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	itoa := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	for _, f := range r.findings() {
		e := f.Evidence
		lastUsed, threshold, match, reason := "", "", "", ""
		if e.LastUsed != nil {
			lastUsed = rfc3339(*e.LastUsed)
		}
		if e.ThresholdDays > 0 {
			threshold = strconv.Itoa(e.ThresholdDays)
		}
		if f.Exemption != nil {
			match, reason = f.Exemption.Match, f.Exemption.Reason
		}
		row := []string{
			f.AccountID, f.AccountName, f.Severity.String(), f.Rule, f.Title, f.User, f.KeyID,
			itoa(e.AgeDays), itoa(e.DaysSinceUse), lastUsed, threshold,
			strconv.FormatBool(f.Exempt), match, reason,
			strings.Join(f.Controls.CISv3, ";"), strings.Join(f.Controls.CISv5, ";"), strings.Join(f.Controls.SecurityHub, ";"),
			e.Detail, f.Remediation, f.ID,
		}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses CSV formula injection.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
