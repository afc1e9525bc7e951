package iampolicy

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
// evaluation logic: an explicit deny in any applicable policy wins; then
// every SCP level must allow; then a resource-based policy or an
// identity-based policy must allow (both, across accounts), within the
// permissions boundary and session policies.
func Evaluate(req *Request, ps *PolicySet) Decision {
	return evaluate(req, ps)
}
