package sandbox

import (
	"sort"
	"strings"
)

// Organizations' service control policy reads: ListPolicies,
// DescribePolicy, ListPoliciesForTarget and ListTargetsForPolicy, with the
// shapes of botocore's organizations-2016-11-28 model. Only the
// SERVICE_CONTROL_POLICY type exists in the sandbox.

func orgPolicyActions() map[string]handler {
	return map[string]handler{
		"ListPolicies":          orgMgmt(orgListPolicies),
		"DescribePolicy":        orgMgmt(orgDescribePolicy),
		"ListPoliciesForTarget": orgMgmt(orgListPoliciesForTarget),
		"ListTargetsForPolicy":  orgMgmt(orgListTargetsForPolicy),
	}
}

type orgPolicySummary struct {
	Id          string `json:"Id"`
	Arn         string `json:"Arn"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
	Type        string `json:"Type"`
	AwsManaged  bool   `json:"AwsManaged"`
}

func scpSummary(p *SCP) orgPolicySummary {
	return orgPolicySummary{Id: p.ID, Arn: p.ARN, Name: p.Name, Description: p.Description, Type: "SERVICE_CONTROL_POLICY", AwsManaged: p.AWSManaged}
}

type orgPolicyInput struct {
	Filter     string
	PolicyId   string
	TargetId   string
	NextToken  string
	MaxResults *int
}

// orgSCPs returns FullAWSAccess and the organization's SCPs by name.
func orgSCPs(st *State) []*SCP {
	out := []*SCP{fullAWSAccess}
	for _, id := range sortedKeys(st.SCPs) {
		out = append(out, st.SCPs[id])
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	return out
}

func orgCheckFilter(f string) error {
	switch f {
	case "SERVICE_CONTROL_POLICY":
		return nil
	case "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "RESOURCE_CONTROL_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2":
		return orgErr("PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types.")
	case "":
		return orgErr("InvalidInputException", "You provided a value that does not match the required pattern.")
	}
	return orgErr("InvalidInputException", "You provided a value that does not match the required pattern.")
}

func orgPolicyPage(r *request, in orgPolicyInput, ps []*SCP) (any, error) {
	start, end, next, err := orgPage(r, len(ps), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []orgPolicySummary{}
	for _, p := range ps[start:end] {
		out = append(out, scpSummary(p))
	}
	return struct {
		Policies  []orgPolicySummary `json:"Policies"`
		NextToken string             `json:"NextToken,omitempty"`
	}{out, next}, nil
}

func orgListPolicies(r *request) (any, error) {
	var in orgPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := orgCheckFilter(in.Filter); err != nil {
		return nil, err
	}
	return orgPolicyPage(r, in, orgSCPs(r.st))
}

// orgFindSCP finds an SCP by ID.
func orgFindSCP(r *request, id string) (*SCP, error) {
	if id == fullAWSAccessID {
		return fullAWSAccess, nil
	}
	if p := r.st.SCPs[id]; p != nil {
		return p, nil
	}
	return nil, orgErr("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
}

func orgDescribePolicy(r *request) (any, error) {
	var in orgPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	p, err := orgFindSCP(r, in.PolicyId)
	if err != nil {
		return nil, err
	}
	type policy struct {
		PolicySummary orgPolicySummary `json:"PolicySummary"`
		Content       string           `json:"Content"`
	}
	return struct {
		Policy policy `json:"Policy"`
	}{policy{scpSummary(p), p.Document}}, nil
}

// orgTargetExists reports whether id is the root, an OU or an account.
func orgTargetExists(st *State, id string) bool {
	return id == st.RootID || st.OUs[id] != nil || st.Accounts[id] != nil
}

func orgListPoliciesForTarget(r *request) (any, error) {
	var in orgPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := orgCheckFilter(in.Filter); err != nil {
		return nil, err
	}
	if !orgTargetExists(r.st, in.TargetId) {
		return nil, orgErr("TargetNotFoundException", "We can't find a root, OU, account, or email address with the TargetId that you specified.")
	}
	var ps []*SCP
	for _, p := range orgSCPs(r.st) {
		if p == fullAWSAccess {
			ps = append(ps, p)
			continue
		}
		for _, t := range p.Targets {
			if t == in.TargetId {
				ps = append(ps, p)
				break
			}
		}
	}
	return orgPolicyPage(r, in, ps)
}

type orgPolicyTarget struct {
	TargetId string `json:"TargetId"`
	Arn      string `json:"Arn"`
	Name     string `json:"Name"`
	Type     string `json:"Type"`
}

func orgListTargetsForPolicy(r *request) (any, error) {
	var in orgPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	p, err := orgFindSCP(r, in.PolicyId)
	if err != nil {
		return nil, err
	}
	ids := p.Targets
	if p == fullAWSAccess {
		ids = append([]string{r.st.RootID}, sortedKeys(r.st.OUs)...)
		ids = append(ids, sortedKeys(r.st.Accounts)...)
	}
	var targets []orgPolicyTarget
	for _, id := range ids {
		switch {
		case id == r.st.RootID:
			targets = append(targets, orgPolicyTarget{TargetId: id, Arn: r.orgARN("root", id), Name: "Root", Type: "ROOT"})
		case strings.HasPrefix(id, "ou-"):
			if ou := r.st.OUs[id]; ou != nil {
				targets = append(targets, orgPolicyTarget{TargetId: id, Arn: r.orgARN("ou", id), Name: ou.Name, Type: "ORGANIZATIONAL_UNIT"})
			}
		default:
			if a := r.st.Accounts[id]; a != nil {
				targets = append(targets, orgPolicyTarget{TargetId: id, Arn: r.orgARN("account", id), Name: a.Name, Type: "ACCOUNT"})
			}
		}
	}
	start, end, next, err := orgPage(r, len(targets), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Targets   []orgPolicyTarget `json:"Targets"`
		NextToken string            `json:"NextToken,omitempty"`
	}{append([]orgPolicyTarget{}, targets[start:end]...), next}, nil
}
