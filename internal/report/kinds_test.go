package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// kindsReport audits, with the real rules and the default policy, an
// account holding an expired IAM server certificate, an expiring and an
// imported ACM certificate, secrets whose rotation failed, is disabled or
// is overdue, and an IAM Roles Anywhere trust anchor whose CA expires soon.
func kindsReport() *Report {
	const acct = "111111111111"
	a := inventory.Account{ID: acct, Name: "prod", Status: inventory.AccountAudited, Root: &inventory.Root{MFAActive: true},
		ServerCertificates: []inventory.ServerCertificate{{Name: "checkout-2019", ARN: "arn:aws:iam::" + acct + ":server-certificate/checkout-2019", UploadDate: daysAgo(800), Expiration: daysAgo(40)}},
		Certificates: []inventory.Certificate{
			{ARN: "arn:aws:acm:eu-west-1:" + acct + ":certificate/0b6e3f1c-2a4d-4e5f-9a8b-7c6d5e4f3a2b", Region: "eu-west-1", DomainName: "shop.example.com",
				Type: "AMAZON_ISSUED", Status: "ISSUED", InUse: true, RenewalEligibility: "ELIGIBLE", CreatedAt: daysAgo(353), NotAfter: daysAgo(-12)},
			{ARN: "arn:aws:acm:eu-west-1:" + acct + ":certificate/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", Region: "eu-west-1", DomainName: "partners.example.com",
				Type: "IMPORTED", Status: "ISSUED", InUse: true, RenewalEligibility: "INELIGIBLE", CreatedAt: daysAgo(100), NotAfter: daysAgo(-265)},
		},
		Secrets: []inventory.Secret{
			{ARN: "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:prod/payments/db-password-AbCdEf", Name: "prod/payments/db-password", Region: "eu-west-1",
				Tags: map[string]string{"credential-kind": "database", "note": fakeSecret}, CreatedDate: daysAgo(400), LastAccessedDate: ptime(daysAgo(1)),
				RotationEnabled: true, RotationLambdaARN: "arn:aws:lambda:eu-west-1:" + acct + ":function:rotate-db", RotationDays: 30,
				LastRotatedDate: ptime(daysAgo(35)), NextRotationDate: ptime(daysAgo(5)), PendingVersion: true},
			{ARN: "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:prod/stripe-api-key-GhIjKl", Name: "prod/stripe-api-key", Region: "eu-west-1",
				Tags: map[string]string{"credential-kind": "api-key"}, CreatedDate: daysAgo(120), LastAccessedDate: ptime(daysAgo(2))},
		},
		TrustAnchors: []inventory.TrustAnchor{{ARN: "arn:aws:rolesanywhere:eu-west-1:" + acct + ":trust-anchor/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b",
			ID: "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b", Name: "onprem-batch-ca", Region: "eu-west-1", Enabled: true, SourceType: "CERTIFICATE_BUNDLE",
			CACertificates: []inventory.CACertificate{{Subject: "CN=Example On-Prem Issuing CA", NotBefore: daysAgo(1800), NotAfter: daysAgo(-25)}},
			CreatedAt:      daysAgo(700), UpdatedAt: daysAgo(700)}},
	}
	snap := &inventory.Snapshot{CollectedAt: genAt, OrganizationID: "o-a1b2c3d4e5", ManagementAccountID: acct, Accounts: []inventory.Account{a}}
	return &Report{Result: audit.Evaluate(policy.Default(), snap, genAt), ToolVersion: "v0.3.0", StartedAt: genAt.Add(-time.Minute), FinishedAt: genAt}
}

// TestKindsGolden: findings about certificates, secrets and trust anchors in every
// output format, each naming its resource, and no secret-shaped tag value.
func TestKindsGolden(t *testing.T) {
	rep := kindsReport()
	if n := len(rep.Result.Findings); n != 7 {
		t.Fatalf("%d findings, want 7 (server certificate expired, certificate expiring and imported, secret rotation failed, overdue and disabled, trust anchor expiring)", n)
	}
	for _, f := range Formats() {
		opts := Options{NoColor: true, Region: "eu-west-1"}
		got := render(t, f, opts, rep)
		path := filepath.Join("testdata", "golden", "kinds-"+f+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s output differs from %s (-want +got):\n%s", f, path, diff)
		}
		if strings.Contains(got, fakeSecret) {
			t.Errorf("%s output prints a tag value shaped like a secret", f)
		}
		for _, name := range []string{"checkout-2019", "shop.example.com", "prod/payments/db-password", "onprem-batch-ca"} {
			if !strings.Contains(got, name) && !strings.Contains(got, strings.ReplaceAll(name, "/", "%2F")) {
				t.Errorf("%s output does not name %s", f, name)
			}
		}
	}
}
