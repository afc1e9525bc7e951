package sandbox

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// Organizations (JSON 1.1, target prefix "AWSOrganizationsV20161128.").
// Everything except DescribeOrganization may only be called from the
// management account, as in AWS (the sandbox has no delegated administrators).

func orgActions() map[string]handler {
	m := map[string]handler{
		"DescribeOrganization":             orgDescribeOrganization,
		"DescribeAccount":                  orgMgmt(orgDescribeAccount),
		"DescribeOrganizationalUnit":       orgMgmt(orgDescribeOU),
		"ListAccounts":                     orgMgmt(orgListAccounts),
		"ListAccountsForParent":            orgMgmt(orgListAccountsForParent),
		"ListRoots":                        orgMgmt(orgListRoots),
		"ListOrganizationalUnitsForParent": orgMgmt(orgListOUsForParent),
		"ListChildren":                     orgMgmt(orgListChildren),
		"ListParents":                      orgMgmt(orgListParents),
		"ListTagsForResource":              orgMgmt(orgListTagsForResource),
	}
	for name, h := range orgPolicyActions() {
		m[name] = h
	}
	return m
}

const orgMaxResults = 20

func orgErr(code, format string, args ...any) error { return errf(400, code, format, args...) }

// orgInvalid is Organizations' InvalidInputException with its Reason (the
// model's InvalidInputExceptionReason: MIN_VALUE_EXCEEDED, INVALID_NEXT_TOKEN…).
func orgInvalid(reason, format string, args ...any) error {
	e := errf(400, "InvalidInputException", format, args...)
	e.Fields = map[string]string{"Reason": reason}
	return e
}

// orgMgmt wraps a handler that only the management account's admins may call.
func orgMgmt(h handler) handler {
	return func(r *request) (any, error) {
		if r.caller.AccountID != r.st.ManagementAccountID {
			return nil, orgErr("AccessDeniedException", "You don't have permissions to access this resource.")
		}
		if !r.isAdmin() {
			return nil, orgErr("AccessDeniedException", "User: %s is not authorized to perform: organizations:%s", r.caller.ARN, r.action)
		}
		return h(r)
	}
}

func (r *request) orgARN(kind, id string) string {
	mg := r.st.ManagementAccountID
	switch kind {
	case "organization":
		return "arn:aws:organizations::" + mg + ":organization/" + r.st.OrgID
	default:
		return "arn:aws:organizations::" + mg + ":" + kind + "/" + r.st.OrgID + "/" + id
	}
}

// orgPage slices n items by an opaque token bound to the operation.
// maxResults is nil when the request gives none; the model's minimum is 1,
// so an explicit 0 is refused.
func orgPage(r *request, n int, token string, maxResults *int) (start, end int, next string, err error) {
	max := orgMaxResults
	if maxResults != nil {
		max = *maxResults
	}
	if max < 1 {
		return 0, 0, "", orgInvalid("MIN_VALUE_EXCEEDED", "You provided a value that is lower than the minimum allowed value.")
	}
	if max > orgMaxResults {
		return 0, 0, "", orgInvalid("MAX_VALUE_EXCEEDED", "You provided a value that exceeds the maximum allowed value.")
	}
	prefix := "org:" + r.action + ":"
	if token != "" {
		b, derr := base64.RawURLEncoding.DecodeString(token)
		i, perr := strconv.Atoi(strings.TrimPrefix(string(b), prefix))
		if derr != nil || perr != nil || !strings.HasPrefix(string(b), prefix) || i < 0 || i > n {
			return 0, 0, "", orgInvalid("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.")
		}
		start = i
	}
	end = start + max
	if end >= n {
		return start, n, "", nil
	}
	return start, end, base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.Itoa(end))), nil
}

// --- shapes ---

type orgAccount struct {
	Id              string `json:"Id"`
	Arn             string `json:"Arn"`
	Email           string `json:"Email"`
	Name            string `json:"Name"`
	Status          string `json:"Status"`
	State           string `json:"State"`
	JoinedMethod    string `json:"JoinedMethod"`
	JoinedTimestamp epoch  `json:"JoinedTimestamp"`
}

func (r *request) orgAccountOut(a *Account) orgAccount {
	status, state := a.Status, a.Status
	switch a.Status {
	case "":
		status, state = "ACTIVE", "ACTIVE"
	case "CLOSED":
		status = "SUSPENDED"
	case "PENDING_ACTIVATION":
		status = "ACTIVE"
	}
	method := "CREATED"
	if a.ID == r.st.ManagementAccountID {
		method = "INVITED"
	}
	return orgAccount{
		Id: a.ID, Arn: r.orgARN("account", a.ID), Email: a.Email, Name: a.Name,
		Status: status, State: state, JoinedMethod: method, JoinedTimestamp: epoch(a.Joined),
	}
}

type orgOU struct {
	Id   string `json:"Id"`
	Arn  string `json:"Arn"`
	Name string `json:"Name"`
}

type orgPolicyType struct {
	Type   string `json:"Type"`
	Status string `json:"Status"`
}

type orgRoot struct {
	Id          string          `json:"Id"`
	Arn         string          `json:"Arn"`
	Name        string          `json:"Name"`
	PolicyTypes []orgPolicyType `json:"PolicyTypes"`
}

type orgTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// orgParentType names the kind of a parent or child ID, or "" if it does not exist.
func orgKind(st *State, id string) string {
	switch {
	case id == st.RootID:
		return "ROOT"
	case st.OUs[id] != nil:
		return "ORGANIZATIONAL_UNIT"
	case st.Accounts[id] != nil:
		return "ACCOUNT"
	}
	return ""
}

func orgCheckParent(r *request, id string) error {
	if id == "" {
		return orgInvalid("INPUT_REQUIRED", "You must specify a ParentId.")
	}
	if k := orgKind(r.st, id); k != "ROOT" && k != "ORGANIZATIONAL_UNIT" {
		return orgErr("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
	}
	return nil
}

func orgSortedOUs(st *State, parent string) []*OU {
	var ous []*OU
	for _, ou := range st.OUs {
		if ou.ParentID == parent {
			ous = append(ous, ou)
		}
	}
	sort.Slice(ous, func(i, j int) bool { return ous[i].ID < ous[j].ID })
	return ous
}

func orgAccountsIn(st *State, parent string) []*Account {
	var out []*Account
	for _, a := range st.sortedAccounts() {
		if parent == "" || a.ParentID == parent {
			out = append(out, a)
		}
	}
	return out
}

// --- operations ---

type orgListInput struct {
	MaxResults *int
	NextToken  string
	ParentId   string
	ChildId    string
	ChildType  string
	ResourceId string
}

func orgDescribeOrganization(r *request) (any, error) {
	if !r.isAdmin() {
		return nil, orgErr("AccessDeniedException", "User: %s is not authorized to perform: organizations:DescribeOrganization", r.caller.ARN)
	}
	mg := r.st.Accounts[r.st.ManagementAccountID]
	type organization struct {
		Id                   string          `json:"Id"`
		Arn                  string          `json:"Arn"`
		FeatureSet           string          `json:"FeatureSet"`
		MasterAccountArn     string          `json:"MasterAccountArn"`
		MasterAccountId      string          `json:"MasterAccountId"`
		MasterAccountEmail   string          `json:"MasterAccountEmail"`
		AvailablePolicyTypes []orgPolicyType `json:"AvailablePolicyTypes"`
	}
	email := ""
	if mg != nil {
		email = mg.Email
	}
	return map[string]organization{"Organization": {
		Id: r.st.OrgID, Arn: r.orgARN("organization", ""), FeatureSet: "ALL",
		MasterAccountArn: r.orgARN("account", r.st.ManagementAccountID), MasterAccountId: r.st.ManagementAccountID,
		MasterAccountEmail: email, AvailablePolicyTypes: []orgPolicyType{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}},
	}}, nil
}

func orgDescribeAccount(r *request) (any, error) {
	var in struct{ AccountId string }
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.AccountId) != 12 || strings.Trim(in.AccountId, digits) != "" {
		return nil, orgInvalid("INVALID_PATTERN", "You specified an invalid value for AccountId.")
	}
	a := r.st.Accounts[in.AccountId]
	if a == nil {
		return nil, orgErr("AccountNotFoundException", "You specified an account that doesn't exist.")
	}
	return map[string]orgAccount{"Account": r.orgAccountOut(a)}, nil
}

func orgDescribeOU(r *request) (any, error) {
	var in struct{ OrganizationalUnitId string }
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	ou := r.st.OUs[in.OrganizationalUnitId]
	if ou == nil {
		return nil, orgErr("OrganizationalUnitNotFoundException", "You specified an OU that doesn't exist.")
	}
	return map[string]orgOU{"OrganizationalUnit": {Id: ou.ID, Arn: r.orgARN("ou", ou.ID), Name: ou.Name}}, nil
}

type orgAccountsOutput struct {
	Accounts  []orgAccount `json:"Accounts"`
	NextToken string       `json:"NextToken,omitempty"`
}

func orgListAccountsUnder(r *request, parent string, in orgListInput) (any, error) {
	as := orgAccountsIn(r.st, parent)
	start, end, next, err := orgPage(r, len(as), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := orgAccountsOutput{Accounts: []orgAccount{}, NextToken: next}
	for _, a := range as[start:end] {
		out.Accounts = append(out.Accounts, r.orgAccountOut(a))
	}
	return out, nil
}

func orgListAccounts(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	return orgListAccountsUnder(r, "", in)
}

func orgListAccountsForParent(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := orgCheckParent(r, in.ParentId); err != nil {
		return nil, err
	}
	return orgListAccountsUnder(r, in.ParentId, in)
}

func orgListRoots(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	start, end, next, err := orgPage(r, 1, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	roots := []orgRoot{{Id: r.st.RootID, Arn: r.orgARN("root", r.st.RootID), Name: "Root", PolicyTypes: []orgPolicyType{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}}}}
	return struct {
		Roots     []orgRoot `json:"Roots"`
		NextToken string    `json:"NextToken,omitempty"`
	}{roots[start:end], next}, nil
}

func orgListOUsForParent(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := orgCheckParent(r, in.ParentId); err != nil {
		return nil, err
	}
	ous := orgSortedOUs(r.st, in.ParentId)
	start, end, next, err := orgPage(r, len(ous), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []orgOU{}
	for _, ou := range ous[start:end] {
		out = append(out, orgOU{Id: ou.ID, Arn: r.orgARN("ou", ou.ID), Name: ou.Name})
	}
	return struct {
		OrganizationalUnits []orgOU `json:"OrganizationalUnits"`
		NextToken           string  `json:"NextToken,omitempty"`
	}{out, next}, nil
}

type orgIDType struct {
	Id   string `json:"Id"`
	Type string `json:"Type"`
}

func orgListChildren(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := orgCheckParent(r, in.ParentId); err != nil {
		return nil, err
	}
	var ids []string
	switch in.ChildType {
	case "ACCOUNT":
		for _, a := range orgAccountsIn(r.st, in.ParentId) {
			ids = append(ids, a.ID)
		}
	case "ORGANIZATIONAL_UNIT":
		for _, ou := range orgSortedOUs(r.st, in.ParentId) {
			ids = append(ids, ou.ID)
		}
	default:
		return nil, orgInvalid("INVALID_ENUM", "You specified an invalid value for ChildType.")
	}
	start, end, next, err := orgPage(r, len(ids), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []orgIDType{}
	for _, id := range ids[start:end] {
		out = append(out, orgIDType{Id: id, Type: in.ChildType})
	}
	return struct {
		Children  []orgIDType `json:"Children"`
		NextToken string      `json:"NextToken,omitempty"`
	}{out, next}, nil
}

func orgListParents(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	var parent string
	switch orgKind(r.st, in.ChildId) {
	case "ACCOUNT":
		parent = r.st.Accounts[in.ChildId].ParentID
	case "ORGANIZATIONAL_UNIT":
		parent = r.st.OUs[in.ChildId].ParentID
	default:
		return nil, orgErr("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
	}
	if parent == "" {
		parent = r.st.RootID
	}
	start, end, next, err := orgPage(r, 1, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	parents := []orgIDType{{Id: parent, Type: orgKind(r.st, parent)}}
	return struct {
		Parents   []orgIDType `json:"Parents"`
		NextToken string      `json:"NextToken,omitempty"`
	}{parents[start:end], next}, nil
}

func orgListTagsForResource(r *request) (any, error) {
	var in orgListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	var tags map[string]string
	switch orgKind(r.st, in.ResourceId) {
	case "ACCOUNT":
		tags = r.st.Accounts[in.ResourceId].Tags
	case "ROOT", "ORGANIZATIONAL_UNIT":
	default:
		return nil, orgErr("TargetNotFoundException", "We can't find a resource with the ResourceId that you specified.")
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	start, end, next, err := orgPage(r, len(keys), in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []orgTag{}
	for _, k := range keys[start:end] {
		out = append(out, orgTag{Key: k, Value: tags[k]})
	}
	return struct {
		Tags      []orgTag `json:"Tags"`
		NextToken string   `json:"NextToken,omitempty"`
	}{out, next}, nil
}
