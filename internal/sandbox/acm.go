package sandbox

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// AWS Certificate Manager (JSON 1.1, target prefix CertificateManager.).
// Certificates come from the scenario (ScenarioAccount.Certificates); the
// sandbox models listing and describing them: ListCertificates with its
// default key-type filter (RSA_1024 and RSA_2048 only, as the ACM API
// reference's Filters.keyTypes documents) and status filter, paged, and
// DescribeCertificate. Nothing is issued, renewed or imported by calls.

// Certificate is an ACM certificate.
type Certificate struct {
	ARN          string    `json:"arn"`
	DomainName   string    `json:"domain_name"`
	SANs         []string  `json:"sans,omitempty"`
	Type         string    `json:"type"`   // AMAZON_ISSUED, IMPORTED, PRIVATE
	Status       string    `json:"status"` // ISSUED, EXPIRED, ...
	KeyAlgorithm string    `json:"key_algorithm"`
	CreatedAt    time.Time `json:"created_at"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	// InUseBy are the ARNs of the resources using the certificate.
	InUseBy []string `json:"in_use_by,omitempty"`
}

// ACM's documented values.
var (
	acmKeyAlgorithms = []string{"RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"}
	acmStatuses      = []string{"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"}
	acmTypes         = []string{"IMPORTED", "AMAZON_ISSUED", "PRIVATE"}
	// acmDefaultKeyTypes is what ListCertificates returns without Includes.keyTypes.
	acmDefaultKeyTypes = []string{"RSA_1024", "RSA_2048"}
)

func acmActions() map[string]handler {
	return map[string]handler{
		"ListCertificates":    acmListCertificates,
		"DescribeCertificate": acmDescribeCertificate,
	}
}

// acmRegion returns the account's certificates in region, by ARN (nil if none).
func acmRegion(a *Account, region string) map[string]*Certificate {
	return a.Certificates[region]
}

// renewalEligibility is ELIGIBLE for a certificate ACM renews (an issued,
// Amazon-issued or private one in use), else INELIGIBLE; ACM never renews
// an imported certificate.
func (c *Certificate) renewalEligibility() string {
	if c.Type != "IMPORTED" && c.Status == "ISSUED" && len(c.InUseBy) > 0 {
		return "ELIGIBLE"
	}
	return "INELIGIBLE"
}

// status is the certificate's status at now: an issued certificate past
// its NotAfter is EXPIRED.
func (c *Certificate) status(now time.Time) string {
	if c.Status == "ISSUED" && now.After(c.NotAfter) {
		return "EXPIRED"
	}
	return c.Status
}

type acmSummary struct {
	CertificateArn                  string   `json:"CertificateArn"`
	DomainName                      string   `json:"DomainName"`
	SubjectAlternativeNameSummaries []string `json:"SubjectAlternativeNameSummaries,omitempty"`
	HasAdditionalSubjectAlternative bool     `json:"HasAdditionalSubjectAlternativeNames"`
	Status                          string   `json:"Status"`
	Type                            string   `json:"Type"`
	KeyAlgorithm                    string   `json:"KeyAlgorithm"`
	InUse                           bool     `json:"InUse"`
	RenewalEligibility              string   `json:"RenewalEligibility"`
	NotBefore                       epoch    `json:"NotBefore"`
	NotAfter                        epoch    `json:"NotAfter"`
	CreatedAt                       epoch    `json:"CreatedAt"`
	IssuedAt                        *epoch   `json:"IssuedAt,omitempty"`
	ImportedAt                      *epoch   `json:"ImportedAt,omitempty"`
}

type acmListInput struct {
	CertificateStatuses []string
	Includes            *struct {
		KeyTypes []string `json:"keyTypes"`
	}
	MaxItems  *int
	NextToken string
}

func acmErr(code, format string, args ...any) error { return errf(400, code, format, args...) }

func acmListCertificates(r *request) (any, error) {
	var in acmListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	for _, s := range in.CertificateStatuses {
		if !slices.Contains(acmStatuses, s) {
			return nil, acmErr("ValidationException", "1 validation error detected: Value '[%s]' at 'certificateStatuses' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [%s]]", s, strings.Join(acmStatuses, ", "))
		}
	}
	keyTypes := acmDefaultKeyTypes
	if in.Includes != nil && len(in.Includes.KeyTypes) > 0 {
		keyTypes = in.Includes.KeyTypes
		for _, k := range keyTypes {
			if !slices.Contains(acmKeyAlgorithms, k) {
				return nil, acmErr("ValidationException", "1 validation error detected: Value '[%s]' at 'includes.keyTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [%s]]", k, strings.Join(acmKeyAlgorithms, ", "))
			}
		}
	}
	max := 1000
	if in.MaxItems != nil {
		max = *in.MaxItems
		if max < 1 || max > 1000 {
			return nil, acmErr("ValidationException", "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", max)
		}
	}
	var list []*Certificate
	for _, c := range acmRegion(r.acct, r.region) {
		if !slices.Contains(keyTypes, c.KeyAlgorithm) {
			continue
		}
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, c.status(r.now)) {
			continue
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ARN < list[j].ARN })
	start, end, next, err := page(len(list), in.NextToken, max, 1000, 1000)
	if err != nil {
		return nil, acmErr("InvalidArgsException", "invalid NextToken")
	}
	out := struct {
		CertificateSummaryList []acmSummary `json:"CertificateSummaryList"`
		NextToken              string       `json:"NextToken,omitempty"`
	}{CertificateSummaryList: []acmSummary{}, NextToken: next}
	for _, c := range list[start:end] {
		s := acmSummary{
			CertificateArn: c.ARN, DomainName: c.DomainName, SubjectAlternativeNameSummaries: c.sans(),
			Status: c.status(r.now), Type: c.Type, KeyAlgorithm: c.KeyAlgorithm, InUse: len(c.InUseBy) > 0,
			RenewalEligibility: c.renewalEligibility(), NotBefore: epoch(c.NotBefore), NotAfter: epoch(c.NotAfter), CreatedAt: epoch(c.CreatedAt),
		}
		if c.Type == "IMPORTED" {
			s.ImportedAt = smEpochPtr(&c.CreatedAt)
		} else {
			s.IssuedAt = smEpochPtr(&c.NotBefore)
		}
		out.CertificateSummaryList = append(out.CertificateSummaryList, s)
	}
	return out, nil
}

func (c *Certificate) sans() []string {
	if len(c.SANs) == 0 {
		return []string{c.DomainName}
	}
	return c.SANs
}

type acmDetail struct {
	CertificateArn          string   `json:"CertificateArn"`
	DomainName              string   `json:"DomainName"`
	SubjectAlternativeNames []string `json:"SubjectAlternativeNames"`
	Status                  string   `json:"Status"`
	Type                    string   `json:"Type"`
	KeyAlgorithm            string   `json:"KeyAlgorithm"`
	InUseBy                 []string `json:"InUseBy"`
	RenewalEligibility      string   `json:"RenewalEligibility"`
	NotBefore               epoch    `json:"NotBefore"`
	NotAfter                epoch    `json:"NotAfter"`
	CreatedAt               epoch    `json:"CreatedAt"`
	IssuedAt                *epoch   `json:"IssuedAt,omitempty"`
	ImportedAt              *epoch   `json:"ImportedAt,omitempty"`
}

func acmDescribeCertificate(r *request) (any, error) {
	var in struct{ CertificateArn string }
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	parts := strings.SplitN(in.CertificateArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "acm" || !strings.HasPrefix(parts[5], "certificate/") {
		return nil, acmErr("InvalidArnException", "String '%s' is not a valid ARN", in.CertificateArn)
	}
	c := acmRegion(r.acct, r.region)[in.CertificateArn]
	if c == nil || parts[3] != r.region || parts[4] != r.acct.ID {
		return nil, acmErr("ResourceNotFoundException", "Could not find certificate %s.", in.CertificateArn)
	}
	d := acmDetail{
		CertificateArn: c.ARN, DomainName: c.DomainName, SubjectAlternativeNames: c.sans(), Status: c.status(r.now),
		Type: c.Type, KeyAlgorithm: c.KeyAlgorithm, InUseBy: append([]string{}, c.InUseBy...), RenewalEligibility: c.renewalEligibility(),
		NotBefore: epoch(c.NotBefore), NotAfter: epoch(c.NotAfter), CreatedAt: epoch(c.CreatedAt),
	}
	if c.Type == "IMPORTED" {
		d.ImportedAt = smEpochPtr(&c.CreatedAt)
	} else {
		d.IssuedAt = smEpochPtr(&c.NotBefore)
	}
	return struct {
		Certificate acmDetail `json:"Certificate"`
	}{d}, nil
}
