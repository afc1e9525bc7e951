package sandbox

import (
	"sort"
	"strings"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// Secrets Manager resource policies are parsed and evaluated by iampolicy,
// like every other policy (authz.go evaluates them with the caller's
// identity policies and SCPs before the handler runs). What is particular to
// them lives here: the checks PutResourcePolicy makes and the binding of
// named principals to their unique IDs.

// smParsePolicy parses and checks a resource policy document.
func smParsePolicy(doc string) (*iampolicy.Policy, error) {
	return iampolicy.Parse(kindResource, []byte(doc))
}

// smPublic reports whether a policy grants access to anyone without a
// condition, which BlockPublicPolicy refuses.
func smPublic(p *iampolicy.Policy) bool {
	for _, st := range p.Statements {
		if st.Effect != iampolicy.Allow || len(st.Conditions) > 0 || st.Principal == nil {
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

// smBindPrincipals checks that every IAM user and role a policy names
// exists and returns each one's unique ID by ARN. AWS rejects a policy
// naming a principal that does not exist (MalformedPolicyDocumentException)
// and binds the ones that do to their unique IDs: a user deleted and
// re-created with the same name is a different principal and loses access
// (IAM User Guide, "AWS JSON policy elements: Principal").
func smBindPrincipals(st *State, p *iampolicy.Policy) (map[string]string, error) {
	bound := map[string]string{}
	for _, s := range p.Statements {
		for _, pr := range []*iampolicy.Principal{s.Principal, s.NotPrincipal} {
			if pr == nil {
				continue
			}
			for _, a := range pr.AWS {
				id, ok, named := principalID(st, a)
				if !named {
					continue
				}
				if !ok {
					return nil, smErr("MalformedPolicyDocumentException", "This resource policy contains an unsupported principal.")
				}
				bound[a] = id
			}
		}
	}
	if len(bound) == 0 {
		return nil, nil
	}
	return bound, nil
}

// principalID resolves an IAM user or role ARN to its unique ID. named is
// false for principals that are not a user or role ARN (accounts,
// assumed-role sessions, "*").
func principalID(st *State, arn string) (id string, ok, named bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" {
		return "", false, false
	}
	res := parts[5]
	switch {
	case strings.HasPrefix(res, "user/"):
		a := st.Accounts[parts[4]]
		if a == nil {
			return "", false, true
		}
		for _, u := range a.Users {
			if u.ARN == arn {
				return u.ID, true, true
			}
		}
		return "", false, true
	case strings.HasPrefix(res, "role/"):
		a := st.Accounts[parts[4]]
		if a == nil {
			return "", false, true
		}
		for _, ro := range a.Roles {
			if ro.ARN == arn {
				return ro.ID, true, true
			}
		}
		return "", false, true
	}
	return "", false, false
}

// smEffectivePolicy returns a secret's resource policy as AWS holds it:
// each named user or role that no longer has the unique ID it had when
// the policy was put is replaced by that unique ID, so a re-created
// namesake does not match (and GetResourcePolicy shows the orphaned ID, as
// AWS does).
func smEffectivePolicy(st *State, sec *Secret) string {
	doc := sec.ResourcePolicy
	if doc == "" || len(sec.PolicyPrincipals) == 0 {
		return doc
	}
	arns := make([]string, 0, len(sec.PolicyPrincipals))
	for a := range sec.PolicyPrincipals {
		arns = append(arns, a)
	}
	sort.Slice(arns, func(i, j int) bool { return len(arns[i]) > len(arns[j]) })
	for _, a := range arns {
		id := sec.PolicyPrincipals[a]
		if cur, ok, _ := principalID(st, a); ok && cur == id {
			continue
		}
		doc = strings.ReplaceAll(doc, `"`+a+`"`, `"`+id+`"`)
	}
	return doc
}
