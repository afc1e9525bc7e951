package sandbox

import (
	"net/url"
	"sort"
	"strings"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// IAM policy management: inline policies of users, groups and roles
// (Put/Get/List/Delete…Policy), managed policy attachments
// (Attach/Detach/ListAttached…Policies), customer-managed policies
// (CreatePolicy, GetPolicy, GetPolicyVersion, ListPolicies) and GetRole, as
// far as keyrot, the AWS CLI and common tooling use them. Shapes follow
// botocore's iam-2010-05-08 model.

func iamPolicyActions() map[string]handler {
	m := map[string]handler{
		"CreatePolicy":     iamCreatePolicy,
		"GetPolicy":        iamGetPolicy,
		"GetPolicyVersion": iamGetPolicyVersion,
		"ListPolicies":     iamListPolicies,
		"GetRole":          iamGetRole,
	}
	for _, kind := range []string{"User", "Group", "Role"} {
		kind := kind
		m["Put"+kind+"Policy"] = func(r *request) (any, error) { return iamPutInline(r, kind) }
		m["Get"+kind+"Policy"] = func(r *request) (any, error) { return iamGetInline(r, kind) }
		m["Delete"+kind+"Policy"] = func(r *request) (any, error) { return iamDeleteInline(r, kind) }
		m["List"+kind+"Policies"] = func(r *request) (any, error) { return iamListInline(r, kind) }
		m["Attach"+kind+"Policy"] = func(r *request) (any, error) { return iamAttach(r, kind, true) }
		m["Detach"+kind+"Policy"] = func(r *request) (any, error) { return iamAttach(r, kind, false) }
		m["ListAttached"+kind+"Policies"] = func(r *request) (any, error) { return iamListAttached(r, kind) }
	}
	return m
}

// entityPolicies finds the user, group or role a policy request names and
// returns its name and attachments.
func (r *request) entityPolicies(kind string) (string, *Attachments, error) {
	param := kind + "Name"
	name, err := r.requireName(param, 128)
	if err != nil {
		return "", nil, err
	}
	switch kind {
	case "User":
		if u := r.acct.user(name); u != nil {
			return u.Name, &u.Policies, nil
		}
		return "", nil, noSuchUser(name)
	case "Group":
		if g := r.acct.group(name); g != nil {
			return g.Name, &g.Policies, nil
		}
		return "", nil, noSuchGroup(name)
	}
	if ro := r.acct.Roles[name]; ro != nil {
		return ro.Name, &ro.Policies, nil
	}
	return "", nil, errf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

// malformedPolicy is IAM's error for a document it rejects.
func malformedPolicy(err *policyError) error {
	return errf(400, "MalformedPolicyDocument", "%s", err.msg)
}

// policyDocParam reads and checks a PolicyDocument parameter.
func (r *request) policyDocParam(kind policyKind, max int) (string, error) {
	doc, err := r.requireParam("PolicyDocument")
	if err != nil {
		return "", err
	}
	if len(doc) > max {
		return "", errf(409, "LimitExceeded", "Maximum policy size of %d bytes exceeded.", max)
	}
	if perr := checkPolicy(doc, kind); perr != nil {
		return "", malformedPolicy(perr)
	}
	return doc, nil
}

// inlineSizeLimit is IAM's quota on a principal's inline policies.
var inlineSizeLimit = map[string]int{"User": 2048, "Group": 5120, "Role": 10240}

func iamPutInline(r *request, kind string) (any, error) {
	_, pols, err := r.entityPolicies(kind)
	if err != nil {
		return nil, err
	}
	pname, err := r.requireName("PolicyName", 128)
	if err != nil {
		return nil, err
	}
	doc, err := r.policyDocParam(kindIdentity, inlineSizeLimit[kind])
	if err != nil {
		return nil, err
	}
	pols.putInline(pname, doc)
	return nil, nil
}

type iamGetInlineResult struct {
	UserName       string `xml:"UserName,omitempty"`
	GroupName      string `xml:"GroupName,omitempty"`
	RoleName       string `xml:"RoleName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// inlinePolicy finds the inline policy a request names on a user, group
// or role: the entity's name, its attachments and the policy's name.
func (r *request) inlinePolicy(kind string) (name string, pols *Attachments, pname string, err error) {
	name, pols, err = r.entityPolicies(kind)
	if err != nil {
		return "", nil, "", err
	}
	pname, err = r.requireName("PolicyName", 128)
	if err != nil {
		return "", nil, "", err
	}
	if _, ok := pols.Inline[pname]; !ok {
		return "", nil, "", errf(404, "NoSuchEntity", "The %s policy with name %s cannot be found.", strings.ToLower(kind), pname)
	}
	return name, pols, pname, nil
}

func iamGetInline(r *request, kind string) (any, error) {
	name, pols, pname, err := r.inlinePolicy(kind)
	if err != nil {
		return nil, err
	}
	out := iamGetInlineResult{PolicyName: pname, PolicyDocument: url.QueryEscape(pols.Inline[pname])}
	switch kind {
	case "User":
		out.UserName = name
	case "Group":
		out.GroupName = name
	default:
		out.RoleName = name
	}
	return out, nil
}

func iamDeleteInline(r *request, kind string) (any, error) {
	_, pols, pname, err := r.inlinePolicy(kind)
	if err != nil {
		return nil, err
	}
	delete(pols.Inline, pname)
	return nil, nil
}

type iamListInlineResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

func iamListInline(r *request, kind string) (any, error) {
	_, pols, err := r.entityPolicies(kind)
	if err != nil {
		return nil, err
	}
	names := pols.inlineNames()
	start, end, next, err := r.pageParams(len(names))
	if err != nil {
		return nil, err
	}
	return iamListInlineResult{PolicyNames: append([]string{}, names[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

// managedPolicy finds a managed policy by ARN: the account's own or an
// AWS-managed one. It returns its name, path, ID and default document.
func (r *request) managedPolicy(arn string) (*ManagedPolicy, bool) {
	if mp := r.acct.Policies[arn]; mp != nil {
		return mp, true
	}
	if m, ok := iampolicy.Managed(arn); ok && m.Kind == iampolicy.KindIdentity {
		return awsManagedView(m), true
	}
	return nil, false
}

// awsManagedView presents an AWS-managed policy as a ManagedPolicy.
func awsManagedView(m *iampolicy.ManagedPolicy) *ManagedPolicy {
	path := m.Path
	if path == "" {
		path = "/"
	}
	return &ManagedPolicy{
		Name: m.Name, ARN: m.ARN, Path: path, ID: "ANPA" + strings.ToUpper(awsManagedIDSuffix(m.Name)),
		Versions: []*PolicyVersion{{ID: "v1", Document: m.Document, IsDefault: true}},
	}
}

// awsManagedIDSuffix derives a stable 17-character ID suffix from a name.
func awsManagedIDSuffix(name string) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	out := make([]byte, 17)
	for i := range out {
		out[i] = upperBase32[h%32]
		h = h/32 + uint64(i)*2654435761
	}
	return string(out)
}

func noSuchPolicy(arn string) error {
	return errf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
}

// policyARNParam reads a required PolicyArn.
func (r *request) policyARNParam() (string, error) {
	arn, err := r.requireParam("PolicyArn")
	if err != nil {
		return "", err
	}
	if len(arn) < 20 || len(arn) > 2048 || !strings.HasPrefix(arn, "arn:") {
		return "", errf(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	return arn, nil
}

func iamAttach(r *request, kind string, attach bool) (any, error) {
	_, pols, err := r.entityPolicies(kind)
	if err != nil {
		return nil, err
	}
	arn, err := r.policyARNParam()
	if err != nil {
		return nil, err
	}
	if attach {
		if _, ok := r.managedPolicy(arn); !ok {
			return nil, noSuchPolicy(arn)
		}
		if !pols.attach(arn) {
			return nil, nil
		}
		if len(pols.Attached) > 10 {
			pols.detach(arn)
			return nil, errf(409, "LimitExceeded", "Cannot exceed quota for PoliciesPer%s: 10", kind)
		}
		return nil, nil
	}
	if !pols.detach(arn) {
		return nil, errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	return nil, nil
}

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type iamListAttachedResult struct {
	AttachedPolicies []xmlAttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool                `xml:"IsTruncated"`
	Marker           string              `xml:"Marker,omitempty"`
}

func iamListAttached(r *request, kind string) (any, error) {
	_, pols, err := r.entityPolicies(kind)
	if err != nil {
		return nil, err
	}
	prefix, err := r.pathPrefixParam()
	if err != nil {
		return nil, err
	}
	var items []xmlAttachedPolicy
	for _, arn := range pols.Attached {
		mp, ok := r.managedPolicy(arn)
		if !ok || !strings.HasPrefix(mp.Path, prefix) {
			continue
		}
		items = append(items, xmlAttachedPolicy{PolicyName: mp.Name, PolicyArn: arn})
	}
	sort.Slice(items, func(i, j int) bool {
		return strings.ToLower(items[i].PolicyName) < strings.ToLower(items[j].PolicyName)
	})
	start, end, next, err := r.pageParams(len(items))
	if err != nil {
		return nil, err
	}
	return iamListAttachedResult{AttachedPolicies: append([]xmlAttachedPolicy{}, items[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

type xmlPolicy struct {
	PolicyName                    string `xml:"PolicyName"`
	PolicyID                      string `xml:"PolicyId"`
	Arn                           string `xml:"Arn"`
	Path                          string `xml:"Path"`
	DefaultVersionID              string `xml:"DefaultVersionId"`
	AttachmentCount               int    `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int    `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool   `xml:"IsAttachable"`
	Description                   string `xml:"Description,omitempty"`
	CreateDate                    string `xml:"CreateDate"`
	UpdateDate                    string `xml:"UpdateDate"`
}

type iamPolicyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

// attachmentCount counts the users, groups and roles of the account a
// policy is attached to.
func (a *Account) attachmentCount(arn string) int {
	n := 0
	has := func(p Attachments) {
		for _, x := range p.Attached {
			if x == arn {
				n++
			}
		}
	}
	for _, u := range a.Users {
		has(u.Policies)
	}
	for _, g := range a.Groups {
		has(g.Policies)
	}
	for _, ro := range a.Roles {
		has(ro.Policies)
	}
	return n
}

func (r *request) policyXML(mp *ManagedPolicy) xmlPolicy {
	v := mp.defaultVersion()
	x := xmlPolicy{
		PolicyName: mp.Name, PolicyID: mp.ID, Arn: mp.ARN, Path: mp.Path, DefaultVersionID: v.ID,
		AttachmentCount: r.acct.attachmentCount(mp.ARN), IsAttachable: true, Description: mp.Description,
		CreateDate: xmlTime(mp.CreateDate), UpdateDate: xmlTime(mp.UpdateDate),
	}
	if mp.CreateDate.IsZero() { // AWS-managed
		x.CreateDate, x.UpdateDate = "2015-02-06T18:39:46Z", "2015-02-06T18:39:46Z"
	}
	return x
}

func iamCreatePolicy(r *request) (any, error) {
	name, err := r.requireName("PolicyName", 128)
	if err != nil {
		return nil, err
	}
	path, err := r.pathParam()
	if err != nil {
		return nil, err
	}
	doc, err := r.policyDocParam(kindIdentity, 6144)
	if err != nil {
		return nil, err
	}
	for _, p := range r.acct.Policies {
		if strings.EqualFold(p.Name, name) {
			return nil, errf(409, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	arn := "arn:aws:iam::" + r.acct.ID + ":policy" + path + name
	mp := &ManagedPolicy{
		Name: name, ID: newUniqueID("ANPA"), ARN: arn, Path: path, Description: r.param("Description"),
		CreateDate: r.now, UpdateDate: r.now,
		Versions: []*PolicyVersion{{ID: "v1", Document: doc, IsDefault: true, CreateDate: r.now}},
	}
	if r.acct.Policies == nil {
		r.acct.Policies = map[string]*ManagedPolicy{}
	}
	r.acct.Policies[arn] = mp
	return iamPolicyResult{Policy: r.policyXML(mp)}, nil
}

func iamGetPolicy(r *request) (any, error) {
	arn, err := r.policyARNParam()
	if err != nil {
		return nil, err
	}
	mp, ok := r.managedPolicy(arn)
	if !ok {
		return nil, errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	return iamPolicyResult{Policy: r.policyXML(mp)}, nil
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type iamGetPolicyVersionResult struct {
	PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
}

func iamGetPolicyVersion(r *request) (any, error) {
	arn, err := r.policyARNParam()
	if err != nil {
		return nil, err
	}
	vid, err := r.requireParam("VersionId")
	if err != nil {
		return nil, err
	}
	mp, ok := r.managedPolicy(arn)
	if !ok {
		return nil, errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	for _, v := range mp.Versions {
		if v.ID == vid {
			created := xmlTime(v.CreateDate)
			if v.CreateDate.IsZero() {
				created = "2015-02-06T18:39:46Z"
			}
			return iamGetPolicyVersionResult{PolicyVersion: xmlPolicyVersion{
				Document: url.QueryEscape(v.Document), VersionID: v.ID, IsDefaultVersion: v.IsDefault, CreateDate: created,
			}}, nil
		}
	}
	return nil, errf(404, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", arn, vid)
}

type iamListPoliciesResult struct {
	Policies    []xmlPolicy `xml:"Policies>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

func iamListPolicies(r *request) (any, error) {
	scope := r.param("Scope")
	switch scope {
	case "", "All", "AWS", "Local":
	default:
		return nil, validationError(scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]")
	}
	prefix, err := r.pathPrefixParam()
	if err != nil {
		return nil, err
	}
	onlyAttached := r.param("OnlyAttached") == "true"
	var all []*ManagedPolicy
	if scope != "Local" {
		for _, m := range iampolicy.ManagedPolicies() {
			if m.Kind == iampolicy.KindIdentity {
				all = append(all, awsManagedView(m))
			}
		}
	}
	if scope != "AWS" {
		for _, arn := range sortedKeys(r.acct.Policies) {
			all = append(all, r.acct.Policies[arn])
		}
	}
	var items []xmlPolicy
	for _, mp := range all {
		x := r.policyXML(mp)
		if !strings.HasPrefix(mp.Path, prefix) || (onlyAttached && x.AttachmentCount == 0) {
			continue
		}
		items = append(items, x)
	}
	start, end, next, err := r.pageParams(len(items))
	if err != nil {
		return nil, err
	}
	return iamListPoliciesResult{Policies: append([]xmlPolicy{}, items[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

type xmlRole struct {
	Path                     string      `xml:"Path"`
	RoleName                 string      `xml:"RoleName"`
	RoleID                   string      `xml:"RoleId"`
	Arn                      string      `xml:"Arn"`
	CreateDate               string      `xml:"CreateDate"`
	AssumeRolePolicyDocument string      `xml:"AssumeRolePolicyDocument"`
	MaxSessionDuration       int         `xml:"MaxSessionDuration"`
	Tags                     *xmlTagList `xml:"Tags"`
}

type iamGetRoleResult struct {
	Role xmlRole `xml:"Role"`
}

func iamGetRole(r *request) (any, error) {
	name, err := r.requireName("RoleName", 64)
	if err != nil {
		return nil, err
	}
	ro := r.acct.Roles[name]
	if ro == nil {
		return nil, errf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
	}
	path := ro.Path
	if path == "" {
		path = "/"
	}
	return iamGetRoleResult{Role: xmlRole{
		Path: path, RoleName: ro.Name, RoleID: ro.ID, Arn: ro.ARN, CreateDate: xmlTime(ro.CreateDate),
		AssumeRolePolicyDocument: trustPolicy(ro), MaxSessionDuration: stsRoleMaxSession, Tags: optionalTags(ro.Tags),
	}}, nil
}
