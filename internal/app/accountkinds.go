package app

import (
	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/policy"
)

// kindsOptions says which of the accounts' other long-term credentials the
// collector reads: IAM server certificates always, ACM certificates and
// secrets in the policy's regions, or in the region keyrot runs with when
// the policy names none.
func kindsOptions(p *policy.Policy, acc *awsaccess.Accounts, region string) *collect.Kinds {
	regions := func(rs []string) []string {
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
	}
}
