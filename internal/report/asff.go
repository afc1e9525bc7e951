package report

import (
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/keyrot/keyrot/internal/audit"
)

// ASFF renders the findings as a JSON array of AWS Security Finding Format
// objects, ready for Security Hub's BatchImportFindings with the default
// product integration. Exempt findings are left out: they are accepted risk.
//
// With the default product ARN, Security Hub only accepts a finding from the
// account it is about, so each finding's ProductArn names its own account:
// import each account's findings with that account's credentials, at most
// 100 per call.
type ASFF struct {
	// Region is the Security Hub region the findings are imported into.
	Region string
	// Partition is the ARN partition ("aws", "aws-cn", "aws-us-gov").
	Partition string
}

// ASFFSchemaVersion is the ASFF SchemaVersion written in every finding.
const ASFFSchemaVersion = "2018-10-08"

// ASFFType is the finding type keyrot reports under.
const ASFFType = "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"

type asffFinding struct {
	SchemaVersion         string             `json:"SchemaVersion"`
	ID                    string             `json:"Id"`
	ProductArn            string             `json:"ProductArn"`
	GeneratorID           string             `json:"GeneratorId"`
	AwsAccountID          string             `json:"AwsAccountId"`
	Types                 []string           `json:"Types"`
	CreatedAt             string             `json:"CreatedAt"`
	UpdatedAt             string             `json:"UpdatedAt"`
	Severity              asffSeverity       `json:"Severity"`
	Title                 string             `json:"Title"`
	Description           string             `json:"Description"`
	Remediation           *asffRemediation   `json:"Remediation,omitempty"`
	ProductFields         map[string]string  `json:"ProductFields,omitempty"`
	Resources             []asffResource     `json:"Resources"`
	Compliance            asffCompliance     `json:"Compliance"`
	RecordState           string             `json:"RecordState"`
	FindingProviderFields asffProviderFields `json:"FindingProviderFields"`
}

type asffSeverity struct {
	Label    string `json:"Label"`
	Original string `json:"Original,omitempty"`
}

type asffRemediation struct {
	Recommendation asffRecommendation `json:"Recommendation"`
}

type asffRecommendation struct {
	Text string `json:"Text"`
}

type asffResource struct {
	Type      string `json:"Type"`
	ID        string `json:"Id"`
	Partition string `json:"Partition,omitempty"`
	Region    string `json:"Region,omitempty"`
}

type asffCompliance struct {
	Status              string   `json:"Status"`
	RelatedRequirements []string `json:"RelatedRequirements,omitempty"`
}

type asffProviderFields struct {
	Severity asffSeverity `json:"Severity"`
	Types    []string     `json:"Types"`
}

// asffLabel maps a severity to a Security Hub severity label.
func asffLabel(s audit.Severity) string {
	switch s {
	case audit.SeverityCritical:
		return "CRITICAL"
	case audit.SeverityHigh:
		return "HIGH"
	case audit.SeverityMedium:
		return "MEDIUM"
	case audit.SeverityLow:
		return "LOW"
	}
	return "INFORMATIONAL"
}

// Render writes the JSON array.
func (a ASFF) Render(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(a.findings(r))
}

func (a ASFF) findings(r *Report) []asffFinding {
	region, partition := cmpOr(a.Region, "us-east-1"), cmpOr(a.Partition, "aws")
	res := r.result()
	userARN := map[string]string{}
	if res.Snapshot != nil {
		for _, acct := range res.Snapshot.Accounts {
			for _, u := range acct.Users {
				if u.ARN != "" {
					userARN[acct.ID+"/"+u.Name] = u.ARN
				}
			}
		}
	}
	created := rfc3339(res.GeneratedAt)
	out := []asffFinding{}
	for _, f := range r.findings() {
		if f.Exempt {
			continue
		}
		sev := asffSeverity{Label: asffLabel(f.Severity), Original: f.Severity.String()}
		types := []string{ASFFType}
		af := asffFinding{
			SchemaVersion:         ASFFSchemaVersion,
			ID:                    truncate("keyrot/"+f.ID, 512),
			ProductArn:            "arn:" + partition + ":securityhub:" + region + ":" + f.AccountID + ":product/" + f.AccountID + "/default",
			GeneratorID:           truncate("keyrot/"+f.Rule, 512),
			AwsAccountID:          f.AccountID,
			Types:                 types,
			CreatedAt:             created,
			UpdatedAt:             created,
			Severity:              sev,
			Title:                 truncate(cmpOr(f.Title, f.Rule), 256),
			Description:           truncate(asffDescription(f), 1024),
			ProductFields:         map[string]string{"ProviderName": "keyrot", "ProviderVersion": cmpOr(r.ToolVersion, "unknown"), "keyrot/rule": f.Rule},
			Compliance:            asffCompliance{Status: "FAILED"},
			RecordState:           "ACTIVE",
			FindingProviderFields: asffProviderFields{Severity: sev, Types: types},
		}
		if f.User != "" {
			af.ProductFields["keyrot/user"] = f.User
		}
		if len(f.Controls.SecurityHub) > 0 {
			af.ProductFields["keyrot/security_hub_controls"] = strings.Join(f.Controls.SecurityHub, ",")
		}
		if f.Remediation != "" {
			af.Remediation = &asffRemediation{Recommendation: asffRecommendation{Text: truncate(f.Remediation, 512)}}
		}
		for _, c := range f.Controls.CISv3 {
			af.Compliance.RelatedRequirements = append(af.Compliance.RelatedRequirements, "CIS AWS Foundations Benchmark v3.0.0/"+c)
		}
		for _, c := range f.Controls.CISv5 {
			af.Compliance.RelatedRequirements = append(af.Compliance.RelatedRequirements, "CIS AWS Foundations Benchmark v5.0.0/"+c)
		}
		resource := func(typ, id string) asffResource {
			return asffResource{Type: typ, ID: id, Partition: partition, Region: region}
		}
		if f.KeyID != "" {
			af.Resources = append(af.Resources, resource("AwsIamAccessKey", f.KeyID))
		}
		switch {
		case findingResource(f) != "":
			r := resource(asffResourceType(f.Rule), findingResource(f))
			r.Region = cmpOr(f.Extra["region"], region)
			af.Resources = append(af.Resources, r)
		case f.User == RootUser:
			af.Resources = append(af.Resources, resource("AwsAccount", "AWS::::Account:"+f.AccountID))
		case f.User != "":
			arn := userARN[f.AccountID+"/"+f.User]
			if arn == "" {
				arn = "arn:" + partition + ":iam::" + f.AccountID + ":user/" + f.User
			}
			af.Resources = append(af.Resources, resource("AwsIamUser", arn))
		}
		if len(af.Resources) == 0 {
			af.Resources = append(af.Resources, resource("AwsAccount", "AWS::::Account:"+f.AccountID))
		}
		out = append(out, af)
	}
	return out
}

// asffResourceType is the ASFF resource type of a finding about an account's resource.
func asffResourceType(rule string) string {
	switch {
	case strings.HasPrefix(rule, "secret-"):
		return "AwsSecretsManagerSecret"
	case strings.HasPrefix(rule, "certificate-"):
		return "AwsCertificateManagerCertificate"
	}
	return "Other"
}

func asffDescription(f *audit.Finding) string {
	d := cmpOr(f.Title, f.Rule)
	if f.User != "" {
		d += ": user " + f.User
	}
	if arn := findingResource(f); arn != "" {
		d += ": " + arn
	}
	d += " in account " + accountLabel(f.AccountID, f.AccountName)
	if f.KeyID != "" {
		d += ", access key " + f.KeyID
	}
	if ev := evidenceText(f.Evidence); ev != "" {
		d += " (" + ev + ")"
	}
	return d + "."
}

// truncate shortens s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
