package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/policy"
)

// SARIF renders a SARIF 2.1.0 log with one run: a rule per rule ID, with
// the rule's generic title, description and remediation, and a result per
// finding with its specific message, located at a stable inventory path
// (aws/ACCOUNT/iam/USER, line 1: GitHub code scanning requires a physical
// location) and logically at account/user. Exempt findings
// carry an external suppression. Key IDs are masked, and fingerprints are
// hashes so that they do not carry the key ID either.
type SARIF struct{}

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations,omitempty"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name,omitempty"`
	ShortDescription     sarifMessage      `json:"shortDescription"`
	FullDescription      *sarifMessage     `json:"fullDescription,omitempty"`
	Help                 *sarifMessage     `json:"help,omitempty"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProperty `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProperty struct {
	Tags             []string `json:"tags,omitempty"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]string  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

// sarifPhysicalLocation is what GitHub code scanning requires of every
// result: an artifact and a line. keyrot's findings are about IAM
// principals, not files, so the artifact is a stable path naming the
// principal in the organization's inventory: aws/ACCOUNT/iam/USER.
type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// sarifArtifactURI is the stable inventory path of a principal, a relative
// URI: aws/123456789012/iam/alice, aws/123456789012/root, or the account
// itself (aws/123456789012) for a finding about the whole account.
func sarifArtifactURI(account, user, rule string) string {
	if account == "" {
		account = "unknown-account"
	}
	if rule == policy.RuleAccountNotAudited {
		return "aws/" + url.PathEscape(account)
	}
	if user == RootUser || user == "" {
		return "aws/" + url.PathEscape(account) + "/root"
	}
	return "aws/" + url.PathEscape(account) + "/iam/" + url.PathEscape(user)
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s audit.Severity) string {
	switch {
	case s >= audit.SeverityHigh:
		return "error"
	case s == audit.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is the CVSS-like score code-scanning tools sort by.
func securitySeverity(s audit.Severity) string {
	switch s {
	case audit.SeverityCritical:
		return "9.5"
	case audit.SeverityHigh:
		return "8.0"
	case audit.SeverityMedium:
		return "5.5"
	case audit.SeverityLow:
		return "3.0"
	}
	return "0.0"
}

// Render writes the SARIF log.
func (SARIF) Render(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r.sarifLog())
}

func (r *Report) sarifLog() sarifLog {
	fs := r.findings()
	// One rule per rule ID: the worst severity seen, and the rule's generic
	// text (audit.Rule, audit.Doc), never a finding's, which names a user.
	type ruleInfo struct {
		sev                  audit.Severity
		title, remediation   string
		description          string
		cisv3, cisv5, shubID []string
	}
	rules := map[string]*ruleInfo{}
	for _, f := range fs {
		ri := rules[f.Rule]
		if ri == nil {
			ri = &ruleInfo{sev: f.Severity}
			if info, ok := audit.Rule(f.Rule); ok {
				ri.title = info.Title
			}
			doc := audit.Doc(f.Rule)
			ri.description, ri.remediation = doc.Description, doc.Remediation
			rules[f.Rule] = ri
		}
		ri.sev = max(ri.sev, f.Severity)
		if ri.title == "" {
			ri.title = f.Title
		}
		ri.cisv3 = union(ri.cisv3, f.Controls.CISv3)
		ri.cisv5 = union(ri.cisv5, f.Controls.CISv5)
		ri.shubID = union(ri.shubID, f.Controls.SecurityHub)
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	driver := sarifDriver{Name: "keyrot", Version: human(r.ToolVersion), InformationURI: "https://github.com/keyrot/keyrot", Rules: []sarifRule{}}
	index := map[string]int{}
	for i, id := range ids {
		ri := rules[id]
		index[id] = i
		title := human(ri.title)
		if title == "" {
			title = id
		}
		rule := sarifRule{
			ID: id, Name: ruleName(id),
			ShortDescription:     sarifMessage{Text: title},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(ri.sev)},
			Properties:           sarifRuleProperty{Tags: []string{"security", "aws", "iam"}, SecuritySeverity: securitySeverity(ri.sev)},
		}
		var refs []string
		for _, c := range ri.cisv3 {
			refs = append(refs, "CIS AWS Foundations Benchmark v3.0.0 "+c)
		}
		for _, c := range ri.cisv5 {
			refs = append(refs, "CIS AWS Foundations Benchmark v5.0.0 "+c)
		}
		for _, c := range ri.shubID {
			refs = append(refs, "AWS Security Hub "+c)
		}
		full := title + "."
		if ri.description != "" {
			full = ri.description
		}
		if len(refs) > 0 {
			full += " Controls: " + strings.Join(refs, "; ") + "."
			rule.Properties.Tags = append(rule.Properties.Tags, refs...)
		}
		rule.FullDescription = &sarifMessage{Text: human(full)}
		help := human(ri.remediation)
		if help == "" {
			help = title
		}
		rule.Help = &sarifMessage{Text: help}
		driver.Rules = append(driver.Rules, rule)
	}

	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	if !r.StartedAt.IsZero() || !r.FinishedAt.IsZero() {
		run.Invocations = []sarifInvocation{{
			ExecutionSuccessful: r.summary().Failed == 0,
			StartTimeUTC:        rfc3339(r.StartedAt), EndTimeUTC: rfc3339(r.FinishedAt),
		}}
	}
	for _, f := range fs {
		user := f.User
		if user == "" {
			user = RootUser
		}
		msg := f.Title
		if msg == "" {
			msg = f.Rule
		}
		uri := sarifArtifactURI(f.AccountID, f.User, f.Rule)
		if arn := findingResource(f); arn != "" {
			// A finding about an account's resource (a certificate, a secret).
			user = arn
			uri = "aws/" + url.PathEscape(f.AccountID) + "/resource/" + url.PathEscape(arn)
			msg += ": " + arn + " in account " + accountLabel(f.AccountID, f.AccountName)
		} else {
			msg += ": user " + user + " in account " + accountLabel(f.AccountID, f.AccountName)
		}
		if f.KeyID != "" {
			msg += ", access key " + maskedKey(f.KeyID)
		}
		if ev := evidenceText(f.Evidence); ev != "" {
			msg += " (" + ev + ")"
		}
		sum := sha256.Sum256([]byte(f.ID))
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message: sarifMessage{Text: human(msg)},
			Locations: []sarifLocation{{
				PhysicalLocation: &sarifPhysicalLocation{
					ArtifactLocation: sarifArtifactLocation{URI: uri},
					Region:           sarifRegion{StartLine: 1},
				},
				LogicalLocations: []sarifLogicalLocation{{
					Name: human(user), FullyQualifiedName: human(f.AccountID + "/" + user), Kind: "resource",
				}},
			}},
			PartialFingerprints: map[string]string{"keyrotFindingHash/v1": hex.EncodeToString(sum[:])},
			Properties:          map[string]string{"severity": f.Severity.String(), "accountId": f.AccountID},
		}
		if f.Exempt {
			sup := sarifSuppression{Kind: "external"}
			if f.Exemption != nil {
				sup.Justification = human(f.Exemption.Match + ": " + f.Exemption.Reason)
			}
			res.Suppressions = []sarifSuppression{sup}
		}
		run.Results = append(run.Results, res)
	}
	return sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}}
}

// ruleName turns "key-age" into "KeyAge".
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, c := range id {
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// union appends the elements of b missing from a, keeping a sorted order.
func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	slices.SortFunc(a, func(x, y string) int { return cmp.Or(compareControlIDs(x, y), cmp.Compare(x, y)) })
	return a
}
