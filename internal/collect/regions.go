package collect

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accounttypes "github.com/aws/aws-sdk-go-v2/service/account/types"
)

// Enabled-region discovery.
//
// A kind whose regions are [EnabledRegions] is read in every region
// enabled for the account. keyrot asks the account once per run with
// account:ListRegions filtered on ENABLED and ENABLED_BY_DEFAULT: one call
// per 50 regions (a page), so one call today, made with the account's own
// role (no AccountId, so the organization's trusted access for Account
// Management is not needed). ec2:DescribeRegions would answer the same
// question with a permission just as narrow, but takes the EC2 client,
// the largest module of the SDK, for one call.

// EnabledRegions, as the only entry of a Kinds region list, stands for
// every region enabled for the account.
const EnabledRegions = "enabled"

// RegionsAPI lists the regions of an account (the Account Management API).
type RegionsAPI interface {
	ListRegions(context.Context, *account.ListRegionsInput, ...func(*account.Options)) (*account.ListRegionsOutput, error)
}

var _ RegionsAPI = (*account.Client)(nil)

// listEnabledRegions returns the regions enabled for the caller's
// account, in the order AWS lists them.
func listEnabledRegions(ctx context.Context, c RegionsAPI) ([]string, error) {
	var out []string
	in := &account.ListRegionsInput{
		MaxResults:              aws.Int32(50),
		RegionOptStatusContains: []accounttypes.RegionOptStatus{accounttypes.RegionOptStatusEnabled, accounttypes.RegionOptStatusEnabledByDefault},
	}
	p := account.NewListRegionsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Regions {
			if n := aws.ToString(r.RegionName); n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// wantsEnabled reports whether a kind's regions ask for every enabled region.
func wantsEnabled(rs []string) bool { return slices.Contains(rs, EnabledRegions) }

// expandRegions replaces EnabledRegions with the account's enabled regions.
func expandRegions(rs, enabled []string) []string {
	if !wantsEnabled(rs) {
		return rs
	}
	return enabled
}
