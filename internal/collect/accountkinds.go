package collect

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// The account's other long-term credentials: IAM server certificates, ACM
// certificates, Secrets Manager secrets and IAM Roles Anywhere trust
// anchors (trustanchors.go), in the regions asked for or every region
// enabled for the account (regions.go).
//
// # Cost
//
// One list call per kind per account (and per region for the regional
// kinds), a page per 1,000 certificates (IAM and ACM) or 100 secrets:
// ListServerCertificates with the account's IAM client; ListCertificates,
// whose summaries carry NotAfter, Type, Status, InUse and
// RenewalEligibility, so DescribeCertificate is never called; ListSecrets,
// whose entries carry RotationEnabled, RotationRules, LastRotatedDate,
// NextRotationDate, LastAccessedDate and the version stages (a lingering
// AWSPENDING shows there), so DescribeSecret is never called.
// ListCertificates names every key type in Includes.keyTypes: without it
// ACM lists only RSA_1024 and RSA_2048 certificates.
//
// A list that fails (a role without acm:ListCertificates, a region not
// enabled) is a CollectError of the account, never an empty list: the
// account is still audited and the kind is marked unread in Account.Kinds.

// ServerCertAPI lists an account's IAM server certificates.
type ServerCertAPI interface {
	ListServerCertificates(context.Context, *iam.ListServerCertificatesInput, ...func(*iam.Options)) (*iam.ListServerCertificatesOutput, error)
}

// ACMAPI lists an account's ACM certificates in one region.
type ACMAPI interface {
	ListCertificates(context.Context, *acm.ListCertificatesInput, ...func(*acm.Options)) (*acm.ListCertificatesOutput, error)
}

// SecretsAPI lists an account's secrets in one region.
type SecretsAPI interface {
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

var (
	_ ServerCertAPI = (*iam.Client)(nil)
	_ ACMAPI        = (*acm.Client)(nil)
	_ SecretsAPI    = (*secretsmanager.Client)(nil)
)

// KindClients are the clients of one account in one region.
type KindClients struct {
	ACM           ACMAPI
	Secrets       SecretsAPI
	RolesAnywhere RolesAnywhereAPI
	// Regions lists the account's regions (a global API: the region the
	// clients were made for does not matter).
	Regions RegionsAPI
}

// KindsFactory returns the clients acting in the target account and region.
type KindsFactory func(ctx context.Context, t Target, region string) (KindClients, error)

// Kinds says which of the account's other credentials to collect.
type Kinds struct {
	Clients KindsFactory
	// ServerCertificates lists IAM server certificates (the IAM client
	// must implement ServerCertAPI, as *iam.Client does).
	ServerCertificates bool
	// CertificateRegions, SecretRegions and TrustAnchorRegions are where
	// ACM certificates, secrets and IAM Roles Anywhere trust anchors are
	// listed; empty lists none, [EnabledRegions] every region enabled for
	// the account (regions.go).
	CertificateRegions []string
	SecretRegions      []string
	TrustAnchorRegions []string
}

// AccessKindsFactory returns a KindsFactory acting in each account through
// acc: the caller's own credentials for its account, the member role
// (assumed once, cached by acc) for the others.
func AccessKindsFactory(acc *awsaccess.Accounts) KindsFactory {
	return func(ctx context.Context, t Target, region string) (KindClients, error) {
		cfg := acc.Own()
		if !t.Own {
			var err error
			if cfg, err = acc.Config(ctx, t.AccountID); err != nil {
				return KindClients{}, err
			}
		}
		cfg = cfg.Copy()
		if region != "" {
			cfg.Region = region
		}
		return KindClients{
			ACM: acm.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg), RolesAnywhere: rolesanywhere.NewFromConfig(cfg),
			// Account Management is global: it takes requests signed for
			// the partition's home region, as IAM does.
			Regions: account.NewFromConfig(cfg, func(o *account.Options) { o.Region = awsconf.IAMRegion(o.Region) }),
		}, nil
	}
}

// acmKeyTypes is every key algorithm ACM knows, for Includes.keyTypes.
func acmKeyTypes() []acmtypes.KeyAlgorithm { return acmtypes.KeyAlgorithm("").Values() }

// accountKinds collects the account's other credentials; failures are
// the account's CollectErrors.
func (r *accountRun) accountKinds(ctx context.Context) {
	k := r.c.opts.Kinds
	if k == nil {
		return
	}
	a := r.acct
	if k.ServerCertificates {
		if l, ok := r.iam.(ServerCertAPI); ok {
			certs, err := listServerCertificates(ctx, l)
			if err != nil {
				r.errf("", "", "ListServerCertificates", err)
			} else {
				a.ServerCertificates, a.Kinds.ServerCertificates = certs, true
			}
		}
	}
	if k.Clients == nil {
		return
	}
	target := Target{AccountID: a.ID, Partition: r.c.partition, Own: a.ID == r.c.self}
	wanted := Kinds{CertificateRegions: k.CertificateRegions, SecretRegions: k.SecretRegions, TrustAnchorRegions: k.TrustAnchorRegions}
	discovered := true
	if wantsEnabled(k.CertificateRegions) || wantsEnabled(k.SecretRegions) || wantsEnabled(k.TrustAnchorRegions) {
		var enabled []string
		cl, err := k.Clients(ctx, target, "")
		if err == nil {
			enabled, err = listEnabledRegions(ctx, cl.Regions)
		}
		if err != nil {
			r.errf("", "", "ListRegions", err)
			discovered = false
		}
		wanted.CertificateRegions = expandRegions(k.CertificateRegions, enabled)
		wanted.SecretRegions = expandRegions(k.SecretRegions, enabled)
		wanted.TrustAnchorRegions = expandRegions(k.TrustAnchorRegions, enabled)
	}
	ok := func(rs []string) bool { return len(rs) > 0 && (discovered || !wantsEnabled(rs)) }
	certsOK, secretsOK, anchorsOK := ok(k.CertificateRegions), ok(k.SecretRegions), ok(k.TrustAnchorRegions)
	regions := regionsOf(&wanted)
	for _, region := range regions {
		cl, err := k.Clients(ctx, target, region)
		if err != nil {
			r.errf("", "", "clients in "+region, err)
			certsOK, secretsOK, anchorsOK = false, false, false
			continue
		}
		if slices.Contains(wanted.CertificateRegions, region) {
			certs, err := listCertificates(ctx, cl.ACM, region)
			if err != nil {
				r.errf("", "", "ListCertificates in "+region, err)
				certsOK = false
			}
			a.Certificates = append(a.Certificates, certs...)
		}
		if slices.Contains(wanted.SecretRegions, region) {
			secs, err := listSecrets(ctx, cl.Secrets, region)
			if err != nil {
				r.errf("", "", "ListSecrets in "+region, err)
				secretsOK = false
			} else {
				a.Kinds.SecretRegions = append(a.Kinds.SecretRegions, region)
			}
			a.Secrets = append(a.Secrets, secs...)
		}
		if slices.Contains(wanted.TrustAnchorRegions, region) {
			tas, err := listTrustAnchors(ctx, cl.RolesAnywhere, region)
			if notOffered(err) {
				err = nil // not offered in this region: nothing to use there
			}
			if err != nil {
				r.errf("", "", "ListTrustAnchors in "+region, err)
				anchorsOK = false
			}
			a.TrustAnchors = append(a.TrustAnchors, tas...)
		}
	}
	a.Kinds.Certificates, a.Kinds.Secrets, a.Kinds.TrustAnchors = certsOK, secretsOK, anchorsOK
	a.Kinds.Regions = regions
}

// regionsOf is the union of the kinds' regions, in order.
func regionsOf(k *Kinds) []string {
	var out []string
	for _, r := range slices.Concat(k.CertificateRegions, k.SecretRegions, k.TrustAnchorRegions) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func listServerCertificates(ctx context.Context, c ServerCertAPI) ([]inventory.ServerCertificate, error) {
	var out []inventory.ServerCertificate
	p := iam.NewListServerCertificatesPaginator(c, &iam.ListServerCertificatesInput{MaxItems: aws.Int32(maxItems)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range page.ServerCertificateMetadataList {
			out = append(out, inventory.ServerCertificate{
				Name: aws.ToString(m.ServerCertificateName), ID: aws.ToString(m.ServerCertificateId), ARN: aws.ToString(m.Arn),
				Path: aws.ToString(m.Path), UploadDate: aws.ToTime(m.UploadDate), Expiration: aws.ToTime(m.Expiration),
			})
		}
	}
	return out, nil
}

func listCertificates(ctx context.Context, c ACMAPI, region string) ([]inventory.Certificate, error) {
	var out []inventory.Certificate
	in := &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: acmKeyTypes()}, MaxItems: aws.Int32(1000)}
	p := acm.NewListCertificatesPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, s := range page.CertificateSummaryList {
			out = append(out, inventory.Certificate{
				ARN: aws.ToString(s.CertificateArn), Region: region, DomainName: aws.ToString(s.DomainName), Type: string(s.Type),
				Status: string(s.Status), KeyAlgorithm: string(s.KeyAlgorithm), InUse: aws.ToBool(s.InUse),
				RenewalEligibility: string(s.RenewalEligibility), CreatedAt: aws.ToTime(s.CreatedAt), NotAfter: aws.ToTime(s.NotAfter),
			})
		}
	}
	return out, nil
}

func listSecrets(ctx context.Context, c SecretsAPI, region string) ([]inventory.Secret, error) {
	var out []inventory.Secret
	p := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, e := range page.SecretList {
			s := inventory.Secret{
				ARN: aws.ToString(e.ARN), Name: aws.ToString(e.Name), Region: region, OwningService: aws.ToString(e.OwningService),
				CreatedDate: aws.ToTime(e.CreatedDate), LastChangedDate: e.LastChangedDate, LastAccessedDate: e.LastAccessedDate,
				RotationEnabled: aws.ToBool(e.RotationEnabled), RotationLambdaARN: aws.ToString(e.RotationLambdaARN),
				LastRotatedDate: e.LastRotatedDate, NextRotationDate: e.NextRotationDate, DeletedDate: e.DeletedDate,
			}
			if e.RotationRules != nil {
				s.RotationDays = int(aws.ToInt64(e.RotationRules.AutomaticallyAfterDays))
			}
			for _, t := range e.Tags {
				if s.Tags == nil {
					s.Tags = map[string]string{}
				}
				s.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			_, s.KeyrotStore = s.Tags[secretstore.TagUser]
			s.PendingVersion = pendingNotCurrent(e.SecretVersionsToStages)
			out = append(out, s)
		}
	}
	return out, nil
}

// pendingNotCurrent reports whether a version holds AWSPENDING without
// AWSCURRENT: a rotation that started and did not finish.
func pendingNotCurrent(stages map[string][]string) bool {
	for _, labels := range stages {
		if slices.Contains(labels, "AWSPENDING") && !slices.Contains(labels, "AWSCURRENT") {
			return true
		}
	}
	return false
}
