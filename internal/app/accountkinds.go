package app

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// kindsOptions says which of the accounts' other long-term credentials the
// collector reads: IAM server certificates always; ACM certificates,
// secrets and IAM Roles Anywhere trust anchors in the policy's regions,
// in every region enabled for each account when the policy says
// [enabled], or in the region keyrot runs with when the policy names none.
func kindsOptions(p *policy.Policy, acc *awsaccess.Accounts, region string) *collect.Kinds {
	regions := func(rs []string) []string {
		if slices.Contains(rs, policy.EnabledRegions) {
			return []string{collect.EnabledRegions}
		}
		if len(rs) > 0 {
			return rs
		}
		if region == "" {
			return nil
		}
		return []string{region}
	}
	return &collect.Kinds{
		Clients:            collect.AccessKindsFactory(acc),
		ServerCertificates: true,
		CertificateRegions: regions(p.Certificates.Regions),
		SecretRegions:      regions(p.Secrets.Regions),
		TrustAnchorRegions: regions(p.TrustAnchors.Regions),
	}
}

// secretDue is the planner's view of the policy's secret rotation
// schedules (audit.SecretRotationDue).
func secretDue(p *policy.Policy) plan.SecretDue {
	return func(_ *inventory.Account, s *inventory.Secret) (time.Time, string, bool) {
		return audit.SecretRotationDue(p, *s)
	}
}

// SecretRotation returns a Secrets Manager client acting in account and
// region, for rotate-secret actions.
func (c *Clients) SecretRotation(ctx context.Context, account, region string) (execute.SecretRotationAPI, error) {
	cfg, err := c.config(ctx, account)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Copy()
	if region != "" {
		cfg.Region = region
	}
	return secretsmanager.NewFromConfig(cfg), nil
}
