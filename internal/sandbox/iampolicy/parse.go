package iampolicy

import (
	"fmt"
	"strings"
)

// Parse parses a policy document of the given kind and checks it against
// the policy grammar as AWS does
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html).
// A malformed document returns a *ParseError (errors.Is(err, ErrMalformed))
// locating the problem.
func Parse(kind Kind, doc []byte) (*Policy, error) {
	if kind < KindIdentity || kind > KindSession {
		return nil, fmt.Errorf("parse policy: unknown policy kind %d", int(kind))
	}
	root, err := readTree(doc)
	if err != nil {
		return nil, err
	}
	p := &parser{doc: doc, kind: kind}
	pol, perr := p.policy(root)
	if perr != nil {
		return nil, perr
	}
	return pol, nil
}

// MustParse is Parse for documents known to be valid, such as those
// embedded in the program; it panics on error.
func MustParse(kind Kind, doc string) *Policy {
	p, err := Parse(kind, []byte(doc))
	if err != nil {
		panic("iampolicy: " + err.Error())
	}
	return p
}

type parser struct {
	doc  []byte
	kind Kind
	stmt int // index of the statement being checked, or -1
}

func (p *parser) fail(prob Problem, off int64, format string, args ...any) *ParseError {
	return newParseError(p.doc, prob, off, p.stmt, fmt.Sprintf(format, args...))
}

func (p *parser) wantKind(n *node, k nodeKind, what string) *ParseError {
	if n.kind != k {
		return p.fail(ProblemWrongType, n.off, "%s must be %s, got %s", what, nodeKindName[k], nodeKindName[n.kind])
	}
	return nil
}

func (p *parser) policy(root *node) (*Policy, *ParseError) {
	p.stmt = -1
	if err := p.wantKind(root, nodeObject, "the policy document"); err != nil {
		return nil, err
	}
	pol := &Policy{Kind: p.kind}
	var stmts *node
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if err := p.wantKind(m.val, nodeString, "Version"); err != nil {
				return nil, err
			}
			if m.val.str != Version2012 && m.val.str != Version2008 {
				return nil, p.fail(ProblemBadVersion, m.val.off, "Version must be %q or %q, got %q", Version2012, Version2008, m.val.str)
			}
			pol.Version = m.val.str
		case "Id":
			if err := p.wantKind(m.val, nodeString, "Id"); err != nil {
				return nil, err
			}
			pol.ID = m.val.str
		case "Statement":
			stmts = m.val
		default:
			return nil, p.fail(ProblemUnknownElement, m.keyOff, "the policy has no element %q (want Version, Id, Statement)", m.key)
		}
	}
	if stmts == nil {
		return nil, p.fail(ProblemMissingStatement, root.off, "the policy has no Statement")
	}
	var list []*node
	switch stmts.kind {
	case nodeObject:
		list = []*node{stmts}
	case nodeArray:
		list = stmts.elems
	default:
		return nil, p.fail(ProblemWrongType, stmts.off, "Statement must be an object or an array of objects, got %s", nodeKindName[stmts.kind])
	}
	if len(list) == 0 {
		return nil, p.fail(ProblemMissingStatement, stmts.off, "Statement is empty")
	}
	sids := map[string]int{}
	for i, sn := range list {
		p.stmt = i
		st, err := p.statement(sn, pol.Version)
		if err != nil {
			return nil, err
		}
		st.Index = i
		if st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				return nil, p.fail(ProblemDuplicateSid, sn.off, "Sid %q is also the Sid of statement %d", st.Sid, j)
			}
			sids[st.Sid] = i
		}
		pol.Statements = append(pol.Statements, st)
	}
	return pol, nil
}

func (p *parser) statement(n *node, version string) (Statement, *ParseError) {
	var st Statement
	if err := p.wantKind(n, nodeObject, "a statement"); err != nil {
		return st, err
	}
	st.Line, st.Column = lineCol(p.doc, n.off)
	var (
		effect                    *node
		action, notAction         *member
		resource, notResource     *member
		principalM, notPrincipalM *member
		condition                 *node
	)
	for i := range n.members {
		m := &n.members[i]
		switch m.key {
		case "Sid":
			if err := p.wantKind(m.val, nodeString, "Sid"); err != nil {
				return st, err
			}
			if p.kind != KindResource && p.kind != KindSession && !isAlnum(m.val.str) {
				return st, p.fail(ProblemBadSid, m.val.off, "Sid %q must hold only the letters A-Z, a-z and digits 0-9", m.val.str)
			}
			st.Sid = m.val.str
		case "Effect":
			effect = m.val
		case "Action":
			action = m
		case "NotAction":
			notAction = m
		case "Resource":
			resource = m
		case "NotResource":
			notResource = m
		case "Principal":
			principalM = m
		case "NotPrincipal":
			notPrincipalM = m
		case "Condition":
			condition = m.val
		default:
			return st, p.fail(ProblemUnknownElement, m.keyOff, "a statement has no element %q", m.key)
		}
	}

	// Effect.
	if effect == nil {
		return st, p.fail(ProblemMissingEffect, n.off, "the statement has no Effect")
	}
	if err := p.wantKind(effect, nodeString, "Effect"); err != nil {
		return st, err
	}
	switch Effect(effect.str) {
	case Allow, Deny:
		st.Effect = Effect(effect.str)
	default:
		return st, p.fail(ProblemBadEffect, effect.off, "Effect must be \"Allow\" or \"Deny\", got %q", effect.str)
	}

	// Principal and NotPrincipal.
	if principalM != nil || notPrincipalM != nil {
		first := principalM
		if first == nil {
			first = notPrincipalM
		}
		if !p.kind.allowsPrincipal() {
			return st, p.fail(ProblemPrincipalNotAllowed, first.keyOff, "%s policies must not specify %s", p.kind, first.key)
		}
		if principalM != nil && notPrincipalM != nil {
			return st, p.fail(ProblemPrincipalAndNotPrincipal, notPrincipalM.keyOff, "a statement has either Principal or NotPrincipal, not both")
		}
		pr, err := p.principal(first.val, first.key)
		if err != nil {
			return st, err
		}
		if principalM != nil {
			st.Principal = pr
		} else {
			st.NotPrincipal = pr
		}
	} else if p.kind.allowsPrincipal() {
		return st, p.fail(ProblemMissingPrincipal, n.off, "a %s policy statement must specify Principal or NotPrincipal", p.kind)
	}

	// Action and NotAction.
	switch {
	case action != nil && notAction != nil:
		return st, p.fail(ProblemActionAndNotAction, notAction.keyOff, "a statement has either Action or NotAction, not both")
	case action == nil && notAction == nil:
		return st, p.fail(ProblemMissingAction, n.off, "the statement has neither Action nor NotAction")
	}
	am := action
	if am == nil {
		am = notAction
		st.NotAction = true
	}
	acts, err := p.stringList(am.val, am.key)
	if err != nil {
		return st, err
	}
	if len(acts) == 0 {
		return st, p.fail(ProblemMissingAction, am.val.off, "%s is empty", am.key)
	}
	for i, a := range acts {
		if msg := checkAction(a); msg != "" {
			return st, p.fail(ProblemBadAction, elemOff(am.val, i), "%s %q: %s", am.key, a, msg)
		}
	}
	st.Actions = acts

	// Resource and NotResource.
	switch {
	case resource != nil && notResource != nil:
		return st, p.fail(ProblemResourceAndNotResource, notResource.keyOff, "a statement has either Resource or NotResource, not both")
	case resource == nil && notResource == nil:
		if !p.kind.allowsPrincipal() {
			return st, p.fail(ProblemMissingResource, n.off, "a %s policy statement must specify Resource or NotResource", p.kind)
		}
	default:
		rm := resource
		if rm == nil {
			rm = notResource
			st.NotResource = true
		}
		if p.kind == KindTrust {
			// IAM answers "Has prohibited field Resource" for a trust policy
			// that names one: the resource is the role.
			return st, p.fail(ProblemUnknownElement, rm.keyOff, "a trust policy has no %s: the resource is the role", rm.key)
		}
		res, err := p.stringList(rm.val, rm.key)
		if err != nil {
			return st, err
		}
		if len(res) == 0 {
			return st, p.fail(ProblemMissingResource, rm.val.off, "%s is empty", rm.key)
		}
		for i, r := range res {
			if msg := checkResource(r); msg != "" {
				return st, p.fail(ProblemBadResource, elemOff(rm.val, i), "%s %q: %s", rm.key, r, msg)
			}
		}
		st.Resources = res
	}

	// Condition.
	if condition != nil {
		conds, err := p.conditions(condition)
		if err != nil {
			return st, err
		}
		st.Conditions = conds
	}
	st.compile(version)
	return st, nil
}

// elemOff returns the offset of the i-th element of a list, or of the
// value itself when it is a single string.
func elemOff(n *node, i int) int64 {
	if n.kind == nodeArray && i < len(n.elems) {
		return n.elems[i].off
	}
	return n.off
}

// stringList reads a string or an array of strings.
func (p *parser) stringList(n *node, what string) ([]string, *ParseError) {
	switch n.kind {
	case nodeString:
		return []string{n.str}, nil
	case nodeArray:
		out := make([]string, 0, len(n.elems))
		for _, e := range n.elems {
			if e.kind != nodeString {
				return nil, p.fail(ProblemWrongType, e.off, "%s must hold strings, got %s", what, nodeKindName[e.kind])
			}
			out = append(out, e.str)
		}
		return out, nil
	}
	return nil, p.fail(ProblemWrongType, n.off, "%s must be a string or an array of strings, got %s", what, nodeKindName[n.kind])
}

// checkAction returns what is wrong with an action, or "".
// AWS: "Actions/Conditions must be prefaced by a vendor, e.g., iam,
// sdb, ec2, etc." and "Action vendors must not contain wildcards".
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	prefix, name, ok := strings.Cut(a, ":")
	if !ok || prefix == "" {
		return "an action must be prefaced by a service prefix, such as iam:ListUsers"
	}
	if name == "" {
		return "the action name is empty"
	}
	for _, c := range prefix {
		switch {
		case c == '*' || c == '?':
			return "the service prefix must not contain wildcards"
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			return fmt.Sprintf("the service prefix has an invalid character %q", c)
		}
	}
	return ""
}

// checkResource returns what is wrong with a resource, or "": it must be
// "*" or an ARN of six colon-separated fields ("Resource must be in ARN
// format or \"*\"").
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	if !strings.HasPrefix(r, "arn:") {
		return "a resource must be an ARN or \"*\""
	}
	if strings.Count(r, ":") < 5 {
		return "an ARN has six fields: arn:partition:service:region:account:resource"
	}
	return ""
}

// principal reads a Principal or NotPrincipal element.
func (p *parser) principal(n *node, what string) (*Principal, *ParseError) {
	if n.kind == nodeString {
		if n.str != "*" {
			return nil, p.fail(ProblemBadPrincipal, n.off, "%s must be \"*\" or an object such as {\"AWS\": ...}, got %q", what, n.str)
		}
		return &Principal{Any: true}, nil
	}
	if n.kind != nodeObject {
		return nil, p.fail(ProblemWrongType, n.off, "%s must be \"*\" or an object, got %s", what, nodeKindName[n.kind])
	}
	if len(n.members) == 0 {
		return nil, p.fail(ProblemBadPrincipal, n.off, "%s is empty", what)
	}
	pr := &Principal{}
	for _, m := range n.members {
		vals, err := p.stringList(m.val, what+"."+m.key)
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, p.fail(ProblemBadPrincipal, m.val.off, "%s.%s is empty", what, m.key)
		}
		for i, v := range vals {
			if v == "" {
				return nil, p.fail(ProblemBadPrincipal, elemOff(m.val, i), "%s.%s has an empty value", what, m.key)
			}
		}
		switch m.key {
		case "AWS":
			for i, v := range vals {
				if msg := checkAWSPrincipal(v); msg != "" {
					return nil, p.fail(ProblemBadPrincipal, elemOff(m.val, i), "%s.AWS %q: %s", what, v, msg)
				}
			}
			pr.AWS = append(pr.AWS, vals...)
		case "Service":
			pr.Service = append(pr.Service, vals...)
		case "Federated":
			pr.Federated = append(pr.Federated, vals...)
		case "CanonicalUser":
			pr.CanonicalUser = append(pr.CanonicalUser, vals...)
		default:
			return nil, p.fail(ProblemBadPrincipal, m.keyOff, "unknown principal type %q (want AWS, Service, Federated or CanonicalUser)", m.key)
		}
	}
	return pr, nil
}

// checkAWSPrincipal returns what is wrong with an AWS principal value, or
// "": "*", a 12-digit account ID, an ARN without wildcards, or a unique ID
// (which IAM shows in place of an ARN once the principal is deleted).
func checkAWSPrincipal(v string) string {
	if v == "*" {
		return ""
	}
	if isAccountID(v) {
		return ""
	}
	if strings.HasPrefix(v, "arn:") {
		if strings.ContainsAny(v, "*?") {
			return "a principal ARN must not contain wildcards (use a condition on aws:PrincipalArn)"
		}
		if strings.Count(v, ":") < 5 {
			return "an ARN has six fields"
		}
		return ""
	}
	if isUniqueID(v) {
		return ""
	}
	return "an AWS principal is \"*\", an account ID, an ARN or a unique ID"
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID matches IAM unique IDs such as AIDAJQABLZS4A3QDU576Q.
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// conditions reads a Condition element: operator → key → value(s).
func (p *parser) conditions(n *node) ([]Condition, *ParseError) {
	if n.kind != nodeObject {
		return nil, p.fail(ProblemWrongType, n.off, "Condition must be an object, got %s", nodeKindName[n.kind])
	}
	var out []Condition
	for _, om := range n.members {
		op, ok := parseOperator(om.key)
		if !ok {
			return nil, p.fail(ProblemBadCondition, om.keyOff, "unknown condition operator %q", om.key)
		}
		if om.val.kind != nodeObject {
			return nil, p.fail(ProblemWrongType, om.val.off, "condition %s must be an object of keys, got %s", om.key, nodeKindName[om.val.kind])
		}
		if len(om.val.members) == 0 {
			return nil, p.fail(ProblemBadCondition, om.val.off, "condition %s has no keys", om.key)
		}
		for _, km := range om.val.members {
			if pre, name, ok := strings.Cut(km.key, ":"); !ok || pre == "" || name == "" {
				return nil, p.fail(ProblemBadCondition, km.keyOff, "condition key %q must be prefaced by a service prefix, such as aws:", km.key)
			}
			var vals []string
			switch km.val.kind {
			case nodeString, nodeNumber, nodeBool:
				vals = []string{km.val.str}
			case nodeArray:
				for _, e := range km.val.elems {
					switch e.kind {
					case nodeString, nodeNumber, nodeBool:
						vals = append(vals, e.str)
					default:
						return nil, p.fail(ProblemBadCondition, e.off, "condition %s %s: values must be strings, numbers or booleans, got %s", om.key, km.key, nodeKindName[e.kind])
					}
				}
				if len(vals) == 0 {
					return nil, p.fail(ProblemBadCondition, km.val.off, "condition %s %s has no values", om.key, km.key)
				}
			default:
				return nil, p.fail(ProblemBadCondition, km.val.off, "condition %s %s: values must be strings, numbers or booleans, got %s", om.key, km.key, nodeKindName[km.val.kind])
			}
			out = append(out, Condition{Operator: om.key, Key: km.key, Values: vals, op: op})
		}
	}
	return out, nil
}
