package sandbox

import (
	"errors"
	"strings"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// policyKind is the kind of a policy document: what it may contain.
type policyKind = iampolicy.Kind

const (
	kindIdentity = iampolicy.KindIdentity
	kindResource = iampolicy.KindResource
	kindTrust    = iampolicy.KindTrust
	kindSCP      = iampolicy.KindSCP
)

// policyError is a malformed document's problem and its line in the
// document (0 when unknown).
type policyError struct {
	msg  string
	line int
}

// checkPolicy parses a document as AWS would accept it.
func checkPolicy(doc string, kind policyKind) *policyError {
	_, err := iampolicy.Parse(kind, []byte(doc))
	if err == nil {
		return nil
	}
	var pe *iampolicy.ParseError
	if errors.As(err, &pe) {
		msg := pe.Problem.String()
		if pe.Statement >= 0 {
			msg = "statement " + itoa(pe.Statement) + ": " + msg
		}
		if pe.Detail != "" {
			msg += ": " + pe.Detail
		}
		return &policyError{msg: msg, line: pe.Line}
	}
	return &policyError{msg: err.Error()}
}

// awsManagedDocument returns an AWS-managed policy's document by name.
func awsManagedDocument(name string) (string, bool) {
	m, ok := iampolicy.Managed(name)
	if !ok {
		return "", false
	}
	return m.Document, true
}

// policyCache keeps parsed documents by kind and text, so a request does
// not parse the policies it is evaluated against again. Called with the
// server's lock held.
type policyCache map[policyCacheKey]*iampolicy.Policy

type policyCacheKey struct {
	kind policyKind
	doc  string
}

// maxCachedPolicies bounds the cache; it is dropped whole when full.
const maxCachedPolicies = 4096

// parse returns the parsed document, or nil when it is malformed (a
// malformed document grants nothing; scenarios and the APIs reject them
// before they are stored).
func (c *policyCache) parse(kind policyKind, doc string) *iampolicy.Policy {
	k := policyCacheKey{kind, doc}
	if p, ok := (*c)[k]; ok {
		return p
	}
	if len(*c) >= maxCachedPolicies || *c == nil {
		*c = policyCache{}
	}
	p, err := iampolicy.Parse(kind, []byte(doc))
	if err != nil {
		p = nil
	}
	(*c)[k] = p
	return p
}

// named parses a document into a NamedPolicy; ok is false when malformed.
func (c *policyCache) named(kind policyKind, name, arn, doc string) (iampolicy.NamedPolicy, bool) {
	p := c.parse(kind, doc)
	return iampolicy.NamedPolicy{Name: name, ARN: arn, Policy: p}, p != nil
}

// identityPolicies collects the identity policies of a set of attachments
// in account a.
func (c *policyCache) identityPolicies(a *Account, sets ...Attachments) []iampolicy.NamedPolicy {
	var out []iampolicy.NamedPolicy
	for _, set := range sets {
		for _, name := range set.inlineNames() {
			if np, ok := c.named(kindIdentity, name, "", set.Inline[name]); ok {
				out = append(out, np)
			}
		}
		for _, arn := range set.Attached {
			if name, ok := strings.CutPrefix(arn, "arn:aws:iam::aws:policy/"); ok {
				if m, ok := iampolicy.Managed(name[strings.LastIndex(name, "/")+1:]); ok {
					out = append(out, m.Named())
				}
				continue
			}
			mp := a.Policies[arn]
			if mp == nil {
				continue
			}
			if v := mp.defaultVersion(); v != nil {
				if np, ok := c.named(kindIdentity, mp.Name, mp.ARN, v.Document); ok {
					out = append(out, np)
				}
			}
		}
	}
	return out
}
