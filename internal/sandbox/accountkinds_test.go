package sandbox_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

const accountKindsScenario = "testdata/scenarios/good-account-kinds.yaml"

// allKeyTypes is every ACM key algorithm: ListCertificates without
// Includes.keyTypes returns only RSA_1024 and RSA_2048 certificates ("Default
// filtering returns only RSA_1024 and RSA_2048 certificates that have at
// least one domain", Filters.keyTypes in the ACM API reference,
// https://docs.aws.amazon.com/acm/latest/APIReference/API_Filters.html).
var allKeyTypes = []acmtypes.KeyAlgorithm{"RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"}

// TestACMListCertificates: the default key-type filter, every key type,
// the status filter, paging and DescribeCertificate, through the SDK
// (shapes of the ACM API reference: CertificateSummary carries NotAfter,
// Type, InUse, RenewalEligibility and Status).
func TestACMListCertificates(t *testing.T) {
	env := sandboxtest.Start(t, accountKindsScenario)
	ctx := context.Background()
	c := acm.NewFromConfig(env.Admin())
	domains := func(in *acm.ListCertificatesInput) []string {
		t.Helper()
		var out []string
		p := acm.NewListCertificatesPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			mustNoErr(t, err)
			for _, s := range page.CertificateSummaryList {
				out = append(out, aws.ToString(s.DomainName))
			}
		}
		sort.Strings(out)
		return out
	}
	if got, want := domains(&acm.ListCertificatesInput{}), []string{"www.example.com"}; !cmp.Equal(got, want) {
		t.Errorf("default filter: %v, want %v (RSA_1024 and RSA_2048 only)", got, want)
	}
	all := &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: allKeyTypes}, MaxItems: aws.Int32(1)}
	if got, want := domains(all), []string{"api.example.com", "old.example.com", "www.example.com"}; !cmp.Equal(got, want) {
		t.Errorf("every key type, one a page: %v, want %v", got, want)
	}
	expired := &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: allKeyTypes}, CertificateStatuses: []acmtypes.CertificateStatus{acmtypes.CertificateStatusExpired}}
	if got, want := domains(expired), []string{"old.example.com"}; !cmp.Equal(got, want) {
		t.Errorf("EXPIRED: %v, want %v", got, want)
	}
	out, err := c.ListCertificates(ctx, &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: allKeyTypes}})
	mustNoErr(t, err)
	now := env.Server.Clock().Now()
	for _, s := range out.CertificateSummaryList {
		if s.NotAfter == nil || s.CreatedAt == nil {
			t.Fatalf("%s: no NotAfter or CreatedAt", aws.ToString(s.DomainName))
		}
		switch aws.ToString(s.DomainName) {
		case "www.example.com":
			if s.Type != acmtypes.CertificateTypeAmazonIssued || !aws.ToBool(s.InUse) || s.RenewalEligibility != acmtypes.RenewalEligibilityEligible ||
				s.NotAfter.Sub(now) > 10*24*time.Hour || s.Status != acmtypes.CertificateStatusIssued {
				t.Errorf("www: %+v", s)
			}
		case "api.example.com":
			if s.Type != acmtypes.CertificateTypeImported || aws.ToBool(s.InUse) || s.RenewalEligibility != acmtypes.RenewalEligibilityIneligible || s.ImportedAt == nil {
				t.Errorf("api: %+v", s)
			}
		}
	}
	var www *string
	for _, s := range out.CertificateSummaryList {
		if aws.ToString(s.DomainName) == "www.example.com" {
			www = s.CertificateArn
		}
	}
	d, err := c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: www})
	mustNoErr(t, err)
	if aws.ToString(d.Certificate.DomainName) != "www.example.com" || len(d.Certificate.InUseBy) != 1 || d.Certificate.NotAfter == nil {
		t.Errorf("describe: %+v", d.Certificate)
	}
	_, err = c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String("arn:aws:acm:us-east-1:210987654321:certificate/00000000-0000-0000-0000-000000000000")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("unknown certificate: %v", err)
	}
	_, err = c.ListCertificates(ctx, &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: []acmtypes.KeyAlgorithm{"RSA_512"}}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Errorf("bad key type: %v", err)
	}
	west := env.Admin()
	west.Region = "eu-west-1"
	wout, err := acm.NewFromConfig(west).ListCertificates(ctx, &acm.ListCertificatesInput{})
	mustNoErr(t, err)
	if len(wout.CertificateSummaryList) != 1 || aws.ToString(wout.CertificateSummaryList[0].DomainName) != "eu.example.com" {
		t.Errorf("eu-west-1: %+v", wout.CertificateSummaryList)
	}
}

// TestIAMListServerCertificates: metadata with Expiration and UploadDate,
// path prefix and paging (IAM API reference, ListServerCertificates).
func TestIAMListServerCertificates(t *testing.T) {
	env := sandboxtest.Start(t, accountKindsScenario)
	ctx := context.Background()
	c := iam.NewFromConfig(env.Admin())
	out, err := c.ListServerCertificates(ctx, &iam.ListServerCertificatesInput{MaxItems: aws.Int32(1)})
	mustNoErr(t, err)
	if len(out.ServerCertificateMetadataList) != 1 || !out.IsTruncated {
		t.Fatalf("first page: %+v", out)
	}
	m := out.ServerCertificateMetadataList[0]
	now := env.Server.Clock().Now()
	if aws.ToString(m.ServerCertificateName) != "legacy-elb" || m.Expiration == nil || m.Expiration.Sub(now) > 20*24*time.Hour ||
		aws.ToString(m.Arn) != "arn:aws:iam::210987654321:server-certificate/legacy-elb" {
		t.Errorf("legacy-elb: %+v", m)
	}
	out, err = c.ListServerCertificates(ctx, &iam.ListServerCertificatesInput{Marker: out.Marker})
	mustNoErr(t, err)
	if len(out.ServerCertificateMetadataList) != 1 || out.IsTruncated || !out.ServerCertificateMetadataList[0].Expiration.Before(now) {
		t.Errorf("second page: %+v", out)
	}
	out, err = c.ListServerCertificates(ctx, &iam.ListServerCertificatesInput{PathPrefix: aws.String("/cloudfront/")})
	mustNoErr(t, err)
	if len(out.ServerCertificateMetadataList) != 1 || aws.ToString(out.ServerCertificateMetadataList[0].ServerCertificateName) != "old-portal" {
		t.Errorf("path prefix: %+v", out.ServerCertificateMetadataList)
	}
}

// TestSecretsRotationFields: ListSecrets carries RotationEnabled,
// RotationRules, LastRotatedDate, NextRotationDate and LastAccessedDate
// (SecretListEntry in the Secrets Manager API reference); a failed
// rotation leaves an AWSPENDING version and RotateSecret then refuses; a
// scenario secret's simulated rotation succeeds or fails as configured.
func TestSecretsRotationFields(t *testing.T) {
	env := sandboxtest.Start(t, accountKindsScenario)
	ctx := context.Background()
	sm := smClient(env)
	out, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	mustNoErr(t, err)
	now := env.Server.Clock().Now()
	byName := map[string]int{}
	for i, s := range out.SecretList {
		byName[aws.ToString(s.Name)] = i
	}
	db := out.SecretList[byName["prod/db/main"]]
	if !aws.ToBool(db.RotationEnabled) || db.RotationRules == nil || aws.ToInt64(db.RotationRules.AutomaticallyAfterDays) != 30 ||
		db.LastRotatedDate == nil || db.NextRotationDate == nil || !db.NextRotationDate.Before(now) || db.LastAccessedDate == nil {
		t.Errorf("prod/db/main: %+v", db)
	}
	pending := 0
	for _, stages := range db.SecretVersionsToStages {
		for _, s := range stages {
			if s == "AWSPENDING" {
				pending++
			}
		}
	}
	if pending != 1 {
		t.Errorf("prod/db/main: %d AWSPENDING versions, want 1: %v", pending, db.SecretVersionsToStages)
	}
	plain := out.SecretList[byName["prod/unrotated"]]
	if aws.ToBool(plain.RotationEnabled) || plain.NextRotationDate != nil || plain.RotationRules != nil || plain.LastAccessedDate != nil {
		t.Errorf("prod/unrotated: %+v", plain)
	}
	// A failed rotation blocks the next one.
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("prod/db/main")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidRequestException" {
		t.Errorf("rotate with AWSPENDING lingering: %v", err)
	}
	// The simulated function rotates prod/stripe-key.
	r, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("prod/stripe-key")})
	mustNoErr(t, err)
	if errs := env.Server.WaitForRotations(); errs != nil {
		t.Fatalf("rotation: %v", errs)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("prod/stripe-key")})
	mustNoErr(t, err)
	if stages := d.VersionIdsToStages[aws.ToString(r.VersionId)]; !cmp.Equal(stages, []string{"AWSCURRENT"}) || d.LastRotatedDate == nil || d.LastRotatedDate.Before(now) {
		t.Errorf("after rotation: stages %v, last rotated %v", stages, d.LastRotatedDate)
	}
	if !d.NextRotationDate.After(now.Add(89 * 24 * time.Hour)) {
		t.Errorf("next rotation %v", d.NextRotationDate)
	}
}
