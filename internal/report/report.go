// Package report renders an audit result for people and machines: a terminal
// table, JSON (documented in docs/json-output.md), CSV, Markdown, a
// self-contained HTML page, SARIF 2.1.0 and the AWS Security Finding Format
// for Security Hub. Renderers only read; they never reach AWS.
//
// Access key IDs are masked (inventory.MaskKeyID) in every format meant for
// people (table, markdown, html, sarif) and left whole in the formats meant
// for machines (json, csv, asff). No secret is part of the types rendered.
package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

// RootUser is the name the credential report, and so a finding, gives the root user.
const RootUser = audit.RootUser

// Report is one audit result plus facts about the run that produced it.
type Report struct {
	// Result is the audit outcome; its Snapshot may be nil, in which case the
	// accounts are taken from the findings and no statistics are drawn.
	Result *audit.Result
	// ToolVersion is keyrot's version, e.g. "v1.2.3" or "dev".
	ToolVersion string
	// StartedAt and FinishedAt bound the run; zero when unknown.
	StartedAt  time.Time
	FinishedAt time.Time
	// Accounts overrides the account list derived from Result.Snapshot when
	// not nil (for runs whose failed accounts never reached the snapshot).
	Accounts []AccountRun
}

// AccountRun is what became of one account in the run.
type AccountRun struct {
	ID     string
	Name   string
	Status inventory.AccountStatus
	// Reason explains a skip or a failure.
	Reason string
	// ReportGeneratedAt is the credential report's generation time; zero if none was used.
	ReportGeneratedAt time.Time
}

// Options tune rendering.
type Options struct {
	// NoColor turns off ANSI colours in the table format.
	NoColor bool
	// Region is the Security Hub region written into ASFF ProductArn; default us-east-1.
	Region string
	// Partition is the AWS partition for ARNs; default "aws".
	Partition string
}

// Renderer writes a report in one format.
type Renderer interface {
	Render(w io.Writer, r *Report) error
}

// Formats lists the format names ForFormat accepts, in a stable order.
func Formats() []string {
	return []string{"table", "json", "csv", "markdown", "html", "sarif", "asff"}
}

// ForFormat returns the renderer for a format name (case-insensitive; "md"
// is an alias of "markdown").
func ForFormat(name string, opts Options) (Renderer, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Partition == "" {
		opts.Partition = "aws"
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "table":
		return Table{NoColor: opts.NoColor}, nil
	case "json":
		return JSON{}, nil
	case "csv":
		return CSV{}, nil
	case "markdown", "md":
		return Markdown{}, nil
	case "html":
		return HTML{}, nil
	case "sarif":
		return SARIF{}, nil
	case "asff":
		return ASFF{Region: opts.Region, Partition: opts.Partition}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", name, strings.Join(Formats(), ", "))
}

// result returns the report's result, never nil.
func (r *Report) result() *audit.Result {
	if r == nil || r.Result == nil {
		return &audit.Result{}
	}
	return r.Result
}

// now is the reference time for ages: when the result was generated.
func (r *Report) now() time.Time {
	res := r.result()
	if !res.GeneratedAt.IsZero() {
		return res.GeneratedAt
	}
	if res.Snapshot != nil {
		return res.Snapshot.CollectedAt
	}
	return r.FinishedAt
}

// accounts returns every account of the run sorted by ID: the override if
// set, else the snapshot's accounts, plus any account that only findings name.
func (r *Report) accounts() []AccountRun {
	res := r.result()
	var out []AccountRun
	seen := map[string]bool{}
	switch {
	case r.Accounts != nil:
		out = append(out, r.Accounts...)
	case res.Snapshot != nil:
		for _, a := range res.Snapshot.Accounts {
			out = append(out, AccountRun{ID: a.ID, Name: a.Name, Status: a.Status, Reason: a.Reason, ReportGeneratedAt: a.ReportGeneratedAt})
		}
	}
	for _, a := range out {
		seen[a.ID] = true
	}
	for _, f := range res.Findings {
		if !seen[f.AccountID] {
			seen[f.AccountID] = true
			out = append(out, AccountRun{ID: f.AccountID, Name: f.AccountName, Status: inventory.AccountAudited})
		}
	}
	slices.SortStableFunc(out, func(a, b AccountRun) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// findings returns the findings in the order every format uses: by account,
// then worst severity first, then rule, user, key and ID. They point into
// the result: an organization's findings are not copied to be rendered.
func (r *Report) findings() []*audit.Finding {
	all := r.result().Findings
	fs := make([]*audit.Finding, len(all))
	for i := range all {
		fs[i] = &all[i]
	}
	slices.SortStableFunc(fs, compareFindings)
	return fs
}

func compareFindings(a, b *audit.Finding) int {
	return cmp.Or(
		cmp.Compare(a.AccountID, b.AccountID),
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.User, b.User),
		cmp.Compare(a.KeyID, b.KeyID),
		cmp.Compare(a.ID, b.ID),
	)
}

// summary counts findings and accounts.
type summary struct {
	Total      int
	Exempt     int
	BySeverity [audit.SeverityCritical + 1]int // non-exempt only
	Audited    int
	Failed     int
	Skipped    int
}

func (r *Report) summary() summary {
	var s summary
	for _, f := range r.result().Findings {
		s.Total++
		if f.Exempt {
			s.Exempt++
			continue
		}
		if f.Severity >= 0 && int(f.Severity) < len(s.BySeverity) {
			s.BySeverity[f.Severity]++
		}
	}
	for _, a := range r.accounts() {
		switch a.Status {
		case inventory.AccountFailed:
			s.Failed++
		case inventory.AccountSkipped:
			s.Skipped++
		default:
			s.Audited++
		}
	}
	return s
}

// severityCounts renders "1 critical, 2 high, ..." worst first.
// countOf writes n with the singular or plural noun: "1 finding", "2 findings".
func countOf(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (s summary) severityCounts() string {
	var parts []string
	for sev := audit.SeverityCritical; sev >= audit.SeverityInfo; sev-- {
		parts = append(parts, fmt.Sprintf("%d %s", s.BySeverity[sev], sev))
	}
	return strings.Join(parts, ", ")
}

// evidenceText summarises a finding's evidence in a few words, without key IDs.
func evidenceText(e audit.Evidence) string {
	var parts []string
	if e.AgeDays != nil {
		parts = append(parts, fmt.Sprintf("age %dd", *e.AgeDays))
	}
	switch {
	case e.DaysSinceUse != nil && e.LastUsed == nil:
		parts = append(parts, "never used")
	case e.DaysSinceUse != nil:
		parts = append(parts, fmt.Sprintf("last used %dd ago", *e.DaysSinceUse))
	}
	if e.ThresholdDays > 0 {
		parts = append(parts, fmt.Sprintf("limit %dd", e.ThresholdDays))
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, ", ")
}

// maskedKey masks a key ID for human output; empty stays empty.
func maskedKey(id string) string {
	if id == "" {
		return ""
	}
	return inventory.MaskKeyID(id)
}

// maskKeysIn masks every string in s that has the shape of an access key ID
// (4 upper-case letters then 16 upper-case letters or digits), so free text
// such as Detail or Remediation cannot carry a whole key ID into human output.
func maskKeysIn(s string) string {
	if len(s) < 20 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := keyIDAt(s, i); n > 0 {
			b.WriteString(inventory.MaskKeyID(s[i : i+n]))
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// keyIDAt returns the length of an access-key-ID-shaped run starting at i, or 0.
func keyIDAt(s string, i int) int {
	if i+4 > len(s) || !(s[i] == 'A' && (s[i+1] == 'K' || s[i+1] == 'S') && s[i+2] == 'I' && s[i+3] == 'A') {
		return 0
	}
	j := i + 4
	for j < len(s) && isKeyChar(s[j]) {
		j++
	}
	if n := j - i; n >= 16 && n <= 128 {
		return n
	}
	return 0
}

func isKeyChar(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// human prepares free text for human formats: key IDs masked, control
// characters (terminal escapes, newlines) replaced by spaces.
func human(s string) string {
	s = maskKeysIn(s)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}

// accountLabel is "123456789012 (name)" or just the ID.
func accountLabel(id, name string) string {
	if name == "" {
		return id
	}
	return id + " (" + name + ")"
}

// ageString renders a duration coarsely: 45m, 5h, 3d.
func ageString(d time.Duration) string {
	switch {
	case d < 0:
		return "0m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// reportAge is the credential report's age at the reference time, or "".
func (r *Report) reportAge(a AccountRun) string {
	if a.ReportGeneratedAt.IsZero() {
		return ""
	}
	return ageString(r.now().Sub(a.ReportGeneratedAt))
}

// rfc3339 formats t in UTC, or "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// findingResource is the ARN of the account resource a finding is about (an
// ACM certificate, a secret, an IAM server certificate); empty for
// findings about users, keys and accounts.
func findingResource(f *audit.Finding) string { return f.Extra["resource"] }
