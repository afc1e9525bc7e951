package iampolicy

import (
	"strings"
	"testing"
)

// Action matching: "Action values are not case sensitive" and may use *
// and ? wildcards (reference_policies_elements_action.html). Resource
// matching: ARNs with * and ? within fields, case-sensitive
// (reference_policies_elements_resource.html).
func TestActionMatching(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "iam:ListUsers", true},
		{"iam:*", "iam:ListUsers", true},
		{"iam:ListUsers", "IAM:listusers", true},
		{"IAM:List*", "iam:ListUsers", true},
		{"iam:List*", "iam:GetUser", false},
		{"iam:*AccessKey*", "iam:UpdateAccessKey", true},
		{"iam:*AccessKey*", "iam:ListAccessKeys", true},
		{"iam:Get?ser", "iam:GetUser", true},
		{"iam:Get?ser", "iam:GetUsser", false},
		{"iam:ListUsers", "iam:ListUsersX", false},
		{"sts:*", "iam:ListUsers", false},
		{"secretsmanager:*Secret*", "secretsmanager:GetSecretValue", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.action, func(t *testing.T) {
			doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"` + tt.pattern + `","Resource":"*"}}`
			d := Evaluate(&Request{Caller: alice, Action: tt.action, Resource: "*"}, &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "p", doc)}})
			if d.Allowed() != tt.want {
				t.Errorf("Action %q allows %q = %v, want %v", tt.pattern, tt.action, d.Allowed(), tt.want)
			}
		})
	}
}

func TestARNMatching(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "arn:aws:iam::111122223333:user/alice", true},
		{"*", "*", true},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:user/ops/alice", true},
		{"arn:aws:iam::*:user/*", "arn:aws:iam::444455556666:user/bob", true},
		{"arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/alice", false},
		{"arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:role/alice", false},
		{"arn:aws:iam::111122223333:user/*", "*", false},
		// A wildcard matches within one field only, except in the resource
		// field, which may hold colons.
		{"arn:aws:*:user/alice", "arn:aws:iam::111122223333:user/alice", false},
		{"arn:aws:secretsmanager:*:111122223333:secret:keyrot/*", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyrot/alice-AbCdEf", true},
		{"arn:aws:secretsmanager:*:111122223333:secret:keyrot/*", "arn:aws:secretsmanager:eu-west-1:444455556666:secret:keyrot/alice-AbCdEf", false},
		{"arn:aws:ssm:*:*:parameter/*", "arn:aws:ssm:us-east-1:111122223333:parameter/a:b", true},
		{"arn:aws:iam::11112222333?:user/a", "arn:aws:iam::111122223334:user/a", true},
		{"arn:aws:iam::111122223333:user/a", "arn:aws:iam::111122223333", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.arn, func(t *testing.T) {
			if got := matchARN(tt.pattern, tt.arn); got != tt.want {
				t.Errorf("matchARN(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
			}
		})
	}
}

func TestGlobIsLinear(t *testing.T) {
	// A pattern that backtracks badly in naive matchers.
	s := strings.Repeat("a", 10000)
	p := strings.Repeat("*a", 50) + "b"
	if glob(p, s) {
		t.Error("glob matched a string without b")
	}
	if !glob(strings.Repeat("*a", 50), s) {
		t.Error("glob did not match")
	}
}

func TestNotActionAndNotResource(t *testing.T) {
	// NotAction: "matches everything except the specified list of actions"
	// (reference_policies_elements_notaction.html); likewise NotResource.
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:secretsmanager:*:*:secret:prod/*"}}`
	tests := []struct {
		action, resource string
		want             bool
	}{
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/a", true},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/a", false},
		{"iam:ListUsers", "*", false},
		{"sts:GetCallerIdentity", "*", true},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.resource, func(t *testing.T) {
			d := Evaluate(&Request{Caller: alice, Action: tt.action, Resource: tt.resource}, &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "p", doc)}})
			if d.Allowed() != tt.want {
				t.Errorf("allowed = %v, want %v (%+v)", d.Allowed(), tt.want, d)
			}
		})
	}
}

// TestSubstitute follows reference_policies_variables.html: ${key} takes
// the key's single value, ${key, 'default'} a default when the key is
// absent, ${*} ${?} ${$} stand for the characters themselves, and a key
// that is absent (without default) or multivalued makes the element match
// nothing.
func TestSubstitute(t *testing.T) {
	req := &Request{
		Caller:  Caller{ARN: "arn:aws:iam::111122223333:user/ops/alice", Account: "111122223333", UniqueID: "AIDAALICEALICEALICE1", Tags: map[string]string{"Team": "pay*"}},
		Context: map[string][]string{"s:multi": {"a", "b"}, "s:empty": {}},
	}
	e := &evaluation{req: req}
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"plain", "plain", true},
		{"user/${aws:username}", "user/alice", true},
		{"user/${AWS:UserName}", "user/alice", true},
		{"${aws:PrincipalAccount}:${aws:userid}", "111122223333:AIDAALICEALICEALICE1", true},
		{"team/${aws:PrincipalTag/team}", "team/pay\x00", true},
		{"${aws:PrincipalTag/none, 'nobody'}", "nobody", true},
		{"${ aws:PrincipalTag/none , 'a b' }", "a b", true},
		{"${aws:PrincipalTag/none}", "", false},
		{"${aws:PrincipalTag/none, nobody}", "", false},
		{"${s:multi}", "", false},
		{"${s:empty}", "", false},
		{"a${*}b${?}c${$}", "a\x00b\x01c$", true},
		{"unclosed ${aws:username", "unclosed ${aws:username", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := substitute(tt.in, e)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("substitute(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	// A substituted star matches only a star.
	if p, _ := substitute("team/${aws:PrincipalTag/team}", e); glob(p, "team/payments") || !glob(p, "team/pay*") {
		t.Errorf("a star from a tag value acted as a wildcard")
	}
}
