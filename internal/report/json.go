package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
)

// SchemaVersion is the version of the JSON document JSON writes. Fields are
// only ever added; a change that removes or redefines a field would raise it.
const SchemaVersion = 1

// JSON renders the machine-readable document described in docs/json-output.md.
// Key IDs are whole: machines need them to act.
type JSON struct{}

type jsonDoc struct {
	SchemaVersion       int           `json:"schema_version"`
	Tool                jsonTool      `json:"tool"`
	GeneratedAt         string        `json:"generated_at"`
	StartedAt           string        `json:"started_at,omitempty"`
	FinishedAt          string        `json:"finished_at,omitempty"`
	OrganizationID      string        `json:"organization_id,omitempty"`
	ManagementAccountID string        `json:"management_account_id,omitempty"`
	Summary             jsonSummary   `json:"summary"`
	Accounts            []jsonAccount `json:"accounts"`
	Controls            []jsonControl `json:"controls"`
	Findings            []jsonFinding `json:"findings"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	Findings        int            `json:"findings"`
	Exempt          int            `json:"exempt"`
	BySeverity      map[string]int `json:"by_severity"`
	AccountsAudited int            `json:"accounts_audited"`
	AccountsFailed  int            `json:"accounts_failed"`
	AccountsSkipped int            `json:"accounts_skipped"`
}

type jsonAccount struct {
	ID                          string       `json:"id"`
	Name                        string       `json:"name,omitempty"`
	Status                      string       `json:"status"`
	Reason                      string       `json:"reason,omitempty"`
	CredentialReportGeneratedAt string       `json:"credential_report_generated_at,omitempty"`
	CredentialReportAgeSeconds  *int64       `json:"credential_report_age_seconds,omitempty"`
	Findings                    int          `json:"findings"`
	KeyAge                      []jsonBucket `json:"key_age,omitempty"`
}

type jsonBucket struct {
	Label   string `json:"label"`
	MinDays int    `json:"min_days"`
	MaxDays *int   `json:"max_days"`
	Count   int    `json:"count"`
}

type jsonControl struct {
	Framework         string  `json:"framework"`
	Control           string  `json:"control"`
	Evaluated         int     `json:"evaluated"`
	Failing           int     `json:"failing"`
	CompliancePercent float64 `json:"compliance_percent"`
}

type jsonFinding struct {
	ID          string            `json:"id"`
	Rule        string            `json:"rule"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	AccountID   string            `json:"account_id"`
	AccountName string            `json:"account_name,omitempty"`
	User        string            `json:"user,omitempty"`
	KeyID       string            `json:"key_id,omitempty"`
	Evidence    jsonEvidence      `json:"evidence"`
	Controls    jsonControls      `json:"controls"`
	Exempt      bool              `json:"exempt"`
	Exemption   *jsonExemption    `json:"exemption,omitempty"`
	Remediation string            `json:"remediation,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
}

type jsonEvidence struct {
	CreateDate      string `json:"create_date,omitempty"`
	AgeDays         *int   `json:"age_days,omitempty"`
	LastUsed        string `json:"last_used,omitempty"`
	LastUsedService string `json:"last_used_service,omitempty"`
	LastUsedRegion  string `json:"last_used_region,omitempty"`
	DaysSinceUse    *int   `json:"days_since_use,omitempty"`
	ThresholdDays   int    `json:"threshold_days,omitempty"`
	Detail          string `json:"detail,omitempty"`
}

type jsonControls struct {
	CISv3       []string `json:"cis_v3"`
	CISv5       []string `json:"cis_v5"`
	SecurityHub []string `json:"security_hub"`
}

type jsonExemption struct {
	Match   string `json:"match"`
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
}

// Render writes the document, indented, with a trailing newline. The
// findings, the bulk of an organization's document, are encoded one by
// one as they are written, so the document is never held in memory twice
// over (json.Encoder builds its whole output, then an indented copy).
//
// Each finding is converted for the document as it is written: an
// organization's findings exist once, in the result.
func (JSON) Render(w io.Writer, r *Report) error {
	doc := r.jsonHead()
	findings := r.findings()
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	// Findings is the document's last member: its output ends so.
	const tail = "[]\n}\n"
	b := head.Bytes()
	if len(findings) == 0 || !bytes.HasSuffix(b, []byte(tail)) {
		if len(findings) > 0 {
			for _, f := range findings {
				doc.Findings = append(doc.Findings, toJSONFinding(f))
			}
			head.Reset()
			if err := enc.Encode(doc); err != nil {
				return err
			}
		}
		_, err := w.Write(head.Bytes())
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(b[:len(b)-len(tail)])
	bw.WriteString("[\n")
	var one bytes.Buffer
	fenc := json.NewEncoder(&one)
	fenc.SetIndent("    ", "  ")
	fenc.SetEscapeHTML(false)
	for i, f := range findings {
		one.Reset()
		if err := fenc.Encode(toJSONFinding(f)); err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("    ")
		bw.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// jsonHead is the document but for its findings.
func (r *Report) jsonHead() jsonDoc {
	res := r.result()
	s := r.summary()
	doc := jsonDoc{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: "keyrot", Version: r.ToolVersion},
		GeneratedAt:   rfc3339(res.GeneratedAt),
		StartedAt:     rfc3339(r.StartedAt),
		FinishedAt:    rfc3339(r.FinishedAt),
		Summary: jsonSummary{
			Findings: s.Total, Exempt: s.Exempt, BySeverity: map[string]int{},
			AccountsAudited: s.Audited, AccountsFailed: s.Failed, AccountsSkipped: s.Skipped,
		},
		Accounts: []jsonAccount{},
		Controls: []jsonControl{},
		Findings: []jsonFinding{},
	}
	if res.Snapshot != nil {
		doc.OrganizationID = res.Snapshot.OrganizationID
		doc.ManagementAccountID = res.Snapshot.ManagementAccountID
	}
	for sev := audit.SeverityInfo; sev <= audit.SeverityCritical; sev++ {
		doc.Summary.BySeverity[sev.String()] = s.BySeverity[sev]
	}
	perAccount := map[string]int{}
	for _, f := range res.Findings {
		if !f.Exempt {
			perAccount[f.AccountID]++
		}
	}
	ages := map[string][]AgeBucket{}
	for _, h := range r.keyAges() {
		ages[h.AccountID] = h.Buckets
	}
	for _, a := range r.accounts() {
		ja := jsonAccount{
			ID: a.ID, Name: a.Name, Status: string(a.Status), Reason: a.Reason,
			CredentialReportGeneratedAt: rfc3339(a.ReportGeneratedAt),
			Findings:                    perAccount[a.ID],
		}
		if !a.ReportGeneratedAt.IsZero() {
			secs := int64(max(r.now().Sub(a.ReportGeneratedAt), 0) / time.Second)
			ja.CredentialReportAgeSeconds = &secs
		}
		for _, b := range ages[a.ID] {
			jb := jsonBucket{Label: b.Label, MinDays: b.MinDays, Count: b.Count}
			if b.MaxDays >= 0 {
				m := b.MaxDays
				jb.MaxDays = &m
			}
			ja.KeyAge = append(ja.KeyAge, jb)
		}
		doc.Accounts = append(doc.Accounts, ja)
	}
	for _, c := range r.controlStats() {
		doc.Controls = append(doc.Controls, jsonControl{
			Framework: c.Framework, Control: c.Control, Evaluated: c.Evaluated, Failing: c.Failing, CompliancePercent: c.Percent(),
		})
	}
	return doc
}

func toJSONFinding(f *audit.Finding) jsonFinding {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	jf := jsonFinding{
		ID: f.ID, Rule: f.Rule, Title: f.Title, Severity: f.Severity.String(),
		AccountID: f.AccountID, AccountName: f.AccountName, User: f.User, KeyID: f.KeyID,
		Evidence: jsonEvidence{
			AgeDays: f.Evidence.AgeDays, LastUsedService: f.Evidence.LastUsedService, LastUsedRegion: f.Evidence.LastUsedRegion,
			DaysSinceUse: f.Evidence.DaysSinceUse, ThresholdDays: f.Evidence.ThresholdDays, Detail: f.Evidence.Detail,
		},
		Controls:    jsonControls{CISv3: nonNil(f.Controls.CISv3), CISv5: nonNil(f.Controls.CISv5), SecurityHub: nonNil(f.Controls.SecurityHub)},
		Exempt:      f.Exempt,
		Remediation: f.Remediation,
		Extra:       f.Extra,
	}
	if f.Evidence.CreateDate != nil {
		jf.Evidence.CreateDate = rfc3339(*f.Evidence.CreateDate)
	}
	if f.Evidence.LastUsed != nil {
		jf.Evidence.LastUsed = rfc3339(*f.Evidence.LastUsed)
	}
	if f.Exemption != nil {
		jf.Exemption = &jsonExemption{Match: f.Exemption.Match, Reason: f.Exemption.Reason, Expires: rfc3339(f.Exemption.Expires)}
	}
	return jf
}
