package iampolicy

// Result is the outcome of an evaluation.
type Result int

// The three outcomes of the evaluation logic.
const (
	// ImplicitDeny: nothing allowed the request (or a policy type that must
	// allow did not).
	ImplicitDeny Result = iota
	// ExplicitDeny: a Deny statement applied.
	ExplicitDeny
	// Allowed: every policy type that must allow did, and nothing denied.
	Allowed
)

// String returns "Allow", "ExplicitDeny" or "ImplicitDeny".
func (r Result) String() string {
	switch r {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Decision is the result of Evaluate and what decided it.
type Decision struct {
	// Result is Allowed, ExplicitDeny or ImplicitDeny.
	Result Result
	// Kind is the kind of policy that decided: for an explicit deny the one
	// with the Deny statement; for an implicit deny the policy type that
	// did not allow; for an allow the policy that granted it (identity or
	// resource). Zero when no policy applies at all.
	Kind Kind
	// Policy names the deciding policy (its Name, or ARN when it has no
	// name). For an implicit deny by SCPs it is the Target of the first
	// level whose SCPs allow nothing (r-…, ou-…, or the account ID); for
	// an implicit deny by a resource, trust or boundary policy, that
	// policy; otherwise empty.
	Policy string
	// Statement is the deciding statement's Sid, or "Statement[i]"; empty
	// for an implicit deny.
	Statement string
	// StatementIndex is the deciding statement's index, or -1.
	StatementIndex int
	// Reason is the clause AWS appends to its AccessDenied message, such as
	// "because no identity-based policy allows the iam:ListUsers action";
	// empty when allowed.
	Reason string
}

// Allowed reports whether the request is allowed.
func (d Decision) Allowed() bool { return d.Result == Allowed }

// Message returns AWS's AccessDenied message for a denied request, in the
// shape of IAM and STS:
// "User: arn:aws:iam::111122223333:user/alice is not authorized to perform:
// iam:ListUsers on resource: arn:aws:iam::111122223333:user/ because no
// identity-based policy allows the iam:ListUsers action". It returns ""
// when the decision is an allow.
func (d Decision) Message(req *Request) string {
	if d.Allowed() {
		return ""
	}
	s := "User: " + req.Caller.ARN + " is not authorized to perform: " + req.Action
	if req.Resource != "" && req.Resource != "*" {
		s += " on resource: " + req.Resource
	}
	if d.Reason != "" {
		s += " " + d.Reason
	}
	return s
}
