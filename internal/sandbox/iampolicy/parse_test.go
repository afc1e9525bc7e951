package iampolicy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The grammar these tests follow is
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html;
// element rules are cited per case.

func TestParseAcceptsTheGrammar(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
		want *Policy
	}{
		{
			// "statement" = "Statement" : { <statement> | [ <statement>, ... ] }
			name: "statement as an object, strings for lists",
			kind: KindIdentity,
			doc:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}`,
			want: &Policy{Kind: KindIdentity, Version: Version2012, Statements: []Statement{
				{Effect: Allow, Actions: []string{"iam:ListUsers"}, Resources: []string{"*"}, Line: 1, Column: 37},
			}},
		},
		{
			name: "statement list, Id, Sid, NotAction, NotResource, 2008 version",
			kind: KindIdentity,
			doc: `{"Version":"2008-10-17","Id":"p1","Statement":[
 {"Sid":"A","Effect":"Allow","NotAction":["iam:*","organizations:*"],"NotResource":["arn:aws:iam::111122223333:user/root-*"]},
 {"Sid":"B","Effect":"Deny","Action":"*","Resource":"*"}]}`,
			want: &Policy{Kind: KindIdentity, Version: Version2008, ID: "p1", Statements: []Statement{
				{Sid: "A", Effect: Allow, Actions: []string{"iam:*", "organizations:*"}, NotAction: true, Resources: []string{"arn:aws:iam::111122223333:user/root-*"}, NotResource: true, Line: 2, Column: 2},
				{Index: 1, Sid: "B", Effect: Deny, Actions: []string{"*"}, Resources: []string{"*"}, Line: 3, Column: 2},
			}},
		},
		{
			// Version is optional: "version_block" is optional in the grammar.
			name: "no Version",
			kind: KindSCP,
			doc:  `{"Statement":[{"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}]}`,
			want: &Policy{Kind: KindSCP, Statements: []Statement{
				{Effect: Deny, Actions: []string{"iam:CreateAccessKey"}, Resources: []string{"*"}, Line: 1, Column: 15},
			}},
		},
		{
			// "principal_block" = ("Principal" | "NotPrincipal") : ("*" | <principal_map>)
			name: "resource policy principals of every type, no Resource",
			kind: KindResource,
			doc: `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","444455556666","AIDAJQABLZS4A3QDU576Q"],"Service":"lambda.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"secretsmanager:GetSecretValue"},
 {"Effect":"Deny","NotPrincipal":"*","Action":"secretsmanager:*","Resource":"*"}]}`,
			want: &Policy{Kind: KindResource, Version: Version2012, Statements: []Statement{
				{Effect: Allow, Principal: &Principal{
					AWS:           []string{"arn:aws:iam::111122223333:root", "444455556666", "AIDAJQABLZS4A3QDU576Q"},
					Service:       []string{"lambda.amazonaws.com"},
					Federated:     []string{"cognito-identity.amazonaws.com"},
					CanonicalUser: []string{"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
				}, Actions: []string{"secretsmanager:GetSecretValue"}, Line: 2, Column: 2},
				{Index: 1, Effect: Deny, NotPrincipal: &Principal{Any: true}, Actions: []string{"secretsmanager:*"}, Resources: []string{"*"}, Line: 3, Column: 2},
			}},
		},
		{
			// "condition_block" = "Condition" : { <condition_map> }; values
			// are strings, numbers or booleans, one or a list.
			name: "conditions with lists, numbers and booleans",
			kind: KindTrust,
			doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole",
 "Condition":{"StringEquals":{"sts:ExternalId":["a","b"],"aws:PrincipalOrgID":"o-abc"},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}}`,
			want: &Policy{Kind: KindTrust, Version: Version2012, Statements: []Statement{
				{Effect: Allow, Principal: &Principal{AWS: []string{"arn:aws:iam::111122223333:root"}}, Actions: []string{"sts:AssumeRole"}, Line: 1, Column: 37,
					Conditions: []Condition{
						{Operator: "StringEquals", Key: "sts:ExternalId", Values: []string{"a", "b"}},
						{Operator: "StringEquals", Key: "aws:PrincipalOrgID", Values: []string{"o-abc"}},
						{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
						{Operator: "NumericLessThan", Key: "aws:MultiFactorAuthAge", Values: []string{"3600"}},
					}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.kind, []byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Statement{}, Condition{})); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	const v = `"Version":"2012-10-17",`
	tests := []struct {
		name    string
		kind    Kind
		doc     string
		problem Problem
		at      string // where the error is: the first occurrence of this text, or "$" for the end
		stmt    int
		detail  string // a fragment of the detail
	}{
		{name: "not JSON", kind: KindIdentity, doc: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [}", problem: ProblemSyntax, at: `}`, stmt: -1, detail: "invalid character '}'"},
		{name: "trailing comma", kind: KindIdentity, doc: `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*",}]}`, problem: ProblemSyntax, at: `}]`, stmt: -1},
		{name: "truncated", kind: KindIdentity, doc: `{"Statement":[{"Effect":"Allow"`, problem: ProblemSyntax, at: `$`, stmt: -1, detail: "unexpected end"},
		{name: "two documents", kind: KindIdentity, doc: `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, problem: ProblemSyntax, at: `{}`, stmt: -1, detail: "after the policy"},
		{name: "empty", kind: KindIdentity, doc: ``, problem: ProblemSyntax, at: `$`, stmt: -1},
		{name: "not an object", kind: KindIdentity, doc: `["Statement"]`, problem: ProblemWrongType, at: `[`, stmt: -1},
		{name: "unknown top-level element", kind: KindIdentity, doc: "{" + v + "\n\"Statements\":[]}", problem: ProblemUnknownElement, at: `"Statements"`, stmt: -1, detail: `"Statements"`},
		{name: "bad Version", kind: KindIdentity, doc: `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, problem: ProblemBadVersion, at: `"2012-10-18"`, stmt: -1, detail: `"2012-10-18"`},
		{name: "Version not a string", kind: KindIdentity, doc: `{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, problem: ProblemWrongType, at: `2012,`, stmt: -1},
		{name: "no Statement", kind: KindIdentity, doc: `{` + v + `"Id":"x"}`, problem: ProblemMissingStatement, at: `{`, stmt: -1},
		{name: "empty Statement", kind: KindIdentity, doc: `{` + v + `"Statement":[]}`, problem: ProblemMissingStatement, at: `[]`, stmt: -1},
		{name: "statement not an object", kind: KindIdentity, doc: `{` + v + `"Statement":["x"]}`, problem: ProblemWrongType, at: `"x"`, stmt: 0},
		{name: "missing Effect", kind: KindIdentity, doc: "{" + v + "\"Statement\":[\n{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},\n  {\"Action\":\"*\",\"Resource\":\"*\"}]}", problem: ProblemMissingEffect, at: `{"Action"`, stmt: 1},
		{name: "unknown Effect", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, problem: ProblemBadEffect, at: `"allow"`, stmt: 0, detail: `"allow"`},
		{name: "both Action and NotAction", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}`, problem: ProblemActionAndNotAction, at: `"NotAction"`, stmt: 0},
		{name: "no Action", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Resource":"*"}}`, problem: ProblemMissingAction, at: `{"Effect"`, stmt: 0},
		{name: "empty Action list", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, problem: ProblemMissingAction, at: `[]`, stmt: 0},
		{name: "action without a service prefix", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":["iam:ListUsers","ListRoles"],"Resource":"*"}}`, problem: ProblemBadAction, at: `"ListRoles"`, stmt: 0, detail: `"ListRoles"`},
		{name: "wildcard in the service prefix", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"i*:ListUsers","Resource":"*"}}`, problem: ProblemBadAction, at: `"i*:ListUsers"`, stmt: 0, detail: "wildcards"},
		{name: "action not a string", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, problem: ProblemWrongType, at: `1]`, stmt: 0},
		{name: "identity policy without Resource", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*"}}`, problem: ProblemMissingResource, at: `{"Effect"`, stmt: 0},
		{name: "SCP without Resource", kind: KindSCP, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*"}}`, problem: ProblemMissingResource, at: `{"Effect"`, stmt: 0},
		{name: "both Resource and NotResource", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}`, problem: ProblemResourceAndNotResource, at: `"NotResource"`, stmt: 0},
		{name: "resource not an ARN", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"user/alice"}}`, problem: ProblemBadResource, at: `"user/alice"`, stmt: 0, detail: "ARN"},
		{name: "resource ARN with too few fields", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam:user"}}`, problem: ProblemBadResource, at: `"arn:aws:iam:user"`, stmt: 0},
		{name: "Principal in an identity policy", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, problem: ProblemPrincipalNotAllowed, at: `"Principal"`, stmt: 0, detail: "identity policies must not specify Principal"},
		{name: "NotPrincipal in an SCP", kind: KindSCP, doc: `{` + v + `"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}`, problem: ProblemPrincipalNotAllowed, at: `"NotPrincipal"`, stmt: 0},
		{name: "Principal in a boundary", kind: KindBoundary, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, problem: ProblemPrincipalNotAllowed, at: `"Principal"`, stmt: 0},
		{name: "resource policy without Principal", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, problem: ProblemMissingPrincipal, at: `{"Effect"`, stmt: 0},
		{name: "trust policy without Principal", kind: KindTrust, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, problem: ProblemMissingPrincipal, at: `{"Effect"`, stmt: 0},
		{name: "trust policy with Resource", kind: KindTrust, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}}`, problem: ProblemUnknownElement, at: `"Resource"`, stmt: 0, detail: "trust policy"},
		{name: "both Principal and NotPrincipal", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"*"}}`, problem: ProblemPrincipalAndNotPrincipal, at: `"NotPrincipal"`, stmt: 0},
		{name: "principal string other than *", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"*"}}`, problem: ProblemBadPrincipal, at: `"arn:aws:iam::111122223333:root"`, stmt: 0},
		{name: "unknown principal type", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":{"IAM":"111122223333"},"Action":"*"}}`, problem: ProblemBadPrincipal, at: `"IAM"`, stmt: 0, detail: `"IAM"`},
		{name: "wildcard in a principal ARN", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"*"}}`, problem: ProblemBadPrincipal, at: `"arn:aws:iam::111122223333:user/*"`, stmt: 0, detail: "wildcards"},
		{name: "principal that is no account, ARN or ID", kind: KindResource, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","alice"]},"Action":"*"}}`, problem: ProblemBadPrincipal, at: `"alice"`, stmt: 0},
		{name: "unknown statement element", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Actions":"*","Resource":"*"}}`, problem: ProblemUnknownElement, at: `"Actions"`, stmt: 0, detail: `"Actions"`},
		{name: "unknown condition operator", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"aws:username":"a"}}}}`, problem: ProblemBadCondition, at: `"StringEqual"`, stmt: 0, detail: `"StringEqual"`},
		// IAM: "MalformedPolicyDocument: Invalid Condition type : stringEquals".
		{name: "condition operator in the wrong case", kind: KindTrust, doc: `{` + v + `"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"stringEquals":{"sts:ExternalId":"a"}}}}`, problem: ProblemBadCondition, at: `"stringEquals"`, stmt: 0, detail: `"stringEquals"`},
		{name: "ForAnyValue with Null", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:Null":{"aws:TagKeys":"true"}}}}`, problem: ProblemBadCondition, at: `"ForAnyValue:Null"`, stmt: 0},
		{name: "Null with IfExists", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}}`, problem: ProblemBadCondition, at: `"NullIfExists"`, stmt: 0},
		{name: "condition key without a prefix", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}}`, problem: ProblemBadCondition, at: `"username"`, stmt: 0, detail: `"username"`},
		{name: "condition value an object", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}}`, problem: ProblemBadCondition, at: `{"a":1}`, stmt: 0},
		{name: "condition operator not an object", kind: KindIdentity, doc: `{` + v + `"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":"true"}}}`, problem: ProblemWrongType, at: `"true"`, stmt: 0},
		{name: "duplicate Sid", kind: KindIdentity, doc: `{` + v + `"Statement":[{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"S","Effect":"Deny","Action":"*","Resource":"*"}]}`, problem: ProblemDuplicateSid, at: `{"Sid":"S","Effect":"Deny"`, stmt: 1, detail: "statement 0"},
		// "Statement IDs (SID) must be alpha-numeric. Check that your input
		// satisfies the regular expression [0-9A-Za-z]*" (IAM), and
		// reference_policies_elements_sid.html.
		{name: "Sid with a hyphen in an identity policy", kind: KindIdentity, doc: `{` + v + `"Statement":{"Sid":"allow-read","Effect":"Allow","Action":"*","Resource":"*"}}`, problem: ProblemBadSid, at: `"allow-read"`, stmt: 0},
		{name: "Sid with a space in an SCP", kind: KindSCP, doc: `{` + v + `"Statement":{"Sid":"Deny keys","Effect":"Deny","Action":"*","Resource":"*"}}`, problem: ProblemBadSid, at: `"Deny keys"`, stmt: 0},
		{name: "Sid with an underscore in a trust policy", kind: KindTrust, doc: `{` + v + `"Statement":{"Sid":"a_b","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`, problem: ProblemBadSid, at: `"a_b"`, stmt: 0},
		{name: "nested too deeply", kind: KindIdentity, doc: `{"Statement":` + strings.Repeat("[", 31) + "\n" + strings.Repeat("[", 69) + strings.Repeat("]", 100) + `}`, problem: ProblemSyntax, at: strings.Repeat("[", 32), stmt: -1, detail: "nested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.kind, []byte(tt.doc))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			line, col := locate(t, tt.doc, tt.at)
			got := [4]int{int(pe.Problem), pe.Line, pe.Column, pe.Statement}
			want := [4]int{int(tt.problem), line, col, tt.stmt}
			if got != want {
				t.Errorf("got %v (problem, line, column, statement) = %v, want %v (%v)", err, got, want, tt.problem)
			}
			if !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", pe.Detail, tt.detail)
			}
		})
	}
}

// KMS key policies carry Sids with spaces, such as the default key
// policy's "Enable IAM User Permissions".
func TestParseResourcePolicySidWithSpaces(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}`
	p, err := Parse(KindResource, []byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := p.Statements[0].Label(); got != "Enable IAM User Permissions" {
		t.Errorf("Label = %q", got)
	}
}

func TestParseErrorMessage(t *testing.T) {
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Permit\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}"
	_, err := Parse(KindIdentity, []byte(doc))
	want := `4:16: statement 0: invalid Effect: Effect must be "Allow" or "Deny", got "Permit"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParseUnknownKind(t *testing.T) {
	if _, err := Parse(Kind(0), []byte(`{}`)); err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(Kind(0)) = %v, want an error that is not ErrMalformed", err)
	}
}

func TestStatementLabel(t *testing.T) {
	p := MustParse(KindIdentity, `{"Statement":[{"Sid":"Named","Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	if got := p.Statements[0].Label(); got != "Named" {
		t.Errorf("Label = %q, want Named", got)
	}
	if got := p.Statements[1].Label(); got != "Statement[1]" {
		t.Errorf("Label = %q, want Statement[1]", got)
	}
}

// locate returns the line and column of the first occurrence of at in doc
// (the end of doc for "$"), counting as an editor does, to check the
// positions errors report.
func locate(t *testing.T, doc, at string) (line, col int) {
	t.Helper()
	i := len(doc)
	if at != "$" {
		i = strings.Index(doc, at)
		if i < 0 {
			t.Fatalf("marker %q not in the document", at)
		}
	}
	before := doc[:i]
	line = strings.Count(before, "\n") + 1
	col = len(before) - strings.LastIndex(before, "\n")
	return line, col
}
