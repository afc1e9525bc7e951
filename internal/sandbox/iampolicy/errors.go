package iampolicy

import (
	"errors"
	"fmt"
)

// Problem says what is wrong with a malformed policy document. AWS rejects
// each of these with MalformedPolicyDocument (IAM) or
// MalformedPolicyDocumentException (Secrets Manager, KMS).
type Problem int

// The problems Parse reports.
const (
	// ProblemSyntax: the document is not JSON (or not a single JSON value).
	ProblemSyntax Problem = iota + 1
	// ProblemWrongType: the document, a statement or an element is not of
	// the JSON type the grammar requires.
	ProblemWrongType
	// ProblemUnknownElement: an element the grammar does not define.
	ProblemUnknownElement
	// ProblemBadVersion: a Version other than 2012-10-17 or 2008-10-17.
	ProblemBadVersion
	// ProblemMissingStatement: no Statement, or an empty one.
	ProblemMissingStatement
	// ProblemMissingEffect: a statement without Effect.
	ProblemMissingEffect
	// ProblemBadEffect: an Effect other than Allow or Deny.
	ProblemBadEffect
	// ProblemMissingAction: a statement with neither Action nor NotAction.
	ProblemMissingAction
	// ProblemActionAndNotAction: a statement with both Action and NotAction.
	ProblemActionAndNotAction
	// ProblemBadAction: an action that is not "*" or "prefix:action", or
	// whose service prefix has a wildcard.
	ProblemBadAction
	// ProblemMissingResource: an identity policy, boundary, session policy
	// or SCP statement with neither Resource nor NotResource.
	ProblemMissingResource
	// ProblemResourceAndNotResource: both Resource and NotResource.
	ProblemResourceAndNotResource
	// ProblemBadResource: a resource that is not "*" or an ARN.
	ProblemBadResource
	// ProblemPrincipalNotAllowed: a Principal or NotPrincipal in a policy
	// kind that has none (identity policies, boundaries, SCPs, session
	// policies).
	ProblemPrincipalNotAllowed
	// ProblemMissingPrincipal: a resource or trust policy statement
	// without Principal or NotPrincipal.
	ProblemMissingPrincipal
	// ProblemPrincipalAndNotPrincipal: both Principal and NotPrincipal.
	ProblemPrincipalAndNotPrincipal
	// ProblemBadPrincipal: a principal type other than AWS, Service,
	// Federated or CanonicalUser, or a value of the wrong form.
	ProblemBadPrincipal
	// ProblemBadCondition: an unknown condition operator, a key without a
	// vendor prefix, or values that are not strings, numbers or booleans.
	ProblemBadCondition
	// ProblemDuplicateSid: two statements share a Sid ("The Statement Ids
	// in the policy are not unique").
	ProblemDuplicateSid
	// ProblemBadSid: a Sid with characters other than A-Z, a-z and 0-9 in
	// an IAM policy (identity, boundary, trust) or an SCP: "Statement IDs
	// (SID) must be alpha-numeric". Resource policies such as KMS key
	// policies accept spaces.
	ProblemBadSid
)

var problemText = map[Problem]string{
	ProblemSyntax:                   "syntax error",
	ProblemWrongType:                "wrong type",
	ProblemUnknownElement:           "unknown element",
	ProblemBadVersion:               "invalid Version",
	ProblemMissingStatement:         "missing Statement",
	ProblemMissingEffect:            "missing Effect",
	ProblemBadEffect:                "invalid Effect",
	ProblemMissingAction:            "missing Action",
	ProblemActionAndNotAction:       "both Action and NotAction",
	ProblemBadAction:                "invalid action",
	ProblemMissingResource:          "missing Resource",
	ProblemResourceAndNotResource:   "both Resource and NotResource",
	ProblemBadResource:              "invalid resource",
	ProblemPrincipalNotAllowed:      "principal not allowed",
	ProblemMissingPrincipal:         "missing Principal",
	ProblemPrincipalAndNotPrincipal: "both Principal and NotPrincipal",
	ProblemBadPrincipal:             "invalid principal",
	ProblemBadCondition:             "invalid condition",
	ProblemDuplicateSid:             "duplicate Sid",
	ProblemBadSid:                   "invalid Sid",
}

// String returns a short lower-case description of the problem.
func (p Problem) String() string {
	if s, ok := problemText[p]; ok {
		return s
	}
	return fmt.Sprintf("problem %d", int(p))
}

// ErrMalformed is matched (errors.Is) by every *ParseError: the document is
// one AWS rejects as MalformedPolicyDocument.
var ErrMalformed = errors.New("malformed policy document")

// ParseError is the error Parse returns for a malformed document.
type ParseError struct {
	// Problem says what is wrong.
	Problem Problem
	// Offset is the byte offset in the document where the problem is.
	Offset int64
	// Line and Column locate Offset, from 1 (the column counts bytes).
	Line, Column int
	// Statement is the index of the statement at fault, or -1.
	Statement int
	// Detail is a sentence about this occurrence, for example
	// `Effect must be "Allow" or "Deny", got "allow"`.
	Detail string
}

// Error returns "line:column: problem: detail", prefixed with the statement
// when there is one.
func (e *ParseError) Error() string {
	s := fmt.Sprintf("%d:%d: ", e.Line, e.Column)
	if e.Statement >= 0 {
		s += fmt.Sprintf("statement %d: ", e.Statement)
	}
	s += e.Problem.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is reports whether target is ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }
