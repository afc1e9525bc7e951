package sandbox

import (
	"slices"
	"sort"
)

// Regions and their opt-in status, and the Account Management API's
// ListRegions (REST-JSON, signing name account, global: signed for
// us-east-1):
//
//	POST /listRegions {"AccountId", "MaxResults", "NextToken", "RegionOptStatusContains"} ->
//	{"NextToken", "Regions": [{"RegionName", "RegionOptStatus"}]}
//
// as the AWS Account Management API reference documents it: MaxResults
// from 1 to 50, RegionOptStatus one of ENABLED, ENABLING, DISABLING,
// DISABLED, ENABLED_BY_DEFAULT. AccountId may only be given by the
// management account, for a member account; without it the caller's own
// account is listed.
//
// Regions introduced before March 2019 are enabled by default; later ones
// must be opted into (ScenarioAccount.OptInRegions). A regional request
// signed for a region the account has not enabled is refused as AWS
// refuses it: the security token is not valid there.

// defaultRegions are enabled for every account.
var defaultRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// optInRegions are disabled until the account enables them.
var optInRegions = []string{
	"af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
	"ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
}

var regionOptStatuses = []string{"ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT"}

// regionalService reports whether a service's requests are bound to the
// region they are signed for (global services are not).
func regionalService(service string) bool {
	switch service {
	case "iam", "sts", "organizations", "account":
		return false
	}
	return true
}

// regionStatus is the account's opt-in status of region; "" for a region
// the sandbox does not know (treated as enabled).
func (a *Account) regionStatus(region string) string {
	switch {
	case slices.Contains(defaultRegions, region):
		return "ENABLED_BY_DEFAULT"
	case slices.Contains(optInRegions, region):
		if slices.Contains(a.OptInRegions, region) {
			return "ENABLED"
		}
		return "DISABLED"
	}
	return ""
}

// checkRegionLocked refuses a regional request signed for a region the
// account has not enabled.
func checkRegionLocked(r *request) error {
	if !regionalService(r.service) || r.acct.regionStatus(r.region) != "DISABLED" {
		return nil
	}
	if r.service == "sns" {
		return errf(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	return errf(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
}

func accountRoutes() []restRoute {
	return []restRoute{{Method: "POST", Path: "/listRegions", Action: "ListRegions", H: accountListRegions}}
}

func accountListRegions(r *request) (any, error) {
	var in struct {
		AccountID               string   `json:"AccountId"`
		MaxResults              *int     `json:"MaxResults"`
		NextToken               string   `json:"NextToken"`
		RegionOptStatusContains []string `json:"RegionOptStatusContains"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	acct := r.acct
	if in.AccountID != "" {
		switch {
		case in.AccountID == r.acct.ID && r.acct.ID == r.st.ManagementAccountID:
			return nil, errf(400, "ValidationException", "The management account can't specify its own AccountId.")
		case r.acct.ID != r.st.ManagementAccountID:
			return nil, errf(403, "AccessDeniedException", "User: %s is not authorized to perform: account:ListRegions on an account other than its own", r.caller.ARN)
		case r.st.Accounts[in.AccountID] == nil:
			return nil, errf(403, "AccessDeniedException", "The specified account %s is not a member of the organization.", in.AccountID)
		}
		acct = r.st.Accounts[in.AccountID]
	}
	for _, s := range in.RegionOptStatusContains {
		if !slices.Contains(regionOptStatuses, s) {
			return nil, errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'regionOptStatusContains' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, ENABLING, DISABLING, DISABLED, ENABLED_BY_DEFAULT]", s)
		}
	}
	max := 20
	if in.MaxResults != nil {
		max = *in.MaxResults
		if max < 1 || max > 50 {
			return nil, errf(400, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", max)
		}
	}
	type region struct {
		RegionName      string `json:"RegionName"`
		RegionOptStatus string `json:"RegionOptStatus"`
	}
	var list []region
	all := append(slices.Clone(defaultRegions), optInRegions...)
	sort.Strings(all)
	for _, name := range all {
		st := acct.regionStatus(name)
		if len(in.RegionOptStatusContains) > 0 && !slices.Contains(in.RegionOptStatusContains, st) {
			continue
		}
		list = append(list, region{name, st})
	}
	start, end, next, err := page(len(list), in.NextToken, max, 20, 50)
	if err != nil {
		return nil, errf(400, "ValidationException", "Invalid NextToken")
	}
	return struct {
		NextToken string   `json:"NextToken,omitempty"`
		Regions   []region `json:"Regions"`
	}{next, append([]region{}, list[start:end]...)}, nil
}
