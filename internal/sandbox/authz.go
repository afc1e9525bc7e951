package sandbox

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// The sandbox authorizes every AWS request as IAM does: the caller's
// identity policies (the user's and its groups', or the assumed role's),
// the resource's policy (a secret's resource policy, a role's trust
// policy) and the SCPs on the caller's account's organization path are
// evaluated by iampolicy following AWS's evaluation logic. A denial is the
// service's own error with AWS's message. docs/sandbox.md describes it.

// authzTarget is what a request asks to do: the IAM action, the resource,
// the resource's owner and policy, and the request's condition keys.
type authzTarget struct {
	action   string // iam:CreateAccessKey
	resource string // an ARN, or "*"
	// shown is the resource as the error message names it; resource when
	// empty (Secrets Manager names the SecretId as the caller gave it).
	shown           string
	resourceAccount string
	// policy is the resource's policy document and its kind; "" for none.
	policy     string
	policyKind policyKind
	ctx        map[string][]string
	// free marks actions that need no permission (sts:GetCallerIdentity).
	free bool
	// grant, for a KMS key, returns the ID of a grant that gives the
	// caller the action ("" for none). KMS considers grants along with
	// the key policy and IAM policies: a grant allows what neither
	// allowed, but cannot override a deny or an SCP.
	grant func(c iampolicy.Caller) string
}

func (t *authzTarget) set(key string, vals ...string) {
	if t.ctx == nil {
		t.ctx = map[string][]string{}
	}
	t.ctx[key] = vals
}

// tagKeys sets the resource-tag condition keys of a resource with tags;
// prefixes are aws (every service) and the service's own (iam).
func (t *authzTarget) resourceTags(tags []Tag, prefixes ...string) {
	for _, tg := range tags {
		for _, p := range prefixes {
			t.set(p+":ResourceTag/"+tg.Key, tg.Value)
		}
	}
}

// requestTags sets aws:RequestTag/… and aws:TagKeys.
func (t *authzTarget) requestTags(tags []Tag) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, 0, len(tags))
	for _, tg := range tags {
		t.set("aws:RequestTag/"+tg.Key, tg.Value)
		keys = append(keys, tg.Key)
	}
	t.set("aws:TagKeys", keys...)
}

// AuthzDecision is one authorization decision, as the control API's
// decision log records it.
type AuthzDecision struct {
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Account   string    `json:"account"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource"`
	// Decision is Allow, ExplicitDeny or ImplicitDeny.
	Decision string `json:"decision"`
	// PolicyType is the kind of policy that decided: identity, resource,
	// trust or scp; empty when none applied.
	PolicyType string `json:"policy_type,omitempty"`
	// Policy and Statement name the deciding policy and statement.
	Policy    string `json:"policy,omitempty"`
	Statement string `json:"statement,omitempty"`
	// Enforced is false when the sandbox runs permissive: the decision was
	// recorded but the request went ahead.
	Enforced bool `json:"enforced"`
}

// authzLog records decisions while on.
type authzLog struct {
	on      bool
	entries []AuthzDecision
}

// maxAuthzLog bounds the decision log.
const maxAuthzLog = 200000

// callerFor builds the evaluator's view of a principal and its identity
// policies. Called with s.mu held.
func (s *Server) callerFor(p *principal) (iampolicy.Caller, []iampolicy.NamedPolicy) {
	st := s.st
	c := iampolicy.Caller{ARN: p.ARN, Account: p.AccountID, UniqueID: p.UserID, ManagementAccount: p.AccountID == st.ManagementAccountID}
	a := st.Accounts[p.AccountID]
	if a != nil {
		c.OrgID = st.OrgID
		c.OrgPaths = []string{st.orgPath(a)}
	}
	var pols []iampolicy.NamedPolicy
	switch p.Kind {
	case "admin", "root":
		// The sandbox admin is the management account's administrator; a
		// root user is not governed by identity policies (only SCPs).
		if m, ok := iampolicy.Managed("AdministratorAccess"); ok {
			pols = append(pols, m.Named())
		}
	case "user":
		if a == nil {
			break
		}
		u := a.user(p.UserName)
		if u == nil {
			break
		}
		c.UniqueID = u.ID
		c.Tags = tagMap(u.Tags)
		sets := []Attachments{u.Policies}
		for _, gn := range u.Groups {
			if g := a.Groups[strings.ToLower(gn)]; g != nil {
				sets = append(sets, g.Policies)
			}
		}
		pols = s.policies.identityPolicies(a, sets...)
	case "session":
		ss := p.Session
		c.UniqueID = ss.RoleID
		c.RoleARN = "arn:aws:iam::" + ss.AccountID + ":role/" + ss.RoleName
		if a == nil {
			break
		}
		if role := a.Roles[ss.RoleName]; role != nil && role.ID == ss.RoleID {
			c.RoleARN = role.ARN
			c.Tags = tagMap(role.Tags)
			pols = s.policies.identityPolicies(a, role.Policies)
		}
	}
	return c, pols
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// orgPath is an account's aws:PrincipalOrgPaths value: o-…/r-…/ou-…/…/.
func (st *State) orgPath(a *Account) string {
	var ids []string
	for id := a.ParentID; id != ""; {
		ids = append([]string{id}, ids...)
		ou := st.OUs[id]
		if ou == nil {
			break
		}
		id = ou.ParentID
	}
	return st.OrgID + "/" + strings.Join(ids, "/") + "/"
}

// scpLevels is the evaluator's view of the SCPs on an account's path.
func (s *Server) scpLevels(accountID string) []iampolicy.SCPLevel {
	levels := s.st.scpsFor(accountID)
	out := make([]iampolicy.SCPLevel, 0, len(levels))
	for _, lv := range levels {
		var l iampolicy.SCPLevel
		for _, p := range lv {
			if np, ok := s.policies.named(kindSCP, p.Name, p.ARN, p.Document); ok {
				l.Policies = append(l.Policies, np)
			}
		}
		out = append(out, l)
	}
	return out
}

// authorizeLocked decides a request and, when enforcing, refuses it with
// the service's AccessDenied error. Called with s.mu held.
func (s *Server) authorizeLocked(r *request) error {
	if s.permissive && !s.authz.on {
		return nil // nothing to enforce, nothing to record
	}
	t := targetFor(r)
	if t.free {
		return nil
	}
	return s.decideLocked(r, t)
}

// decideLocked evaluates the caller's request on target t, records the
// decision when the log is on and, when enforcing, refuses a denied request
// with the service's AccessDenied error. Called with s.mu held.
func (s *Server) decideLocked(r *request, t authzTarget) error {
	caller, ident := s.callerFor(r.caller)
	ctx := map[string][]string{
		"aws:RequestedRegion": {r.region},
		"aws:SecureTransport": {strconv.FormatBool(r.http.TLS != nil)},
		"aws:CurrentTime":     {r.now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(r.now.Unix(), 10)},
		"aws:ViaAWSService":   {"false"},
	}
	if host, _, err := net.SplitHostPort(r.http.RemoteAddr); err == nil {
		ctx["aws:SourceIp"] = []string{host}
	}
	for k, v := range t.ctx {
		ctx[k] = v
	}
	req := &iampolicy.Request{Caller: caller, Action: t.action, Resource: t.resource, ResourceAccount: t.resourceAccount, Context: ctx}
	ps := &iampolicy.PolicySet{Identity: ident}
	if r.caller.Kind != "admin" {
		ps.SCPs = s.scpLevels(r.caller.AccountID)
	}
	if t.policy != "" {
		kind := t.policyKind
		if kind == 0 {
			kind = kindResource
		}
		if np, ok := s.policies.named(kind, "", "", t.policy); ok {
			ps.Resource = &np
		}
	} else if t.policyKind == kindTrust {
		// A role the caller names but that does not exist: nothing trusts it.
		ps.Resource = nil
	}
	d := iampolicy.Evaluate(req, ps)
	grantID := ""
	if d.Result == iampolicy.ImplicitDeny && (d.Kind == iampolicy.KindIdentity || d.Kind == iampolicy.KindResource) && t.grant != nil {
		if grantID = t.grant(caller); grantID != "" {
			d = iampolicy.Decision{Result: iampolicy.Allowed, Policy: grantID, StatementIndex: -1}
		}
	}
	if s.authz.on {
		entry := AuthzDecision{
			Time: r.now, Principal: caller.ARN, Account: caller.Account, Action: t.action, Resource: t.resource,
			Decision: d.Result.String(), Policy: d.Policy, Statement: d.Statement, Enforced: !s.permissive,
		}
		switch {
		case grantID != "":
			entry.PolicyType = "grant"
		case d.Kind != 0:
			entry.PolicyType = d.Kind.String()
		}
		if len(s.authz.entries) < maxAuthzLog {
			s.authz.entries = append(s.authz.entries, entry)
		}
	}
	if d.Allowed() || s.permissive {
		return nil
	}
	if t.action == "sts:AssumeRole" && d.Result == iampolicy.ImplicitDeny {
		// STS does not say which side of a role assumption was missing
		// (the trust policy may be another account's): "User: … is not
		// authorized to perform: sts:AssumeRole on resource: arn:…:role/…".
		d.Reason = ""
	}
	shown := *req
	if t.shown != "" {
		shown.Resource = t.shown
	}
	return deniedError(r, t, d.Message(&shown))
}

// deniedError is the service's error for a denied request.
func deniedError(r *request, t authzTarget, msg string) error {
	switch r.service {
	case "iam", "sts":
		return errf(403, "AccessDenied", "%s", msg)
	case "sns":
		// SNS names the action with its upper-case prefix.
		msg = strings.ReplaceAll(msg, "perform: sns:", "perform: SNS:")
		return errf(403, "AuthorizationError", "%s", strings.ReplaceAll(msg, "allows the sns:", "allows the SNS:"))
	case "ses", "lambda", "rolesanywhere", "account":
		return errf(403, "AccessDeniedException", "%s", msg)
	}
	return errf(400, "AccessDeniedException", "%s", msg)
}

// targetFor maps a request to its IAM action, resource and condition keys.
func targetFor(r *request) authzTarget {
	t := authzTarget{action: r.service + ":" + r.action, resource: "*"}
	switch r.service {
	case "iam":
		iamTarget(r, &t)
	case "sts":
		stsTarget(r, &t)
	case "organizations":
		orgTarget(r, &t)
	case "secretsmanager":
		smTarget(r, &t)
	case "sns":
		snsTarget(r, &t)
	case "ses":
		sesTarget(r, &t)
	case "ssm":
		ssmTarget(r, &t)
	case "lambda":
		lambdaTarget(r, &t)
	case "dynamodb":
		dynamoTarget(r, &t)
	case "account":
		// account:ListRegions acts on the account it lists.
		t.resource = "arn:aws:account::" + r.acct.ID + ":account"
	case "kms":
		// KMS is decided at each key the call touches, with the key's
		// policy as its resource policy (authorizeKMS in kms.go).
		t.free = true
	}
	return t
}

// iamUserResource sets the resource to the user a request names (or the
// caller, when it names none), with the user's tags.
func iamUserResource(r *request, t *authzTarget, name string) {
	acct := r.acct.ID
	if name == "" {
		if r.caller.Kind == "user" || r.caller.Kind == "admin" {
			t.resource = r.caller.ARN
			if u := r.acct.user(r.caller.UserName); u != nil {
				t.resourceTags(u.Tags, "aws", "iam")
			}
			return
		}
		t.resource = "arn:aws:iam::" + acct + ":user/"
		return
	}
	if u := r.acct.user(name); u != nil {
		t.resource = u.ARN
		t.resourceTags(u.Tags, "aws", "iam")
		return
	}
	path := r.param("Path")
	if path == "" {
		path = "/"
	}
	t.resource = "arn:aws:iam::" + acct + ":user" + path + name
}

func iamTarget(r *request, t *authzTarget) {
	acct := r.acct.ID
	switch r.action {
	case "ListUsers":
		t.resource = "arn:aws:iam::" + acct + ":user/"
	case "ListGroups":
		t.resource = "arn:aws:iam::" + acct + ":group/"
	case "ListRoles":
		t.resource = "arn:aws:iam::" + acct + ":role/"
	case "ListPolicies":
		t.resource = "arn:aws:iam::" + acct + ":policy/"
	case "GenerateCredentialReport", "GetCredentialReport", "GetAccountSummary", "GetAccountAuthorizationDetails",
		"GetAccountPasswordPolicy", "UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy":
		t.resource = "*"
	case "GetAccessKeyLastUsed":
		if u, _ := r.acct.findKey(r.param("AccessKeyId")); u != nil {
			t.resource = u.ARN
			t.resourceTags(u.Tags, "aws", "iam")
		} else {
			t.resource = "arn:aws:iam::" + acct + ":user/"
		}
	case "CreateGroup", "GetGroup", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup",
		"PutGroupPolicy", "GetGroupPolicy", "DeleteGroupPolicy", "ListGroupPolicies",
		"AttachGroupPolicy", "DetachGroupPolicy", "ListAttachedGroupPolicies":
		name := r.param("GroupName")
		path := r.param("Path")
		if g := r.acct.Groups[strings.ToLower(name)]; g != nil {
			t.resource = g.ARN
		} else {
			if path == "" {
				path = "/"
			}
			t.resource = "arn:aws:iam::" + acct + ":group" + path + name
		}
	case "GetRole", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies",
		"AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies", "UpdateAssumeRolePolicy":
		name := r.param("RoleName")
		if role := r.acct.Roles[name]; role != nil {
			t.resource = role.ARN
			t.resourceTags(role.Tags, "aws", "iam")
		} else {
			t.resource = "arn:aws:iam::" + acct + ":role/" + name
		}
	case "CreatePolicy":
		path := r.param("Path")
		if path == "" {
			path = "/"
		}
		t.resource = "arn:aws:iam::" + acct + ":policy" + path + r.param("PolicyName")
	case "GetPolicy", "GetPolicyVersion", "DeletePolicy", "ListPolicyVersions", "CreatePolicyVersion", "DeletePolicyVersion", "SetDefaultPolicyVersion", "ListEntitiesForPolicy":
		t.resource = r.param("PolicyArn")
	case "ListServiceSpecificCredentials":
		if r.param("AllUsers") == "true" {
			// Every user's credentials: the account's users.
			t.resource = "arn:aws:iam::" + acct + ":user/*"
		} else {
			iamUserResource(r, t, r.param("UserName"))
		}
	default:
		// Every other IAM operation the sandbox serves acts on a user.
		iamUserResource(r, t, r.param("UserName"))
		if r.action == "TagUser" {
			var tags []Tag
			keys := r.memberList("Tags", "Key")
			vals := r.memberList("Tags", "Value")
			for i, k := range keys {
				v := ""
				if i < len(vals) {
					v = vals[i]
				}
				tags = append(tags, Tag{Key: k, Value: v})
			}
			t.requestTags(tags)
		}
		if r.action == "UntagUser" {
			if keys := r.memberList("TagKeys", ""); len(keys) > 0 {
				t.set("aws:TagKeys", keys...)
			}
		}
	}
	if strings.HasPrefix(r.action, "Attach") || strings.HasPrefix(r.action, "Detach") {
		t.set("iam:PolicyARN", r.param("PolicyArn"))
	}
}

func stsTarget(r *request, t *authzTarget) {
	switch r.action {
	case "GetCallerIdentity":
		t.free = true // AWS documents that no permission is required
	case "AssumeRole":
		arn := r.param("RoleArn")
		t.resource = arn
		t.policyKind = kindTrust
		if ext := r.param("ExternalId"); ext != "" {
			t.set("sts:ExternalId", ext)
		}
		acctID, name, err := stsParseRoleARN(arn)
		if err == nil {
			err = stsCheckExternalID(r)
		}
		if err != nil {
			// AWS validates the input first: the handler answers ValidationError.
			t.free = true
			return
		}
		t.resourceAccount = acctID
		if a := r.st.Accounts[acctID]; a != nil {
			if role := a.Roles[name]; role != nil && role.ARN == arn {
				t.policy = role.trustDocument()
				t.resourceTags(role.Tags, "aws", "iam")
			}
		}
	}
}

// trustDocument returns the role's trust policy document.
func (ro *Role) trustDocument() string {
	if ro.TrustPolicy != "" {
		return ro.TrustPolicy
	}
	var principals []string
	for _, a := range ro.TrustedAccounts {
		if !strings.HasPrefix(a, "arn:") {
			a = "arn:aws:iam::" + a + ":root"
		}
		principals = append(principals, a)
	}
	stmt := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principals}, "Action": "sts:AssumeRole"}
	if ro.ExternalID != "" {
		stmt["Condition"] = map[string]any{"StringEquals": map[string]string{"sts:ExternalId": ro.ExternalID}}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}})
	return string(b)
}

func orgTarget(r *request, t *authzTarget) {
	var in struct {
		ParentId, ChildId, AccountId, OrganizationalUnitId, ResourceId, PolicyId, TargetId string
	}
	_ = json.Unmarshal(r.body, &in)
	arnOf := func(id string) string {
		switch {
		case id == "":
			return "*"
		case strings.HasPrefix(id, "r-"):
			return r.orgARN("root", id)
		case strings.HasPrefix(id, "ou-"):
			return r.orgARN("ou", id)
		case strings.HasPrefix(id, "p-"):
			if id == fullAWSAccessID {
				return fullAWSAccess.ARN
			}
			return r.orgARN("policy", "service_control_policy/"+id)
		}
		return r.orgARN("account", id)
	}
	switch r.action {
	case "ListAccountsForParent", "ListOrganizationalUnitsForParent", "ListChildren":
		t.resource = arnOf(in.ParentId)
	case "ListParents":
		t.resource = arnOf(in.ChildId)
	case "DescribeAccount":
		t.resource = arnOf(in.AccountId)
	case "DescribeOrganizationalUnit":
		t.resource = arnOf(in.OrganizationalUnitId)
	case "ListTagsForResource":
		t.resource = arnOf(in.ResourceId)
		if a := r.st.Accounts[in.ResourceId]; a != nil {
			for _, k := range sortedKeys(a.Tags) {
				t.set("aws:ResourceTag/"+k, a.Tags[k])
			}
		}
	case "DescribePolicy", "ListTargetsForPolicy":
		t.resource = arnOf(in.PolicyId)
	case "ListPoliciesForTarget":
		t.resource = arnOf(in.TargetId)
	}
	if t.resource != "*" {
		t.resourceAccount = r.st.ManagementAccountID
	}
}

func smTarget(r *request, t *authzTarget) {
	var in struct {
		SecretId string
		Name     string
		Tags     []struct{ Key, Value string }
		TagKeys  []string
	}
	_ = json.Unmarshal(r.body, &in)
	switch r.action {
	case "ListSecrets", "GetRandomPassword", "BatchGetSecretValue":
		return
	case "CreateSecret":
		t.resource = "arn:aws:secretsmanager:" + r.region + ":" + r.acct.ID + ":secret:" + in.Name
		t.shown = in.Name
		t.set("secretsmanager:Name", in.Name)
		var tags []Tag
		for _, tg := range in.Tags {
			tags = append(tags, Tag{Key: tg.Key, Value: tg.Value})
		}
		t.requestTags(tags)
		return
	case "TagResource":
		var tags []Tag
		for _, tg := range in.Tags {
			tags = append(tags, Tag{Key: tg.Key, Value: tg.Value})
		}
		t.requestTags(tags)
	case "UntagResource":
		if len(in.TagKeys) > 0 {
			t.set("aws:TagKeys", in.TagKeys...)
		}
	}
	t.shown = in.SecretId
	sec, owner, err := smLookup(r, in.SecretId)
	if err != nil || sec == nil {
		id := in.SecretId
		if !strings.HasPrefix(id, "arn:") {
			id = "arn:aws:secretsmanager:" + r.region + ":" + r.acct.ID + ":secret:" + id
		}
		t.resource = id
		return
	}
	t.resource = sec.ARN
	t.resourceAccount = owner.ID
	t.policy = smEffectivePolicy(r.st, sec)
	t.policyKind = kindResource
	// Secrets Manager documents both aws:ResourceTag/<key> and
	// secretsmanager:ResourceTag/<key> for a secret's tags.
	t.resourceTags(sec.Tags, "aws", "secretsmanager")
	t.set("secretsmanager:Name", sec.Name)
	t.set("secretsmanager:SecretId", sec.ARN)
}

func snsTarget(r *request, t *authzTarget) {
	switch r.action {
	case "CreateTopic":
		t.resource = "arn:aws:sns:" + r.region + ":" + r.acct.ID + ":" + r.param("Name")
	case "ListTopics":
		t.resource = "arn:aws:sns:" + r.region + ":" + r.acct.ID + ":*"
	default:
		arn := r.param("TopicArn")
		if arn == "" {
			arn = r.param("TargetArn")
		}
		if arn != "" {
			t.resource = arn
			if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
				t.resourceAccount = parts[4]
			}
		}
	}
}

func sesTarget(r *request, t *authzTarget) {
	var in struct{ FromEmailAddress string }
	_ = json.Unmarshal(r.body, &in)
	from := in.FromEmailAddress
	if i := strings.LastIndex(from, "<"); i >= 0 {
		from = strings.TrimSuffix(from[i+1:], ">")
	}
	if from != "" {
		t.resource = "arn:aws:ses:" + r.region + ":" + r.acct.ID + ":identity/" + from
	}
}
