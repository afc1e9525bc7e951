package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The sandbox evaluates a small subset of the IAM policy language in
// Secrets Manager resource policies: Effect, Principal.AWS (or "*"), Action
// and Resource, with wildcards. A statement using anything else (Condition,
// NotPrincipal, NotAction, NotResource) is treated conservatively: an Allow
// never applies and a Deny always does.

// smStringList is a JSON value that is either a string or a list of strings.
type smStringList []string

// UnmarshalJSON accepts a string or an array of strings.
func (l *smStringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = smStringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*l = ss
	return nil
}

type smPrincipal struct {
	Any bool // "*"
	AWS smStringList
	// Other is true when the principal names non-AWS principals (Service, Federated).
	Other bool
}

// UnmarshalJSON accepts "*" or an object of principal kinds.
func (p *smPrincipal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "*" {
			return fmt.Errorf("principal must be \"*\" or an object")
		}
		p.Any = true
		return nil
	}
	var m map[string]smStringList
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("principal must be \"*\" or an object of lists: %w", err)
	}
	for k, v := range m {
		switch k {
		case "AWS":
			p.AWS = v
		case "Service", "Federated", "CanonicalUser":
			p.Other = true
		default:
			return fmt.Errorf("unknown principal type %q", k)
		}
	}
	return nil
}

type smStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Principal    *smPrincipal    `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Action       smStringList    `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     smStringList    `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
}

type smStatements []smStatement

// UnmarshalJSON accepts one statement or a list.
func (ss *smStatements) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var st smStatement
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		*ss = smStatements{st}
		return nil
	}
	var list []smStatement
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*ss = list
	return nil
}

type smPolicy struct {
	Version   string       `json:"Version"`
	Statement smStatements `json:"Statement"`
}

// smParsePolicy parses and checks a resource policy document.
func smParsePolicy(doc string) (*smPolicy, error) {
	var p smPolicy
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("policy has trailing data")
	}
	if len(p.Statement) == 0 {
		return nil, fmt.Errorf("policy has no statements")
	}
	for i, st := range p.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("statement %d: Effect must be Allow or Deny", i)
		}
		if st.Principal == nil && st.NotPrincipal == nil {
			return nil, fmt.Errorf("statement %d: a resource policy statement needs a Principal", i)
		}
		if len(st.Action) == 0 && st.NotAction == nil {
			return nil, fmt.Errorf("statement %d: missing Action", i)
		}
		for _, a := range st.Action {
			if a != "*" && !strings.Contains(a, ":") {
				return nil, fmt.Errorf("statement %d: invalid action %q", i, a)
			}
		}
	}
	return &p, nil
}

// smPublic reports whether a policy grants access to anyone without a condition.
func (p *smPolicy) smPublic() bool {
	for _, st := range p.Statement {
		if st.Effect != "Allow" || st.Condition != nil || st.Principal == nil {
			continue
		}
		if st.Principal.Any {
			return true
		}
		for _, a := range st.Principal.AWS {
			if a == "*" {
				return true
			}
		}
	}
	return false
}

// smDecision is the outcome of evaluating a resource policy.
type smDecision int

const (
	smNoDecision smDecision = iota
	smAllow
	smDeny
)

// smEvaluate evaluates a policy for a caller (admin if it may do anything
// in its own account), an action such as
// "secretsmanager:GetSecretValue" and a resource ARN. An explicit Deny wins.
func (p *smPolicy) smEvaluate(c *principal, admin bool, action, resource string) smDecision {
	d := smNoDecision
	for _, st := range p.Statement {
		unsupported := st.Condition != nil || st.NotPrincipal != nil || st.NotAction != nil || st.NotResource != nil
		applies := !unsupported && st.smMatches(c, admin, action, resource)
		switch {
		case st.Effect == "Deny" && (applies || unsupported):
			return smDeny
		case st.Effect == "Allow" && applies:
			d = smAllow
		}
	}
	return d
}

func (st *smStatement) smMatches(c *principal, admin bool, action, resource string) bool {
	if st.Principal == nil || !st.Principal.smMatches(c, admin) {
		return false
	}
	ok := false
	for _, a := range st.Action {
		if smGlob(strings.ToLower(a), strings.ToLower(action)) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	if len(st.Resource) == 0 {
		return true // resource policies may omit Resource: it is the secret itself
	}
	for _, r := range st.Resource {
		if smGlob(r, resource) {
			return true
		}
	}
	return false
}

// smMatches reports whether the principal element names the caller: its
// user or assumed-role ARN, the role's ARN, or (for the account's admins) the
// account itself.
func (p *smPrincipal) smMatches(c *principal, admin bool) bool {
	if p.Any {
		return true
	}
	names := []string{c.ARN}
	if ss := c.Session; ss != nil {
		names = append(names, "arn:aws:iam::"+ss.AccountID+":role/"+ss.RoleName)
	}
	for _, a := range p.AWS {
		if a == "*" {
			return true
		}
		for _, n := range names {
			if a == n {
				return true
			}
		}
		// Naming an account delegates to the account's identity policies;
		// in the sandbox only admins have any.
		if (a == c.AccountID || a == "arn:aws:iam::"+c.AccountID+":root") && admin {
			return true
		}
	}
	return false
}

// smGlob matches s against a pattern with * and ? wildcards, in linear
// time (greedy matching that remembers only the last star).
func smGlob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
