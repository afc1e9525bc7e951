package sandbox_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accounttypes "github.com/aws/aws-sdk-go-v2/service/account/types"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	ratypes "github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

const trustAnchorsScenario = "testdata/scenarios/good-trust-anchors.yaml"

// TestRolesAnywhereListTrustAnchors: ListTrustAnchors through the SDK, as
// the IAM Roles Anywhere API reference documents it
// (https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_ListTrustAnchors.html,
// TrustAnchorDetail in API_TrustAnchorDetail.html): paged by pageSize and
// nextToken, per region, each anchor with its ID (a UUID), ARN, enabled
// flag, ISO-8601 dates and its source: the PEM CA certificates of a
// CERTIFICATE_BUNDLE (valid as the scenario says) or the ARN of an
// AWS_ACM_PCA one.
func TestRolesAnywhereListTrustAnchors(t *testing.T) {
	env := sandboxtest.Start(t, trustAnchorsScenario)
	ctx := context.Background()
	now := env.Server.Clock().Now()
	c := rolesanywhere.NewFromConfig(env.Admin())
	var got []ratypes.TrustAnchorDetail
	pages := 0
	p := rolesanywhere.NewListTrustAnchorsPaginator(c, &rolesanywhere.ListTrustAnchorsInput{PageSize: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		mustNoErr(t, err)
		pages++
		got = append(got, page.TrustAnchors...)
	}
	if pages != 2 || len(got) != 4 {
		t.Fatalf("%d anchors in %d pages, want 4 in 2 (ap-east-1's is not in us-east-1)", len(got), pages)
	}
	byName := map[string]ratypes.TrustAnchorDetail{}
	for _, d := range got {
		byName[aws.ToString(d.Name)] = d
		id := aws.ToString(d.TrustAnchorId)
		if len(id) != 36 || aws.ToString(d.TrustAnchorArn) != "arn:aws:rolesanywhere:us-east-1:210987654321:trust-anchor/"+id {
			t.Errorf("%s: id %q arn %q", aws.ToString(d.Name), id, aws.ToString(d.TrustAnchorArn))
		}
		if d.CreatedAt == nil || d.CreatedAt.After(now) || d.UpdatedAt == nil {
			t.Errorf("%s: dates %v %v", aws.ToString(d.Name), d.CreatedAt, d.UpdatedAt)
		}
	}
	notAfter := func(name string) []time.Duration {
		t.Helper()
		d := byName[name]
		if d.Source == nil || d.Source.SourceType != ratypes.TrustAnchorTypeCertificateBundle {
			t.Fatalf("%s: source %+v", name, d.Source)
		}
		data, ok := d.Source.SourceData.(*ratypes.SourceDataMemberX509CertificateData)
		if !ok {
			t.Fatalf("%s: source data %T", name, d.Source.SourceData)
		}
		var out []time.Duration
		rest := []byte(data.Value)
		for {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			c, err := x509.ParseCertificate(b.Bytes)
			mustNoErr(t, err)
			if !c.IsCA {
				t.Errorf("%s: %s is not a CA", name, c.Subject)
			}
			out = append(out, c.NotAfter.Sub(now).Round(24*time.Hour))
		}
		return out
	}
	day := 24 * time.Hour
	if got := notAfter("onprem-ca"); !cmp.Equal(got, []time.Duration{20 * day}) {
		t.Errorf("onprem-ca expires in %v, want 20 days", got)
	}
	if got := notAfter("rotating"); !cmp.Equal(got, []time.Duration{-5 * day, 700 * day}) {
		t.Errorf("rotating: %v", got)
	}
	if aws.ToBool(byName["retired"].Enabled) || !aws.ToBool(byName["onprem-ca"].Enabled) {
		t.Errorf("enabled flags: retired %v onprem-ca %v", byName["retired"].Enabled, byName["onprem-ca"].Enabled)
	}
	pca := byName["pca-backed"]
	if arn, ok := pca.Source.SourceData.(*ratypes.SourceDataMemberAcmPcaArn); pca.Source.SourceType != ratypes.TrustAnchorTypeAwsAcmPca || !ok ||
		!strings.HasPrefix(arn.Value, "arn:aws:acm-pca:us-east-1:210987654321:certificate-authority/") {
		t.Errorf("pca-backed source %+v", pca.Source)
	}

	// An account that does not use Roles Anywhere: an empty list.
	cfg := env.Admin()
	cfg.Region = "eu-west-1"
	out, err := rolesanywhere.NewFromConfig(cfg).ListTrustAnchors(ctx, &rolesanywhere.ListTrustAnchorsInput{})
	mustNoErr(t, err)
	if len(out.TrustAnchors) != 0 || out.NextToken != nil {
		t.Errorf("eu-west-1: %+v", out)
	}
}

// TestAccountListRegions: account:ListRegions lists the caller's regions
// with their opt-in status and filters on RegionOptStatusContains, as the
// AWS Account Management API reference documents it
// (https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html:
// MaxResults 1 to 50); a request signed for a disabled opt-in region is
// refused (the security token is not valid there) while an enabled one
// is served.
func TestAccountListRegions(t *testing.T) {
	env := sandboxtest.Start(t, trustAnchorsScenario)
	ctx := context.Background()
	c := account.NewFromConfig(env.Admin())
	list := func(statuses ...accounttypes.RegionOptStatus) map[string]accounttypes.RegionOptStatus {
		t.Helper()
		out := map[string]accounttypes.RegionOptStatus{}
		p := account.NewListRegionsPaginator(c, &account.ListRegionsInput{MaxResults: aws.Int32(7), RegionOptStatusContains: statuses})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			mustNoErr(t, err)
			for _, r := range page.Regions {
				out[aws.ToString(r.RegionName)] = r.RegionOptStatus
			}
		}
		return out
	}
	enabled := list(accounttypes.RegionOptStatusEnabled, accounttypes.RegionOptStatusEnabledByDefault)
	if len(enabled) != 18 || enabled["ap-east-1"] != accounttypes.RegionOptStatusEnabled || enabled["eu-west-1"] != accounttypes.RegionOptStatusEnabledByDefault {
		t.Errorf("enabled regions %v: want the 17 default ones and ap-east-1", enabled)
	}
	all := list()
	if all["me-south-1"] != accounttypes.RegionOptStatusDisabled || len(all) <= len(enabled) {
		t.Errorf("all regions %v", all)
	}
	_, err := c.ListRegions(ctx, &account.ListRegionsInput{MaxResults: aws.Int32(51)})
	wantAPIError(t, err, "ValidationException", 400)

	// ENABLED alone: the opt-in regions the account turned on.
	var names []string
	for r := range list(accounttypes.RegionOptStatusEnabled) {
		names = append(names, r)
	}
	sort.Strings(names)
	if !cmp.Equal(names, []string{"ap-east-1"}) {
		t.Errorf("ENABLED only: %v", names)
	}

	regional := func(region string) error {
		cfg := env.Admin()
		cfg.Region = region
		_, err := acm.NewFromConfig(cfg).ListCertificates(ctx, &acm.ListCertificatesInput{})
		return err
	}
	mustNoErr(t, regional("ap-east-1"))
	wantAPIError(t, regional("me-south-1"), "UnrecognizedClientException", 403)
	// IAM is global: a client configured for a disabled region still works.
	cfg := env.Admin()
	cfg.Region = "me-south-1"
	_, err = iam.NewFromConfig(cfg, func(o *iam.Options) { o.Region = "us-east-1" }).ListUsers(ctx, &iam.ListUsersInput{})
	mustNoErr(t, err)
}

// TestRolesAnywhereAndRegionsAuthorized: rolesanywhere:ListTrustAnchors
// and account:ListRegions are enforced like every other action: a user
// allowed only one of them is refused the other with AccessDeniedException
// (403, REST-JSON).
func TestRolesAnywhereAndRegionsAuthorized(t *testing.T) {
	env := sandboxtest.Start(t, trustAnchorsScenario)
	ctx := context.Background()
	iamc := iam.NewFromConfig(env.Admin())
	_, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("lister")})
	mustNoErr(t, err)
	_, err = iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("lister"), PolicyName: aws.String("ra"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rolesanywhere:ListTrustAnchors","Resource":"*"}]}`)})
	mustNoErr(t, err)
	k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("lister")})
	mustNoErr(t, err)
	cfg := env.Config(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")
	out, err := rolesanywhere.NewFromConfig(cfg).ListTrustAnchors(ctx, &rolesanywhere.ListTrustAnchorsInput{})
	mustNoErr(t, err)
	if len(out.TrustAnchors) != 4 {
		t.Errorf("%d trust anchors", len(out.TrustAnchors))
	}
	_, err = account.NewFromConfig(cfg).ListRegions(ctx, &account.ListRegionsInput{})
	ae := wantAPIError(t, err, "AccessDeniedException", 403)
	if !strings.Contains(ae.ErrorMessage(), "account:ListRegions") {
		t.Errorf("denial does not name the action: %s", ae.ErrorMessage())
	}
	_, err = iamc.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("lister"), PolicyName: aws.String("ra")})
	mustNoErr(t, err)
	_, err = rolesanywhere.NewFromConfig(cfg).ListTrustAnchors(ctx, &rolesanywhere.ListTrustAnchorsInput{})
	wantAPIError(t, err, "AccessDeniedException", 403)
}
