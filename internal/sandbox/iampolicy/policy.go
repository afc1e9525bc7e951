package iampolicy

import (
	"strconv"
	"strings"
)

// Kind is the type of a policy: it decides which elements the document may
// hold (a Principal only in resource and trust policies) and how the
// policy takes part in an evaluation.
type Kind int

// The kinds of policy.
const (
	// KindIdentity is an identity-based policy: inline or managed, attached
	// to a user, a group or a role.
	KindIdentity Kind = iota + 1
	// KindResource is a resource-based policy, such as a secret's resource
	// policy or a KMS key policy.
	KindResource
	// KindTrust is a role trust policy, the resource policy of an IAM role
	// for sts:AssumeRole and its variants.
	KindTrust
	// KindSCP is a service control policy of AWS Organizations.
	KindSCP
	// KindBoundary is a permissions boundary set on a user or a role.
	KindBoundary
	// KindSession is a session policy passed to AssumeRole or
	// GetFederationToken.
	KindSession
)

// String returns the kind as the evaluation logic names it: "identity",
// "resource", "trust", "scp", "boundary" or "session".
func (k Kind) String() string {
	switch k {
	case KindIdentity:
		return "identity"
	case KindResource:
		return "resource"
	case KindTrust:
		return "trust"
	case KindSCP:
		return "scp"
	case KindBoundary:
		return "boundary"
	case KindSession:
		return "session"
	}
	return "unknown"
}

// allowsPrincipal reports whether documents of this kind carry a Principal
// element (and must).
func (k Kind) allowsPrincipal() bool { return k == KindResource || k == KindTrust }

// The policy language versions AWS accepts.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is a statement's Effect: Allow or Deny.
type Effect string

// The two effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed policy document.
type Policy struct {
	// Kind is the kind the document was parsed as.
	Kind Kind
	// Version is the Version element; empty when absent, which AWS treats
	// as 2008-10-17 (policy variables are then literal text).
	Version string
	// ID is the optional Id element.
	ID string
	// Statements holds the statements in document order.
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	// Index is the statement's position in the policy, from 0.
	Index int
	// Sid is the optional statement ID.
	Sid string
	// Effect is Allow or Deny.
	Effect Effect
	// Principal is the Principal element, nil when absent.
	Principal *Principal
	// NotPrincipal is the NotPrincipal element, nil when absent.
	NotPrincipal *Principal
	// Actions holds Action, or NotAction when NotAction is true.
	Actions []string
	// NotAction is true when the statement uses NotAction.
	NotAction bool
	// Resources holds Resource, or NotResource when NotResource is true.
	// It is empty when the statement has neither (resource and trust
	// policies may omit it: the resource is the one the policy is on).
	Resources []string
	// NotResource is true when the statement uses NotResource.
	NotResource bool
	// Conditions holds the Condition element, one entry per operator and
	// key, in document order; all must hold for the statement to apply.
	Conditions []Condition
	// Line and Column locate the statement in the document, from 1.
	Line, Column int

	// actionPats are the actions lower-cased for matching.
	actionPats []string
	// vars is true when policy variables are substituted (Version
	// 2012-10-17 only).
	vars bool
}

// compile prepares the statement for evaluation.
func (s *Statement) compile(version string) {
	s.actionPats = make([]string, len(s.Actions))
	for i, a := range s.Actions {
		s.actionPats[i] = strings.ToLower(a)
	}
	s.vars = version == Version2012
}

// Label names the statement in decisions and messages: its Sid, or
// "Statement[i]" when it has none.
func (s *Statement) Label() string {
	if s.Sid != "" {
		return s.Sid
	}
	return "Statement[" + strconv.Itoa(s.Index) + "]"
}

// Principal is a Principal or NotPrincipal element.
type Principal struct {
	// Any is true for "Principal": "*" (equivalent to {"AWS": "*"}).
	Any bool
	// AWS holds account IDs, account root ARNs, user, role and
	// assumed-role ARNs, unique IDs, or "*".
	AWS []string
	// Service holds service principals such as "lambda.amazonaws.com".
	Service []string
	// Federated holds identity providers.
	Federated []string
	// CanonicalUser holds S3 canonical user IDs.
	CanonicalUser []string
}

// Condition is one condition operator applied to one key.
type Condition struct {
	// Operator is the operator as written, for example
	// "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written, for example "aws:PrincipalTag/team".
	Key string
	// Values are the values to compare with, as strings (JSON booleans and
	// numbers are kept in their textual form); any one may match.
	Values []string

	op conditionOp
}
