package iampolicy

import (
	"sort"
	"strings"
)

// NamedPolicy is a parsed policy with the name it is known by.
type NamedPolicy struct {
	// Name is the policy's name (inline policy name, managed policy name,
	// SCP name or ID); it may be empty.
	Name string
	// ARN is the managed policy's or SCP's ARN, when it has one.
	ARN string
	// Policy is the parsed document.
	Policy *Policy
}

// label names the policy in decisions: its Name, else its ARN.
func (n *NamedPolicy) label() string {
	if n.Name != "" {
		return n.Name
	}
	return n.ARN
}

// SCPLevel holds the SCPs attached to one node of the caller's
// organization path: the root, an OU, or the account.
type SCPLevel struct {
	// Target names the node (r-…, ou-…, or the account ID).
	Target string
	// Policies are the SCPs attached there.
	Policies []NamedPolicy
}

// PolicySet is every policy that applies to one request.
type PolicySet struct {
	// Identity holds the caller's identity-based policies: the user's or
	// role's inline and managed policies and, for a user, its groups'.
	Identity []NamedPolicy
	// Boundary is the caller's permissions boundary, nil when none is set.
	Boundary *NamedPolicy
	// Session holds the session policies of the caller's session; nil when
	// the session has none (an empty non-nil slice allows nothing).
	Session []NamedPolicy
	// Resource is the resource's policy: a resource-based policy (a
	// secret's, a KMS key policy) or, for sts:AssumeRole*, the role's
	// trust policy (Kind KindTrust). Nil when the resource has none.
	Resource *NamedPolicy
	// SCPs holds the organization path of the caller's account from the
	// root to the account, one level each; nil when the account is in no
	// organization. Ignored for the management account.
	SCPs []SCPLevel
}

// Evaluate decides req against the policies in ps following AWS's policy
// evaluation logic
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):
//
//  1. An explicit deny in any applicable policy (SCPs, the resource's
//     policy, identity policies, the permissions boundary, session
//     policies) wins.
//  2. Every SCP level of the caller's organization path (root, each OU,
//     the account) must allow, unless the caller is in the management
//     account.
//  3. Within one account, the resource's policy allows on its own when it
//     names the caller (its user ARN, its role session ARN, or "*");
//     naming the caller's role also allows, within the boundary and
//     session policies; naming the account delegates to identity
//     policies. KMS key policies and role trust policies are the
//     exceptions: they must allow, and when they name the account, an
//     identity policy must allow as well.
//  4. Across accounts, both an identity policy and the resource's policy
//     must allow
//     (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
//  5. What identity policies allow is limited by the permissions boundary
//     and the session policies, when there are any: each must allow too.
//
// The account's root user is allowed in its own account (subject to SCPs
// and resource policies as above) without identity policies.
//
// Evaluate does not modify req or the policies; it is safe to call
// concurrently with the same PolicySet.
func Evaluate(req *Request, ps *PolicySet) Decision {
	if ps == nil {
		ps = &PolicySet{}
	}
	e := evaluation{req: req, action: strings.ToLower(req.Action), boundary: ps.Boundary != nil}
	resAcct := req.ResourceAccount
	if resAcct == "" {
		resAcct = arnAccount(req.Resource)
	}
	cross := resAcct != "" && req.Caller.Account != "" && resAcct != req.Caller.Account
	// "SCPs don't affect users or roles in the management account" nor
	// "service-linked roles" (orgs_manage_policies_scps.html).
	scps := len(ps.SCPs) > 0 && !req.Caller.ManagementAccount && !isServiceLinked(req.Caller.RoleARN)

	// 1. Deny evaluation.
	if scps {
		for _, lvl := range ps.SCPs {
			for i := range lvl.Policies {
				if d, ok := e.deny(&lvl.Policies[i], KindSCP, false); ok {
					return d
				}
			}
		}
	}
	if ps.Resource != nil {
		if d, ok := e.deny(ps.Resource, resourceKind(ps.Resource), true); ok {
			return d
		}
	}
	for i := range ps.Identity {
		if d, ok := e.deny(&ps.Identity[i], KindIdentity, false); ok {
			return d
		}
	}
	if ps.Boundary != nil {
		if d, ok := e.deny(ps.Boundary, KindBoundary, false); ok {
			return d
		}
	}
	for i := range ps.Session {
		if d, ok := e.deny(&ps.Session[i], KindSession, false); ok {
			return d
		}
	}

	// 2. Organizations: every level of the path must allow.
	if scps {
		for _, lvl := range ps.SCPs {
			allowed := false
			for i := range lvl.Policies {
				if _, ok := e.allow(&lvl.Policies[i], false); ok {
					allowed = true
					break
				}
			}
			if !allowed {
				return e.implicit(KindSCP, lvl.Target)
			}
		}
	}

	// 3. Resource-based policy.
	var res match
	resKind := KindResource
	if ps.Resource != nil {
		resKind = resourceKind(ps.Resource)
		res, _ = e.allow(ps.Resource, true)
	} else if strings.HasPrefix(e.action, "sts:assumerole") {
		// Every role has a trust policy; a request to assume one without
		// it is denied as a trust policy naming nobody would deny it.
		resKind = KindTrust
	}
	mustResource := cross || resKind == KindTrust || isKMSKey(req.Resource)
	if !cross && res.level >= levelCaller {
		// Same account, the policy names the caller itself: allowed
		// without identity policies, boundary or session policies.
		return res.decision(resKind)
	}
	if mustResource && res.level == levelNone {
		if ps.Resource == nil {
			return e.implicit(resKind, "")
		}
		return e.implicit(resKind, ps.Resource.label())
	}

	// 4. Identity-based policies (and the root user).
	var id match
	root := isRoot(req.Caller.ARN)
	switch {
	case root:
		// The root user holds every permission of its own account; across
		// accounts the resource's policy decides, as checked above.
		id = match{level: levelCaller, stmt: -1}
	default:
		for i := range ps.Identity {
			if m, ok := e.allow(&ps.Identity[i], false); ok {
				id = m
				break
			}
		}
	}
	viaRole := !cross && res.level == levelRole
	if id.level == levelNone && !viaRole {
		return e.implicit(KindIdentity, "")
	}

	// 5. Permissions boundary and session policies limit what identity
	// policies (and resource policies naming the role) grant.
	if ps.Boundary != nil {
		if _, ok := e.allow(ps.Boundary, false); !ok {
			return e.implicit(KindBoundary, ps.Boundary.label())
		}
	}
	if ps.Session != nil {
		ok := false
		for i := range ps.Session {
			if _, ok = e.allow(&ps.Session[i], false); ok {
				break
			}
		}
		if !ok {
			return e.implicit(KindSession, "")
		}
	}
	if id.level == levelNone {
		return res.decision(resKind)
	}
	return id.decision(KindIdentity)
}

// resourceKind is the kind a resource policy takes part as: trust for a
// trust policy, resource otherwise.
func resourceKind(n *NamedPolicy) Kind {
	if n.Policy != nil && n.Policy.Kind == KindTrust {
		return KindTrust
	}
	return KindResource
}

// principalLevel says how a resource policy's principal names the caller.
type principalLevel int

const (
	levelNone principalLevel = iota
	// levelAccount: the policy names the caller's account (its ID or root
	// ARN), delegating to the account's identity policies.
	levelAccount
	// levelRole: the policy names the role of the caller's session.
	levelRole
	// levelCaller: the policy names the caller's own ARN (user or
	// assumed-role session), its unique ID, or "*".
	levelCaller
)

// match is an allowing statement found in a policy.
type match struct {
	level  principalLevel
	policy *NamedPolicy
	stmt   int
}

func (m match) decision(k Kind) Decision {
	d := Decision{Result: Allowed, Kind: k, StatementIndex: m.stmt}
	if m.policy != nil {
		d.Policy = m.policy.label()
		if m.stmt >= 0 {
			d.Statement = m.policy.Policy.Statements[m.stmt].Label()
		}
	}
	return d
}

// evaluation holds one request's state.
type evaluation struct {
	req    *Request
	action string
	// boundary is true when the caller has a permissions boundary.
	boundary bool
}

// deny returns the explicit-deny decision of the first Deny statement of
// the policy that applies to the request.
func (e *evaluation) deny(n *NamedPolicy, k Kind, withPrincipal bool) (Decision, bool) {
	if n.Policy == nil {
		return Decision{}, false
	}
	for i := range n.Policy.Statements {
		st := &n.Policy.Statements[i]
		if st.Effect != Deny {
			continue
		}
		// "The NotPrincipal element with a Deny effect will always deny any
		// IAM principal that has a permissions boundary policy attached,
		// regardless of the values specified in the NotPrincipal element"
		// (access_policies_boundaries.html).
		notPrincipalQuirk := st.NotPrincipal != nil && e.boundary
		if withPrincipal && !notPrincipalQuirk && e.principalLevel(st) == levelNone {
			continue
		}
		if e.applies(st) {
			return Decision{
				Result:         ExplicitDeny,
				Kind:           k,
				Policy:         n.label(),
				Statement:      st.Label(),
				StatementIndex: i,
				Reason:         explicitReason(k),
			}, true
		}
	}
	return Decision{}, false
}

// allow returns the Allow statement of the policy that applies to the
// request; for a resource policy, the one naming the caller most
// directly.
func (e *evaluation) allow(n *NamedPolicy, withPrincipal bool) (match, bool) {
	best := match{stmt: -1}
	if n.Policy == nil {
		return best, false
	}
	for i := range n.Policy.Statements {
		st := &n.Policy.Statements[i]
		if st.Effect != Allow {
			continue
		}
		lvl := levelCaller
		if withPrincipal {
			lvl = e.principalLevel(st)
			if lvl <= best.level {
				continue
			}
		}
		if e.applies(st) {
			best = match{level: lvl, policy: n, stmt: i}
			if lvl == levelCaller {
				break
			}
		}
	}
	return best, best.level != levelNone
}

// applies reports whether the statement's Action, Resource and Condition
// match the request (the Principal is checked by the caller).
func (e *evaluation) applies(st *Statement) bool {
	matched := false
	for _, a := range st.actionPats {
		if matchAction(a, e.action) {
			matched = true
			break
		}
	}
	if matched == st.NotAction {
		return false
	}
	if len(st.Resources) > 0 {
		matched = false
		for _, r := range st.Resources {
			if st.vars {
				var ok bool
				if r, ok = substitute(r, e); !ok {
					continue
				}
			}
			if matchARN(r, e.req.Resource) {
				matched = true
				break
			}
		}
		if matched == st.NotResource {
			return false
		}
	}
	for i := range st.Conditions {
		if !st.Conditions[i].holds(e, st.vars) {
			return false
		}
	}
	return true
}

// principalLevel reports how the statement's Principal (or NotPrincipal)
// names the caller.
func (e *evaluation) principalLevel(st *Statement) principalLevel {
	if st.Principal != nil {
		return e.names(st.Principal)
	}
	if st.NotPrincipal != nil {
		// A caller is excluded by NotPrincipal only when every one of its
		// identities is listed: the account and the user, or the account,
		// the role and the session
		// (reference_policies_elements_notprincipal.html).
		c := &e.req.Caller
		p := st.NotPrincipal
		if p.Any || contains(p.AWS, "*") {
			return levelNone
		}
		acct := contains(p.AWS, c.Account) || contains(p.AWS, "arn:aws:iam::"+c.Account+":root")
		self := contains(p.AWS, c.ARN) || (c.RoleARN == "" && c.UniqueID != "" && contains(p.AWS, c.UniqueID))
		role := c.RoleARN == "" || contains(p.AWS, c.RoleARN) || (c.UniqueID != "" && contains(p.AWS, c.UniqueID))
		if isRoot(c.ARN) {
			self = acct
		}
		if acct && self && role {
			return levelNone
		}
		return levelCaller
	}
	return levelNone
}

// names reports how a Principal element names the caller.
func (e *evaluation) names(p *Principal) principalLevel {
	if p.Any {
		return levelCaller
	}
	c := &e.req.Caller
	best := levelNone
	for _, v := range p.AWS {
		var l principalLevel
		switch {
		case v == "*" || v == c.ARN:
			l = levelCaller
		case c.UniqueID != "" && v == c.UniqueID:
			l = levelCaller
			if c.RoleARN != "" {
				l = levelRole
			}
		case c.RoleARN != "" && v == c.RoleARN:
			l = levelRole
		case c.Account != "" && (v == c.Account || v == "arn:aws:iam::"+c.Account+":root"):
			l = levelAccount
			if isRoot(c.ARN) {
				l = levelCaller
			}
		}
		if l > best {
			best = l
		}
	}
	if best < levelCaller && contains(p.Service, c.ARN) {
		best = levelCaller
	}
	return best
}

func contains(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// isKMSKey reports whether arn is a KMS key, whose key policy must allow
// every access to it: "No AWS principal, including the account root user
// or key creator, has any permissions to a KMS key unless they are
// explicitly allowed, and never denied, in a key policy"
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
// Actions on no key (kms:CreateKey, kms:ListAliases) follow IAM policies.
func isKMSKey(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":kms:") && strings.Contains(arn, ":key/")
}

// isServiceLinked reports whether a role ARN is a service-linked role's,
// on the path /aws-service-role/.
func isServiceLinked(roleARN string) bool {
	return strings.Contains(roleARN, ":role/aws-service-role/")
}

// isRoot reports whether arn is an account's root user.
func isRoot(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && strings.HasSuffix(arn, ":root")
}

// arnAccount returns the account field of an ARN, or "".
func arnAccount(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 {
		return ""
	}
	return f[4]
}

// implicit returns an implicit deny by the policy type k.
func (e *evaluation) implicit(k Kind, policy string) Decision {
	return Decision{Result: ImplicitDeny, Kind: k, Policy: policy, StatementIndex: -1, Reason: implicitReason(k, e.req.Action)}
}

// The reason clauses follow "Access denied error message examples" in
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html:
// "because no identity-based policy allows the codecommit:ListRepositories
// action", "with an explicit deny in a service control policy", "because
// no resource-based policy allows …", "because no permissions boundary
// allows …", "because no session policy allows …". AWS's AssumeRole
// denials carry no reason clause, so trust policies have none.

func implicitReason(k Kind, action string) string {
	var what string
	switch k {
	case KindIdentity:
		what = "identity-based policy"
	case KindResource:
		what = "resource-based policy"
	case KindSCP:
		what = "service control policy"
	case KindBoundary:
		what = "permissions boundary"
	case KindSession:
		what = "session policy"
	default:
		return ""
	}
	return "because no " + what + " allows the " + action + " action"
}

func explicitReason(k Kind) string {
	switch k {
	case KindIdentity:
		return "with an explicit deny in an identity-based policy"
	case KindResource:
		return "with an explicit deny in a resource-based policy"
	case KindSCP:
		return "with an explicit deny in a service control policy"
	case KindBoundary:
		return "with an explicit deny in a permissions boundary"
	case KindSession:
		return "with an explicit deny in a session policy"
	}
	return ""
}

// context returns the values of a condition key, case-insensitively: from
// the request's Context, else derived from the caller
// (reference_policies_condition-keys.html). It builds no map: request
// contexts hold a handful of keys.
func (e *evaluation) context(key string) []string {
	for k, v := range e.req.Context {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return derived(&e.req.Caller, key)
}

// derived returns the value of a condition key AWS derives from the
// principal, or nil.
func derived(c *Caller, key string) []string {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	const tagPrefix = "aws:principaltag/"
	if len(key) > len(tagPrefix) && strings.EqualFold(key[:len(tagPrefix)], tagPrefix) {
		name := key[len(tagPrefix):]
		for k, v := range c.Tags {
			if strings.EqualFold(k, name) {
				return []string{v}
			}
		}
		return nil
	}
	fold := func(s string) bool { return strings.EqualFold(key, s) }
	switch {
	case fold("aws:PrincipalArn"):
		if c.RoleARN != "" {
			return one(c.RoleARN)
		}
		return one(c.ARN)
	case fold("aws:PrincipalAccount"), fold("kms:CallerAccount"):
		return one(c.Account)
	case fold("aws:PrincipalOrgID"):
		return one(c.OrgID)
	case fold("aws:PrincipalOrgPaths"):
		if len(c.OrgPaths) == 0 {
			return nil
		}
		return c.OrgPaths
	case fold("aws:PrincipalTagKeys"):
		if len(c.Tags) == 0 {
			return nil
		}
		keys := make([]string, 0, len(c.Tags))
		for k := range c.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	// aws:userid, aws:username and aws:PrincipalType per "Information
	// available in all requests" (reference_policies_variables.html): the
	// user's ID and name; for a role session "role-id:session-name" and no
	// username.
	kind, name := arnResource(c.ARN)
	switch {
	case fold("aws:username"):
		if kind == "user" {
			return one(name)
		}
	case fold("aws:userid"):
		switch kind {
		case "user":
			return one(c.UniqueID)
		case "assumed-role":
			if _, sess, ok := strings.Cut(name, "/"); ok && c.UniqueID != "" {
				return one(c.UniqueID + ":" + sess)
			}
		case "root":
			return one(c.Account)
		}
	case fold("aws:PrincipalType"):
		switch kind {
		case "user":
			return one("User")
		case "assumed-role":
			return one("AssumedRole")
		case "root":
			return one("Account")
		}
	}
	return nil
}

// arnResource splits an IAM or STS ARN's resource into its type and the
// rest: ("user", "alice") for arn:aws:iam::1:user/path/alice,
// ("assumed-role", "Role/session"), ("root", "").
func arnResource(arn string) (kind, name string) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 {
		return "", ""
	}
	res := f[5]
	if res == "root" {
		return "root", ""
	}
	kind, rest, _ := strings.Cut(res, "/")
	if kind == "user" {
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	return kind, rest
}
