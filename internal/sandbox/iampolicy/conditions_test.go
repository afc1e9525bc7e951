package iampolicy

import (
	"fmt"
	"testing"
)

// The rules come from, under https://docs.aws.amazon.com/IAM/latest/UserGuide/:
//   [ops]   reference_policies_elements_condition_operators.html
//   [logic] reference_policies_condition-logic-multiple-context-keys-or-values.html
//   [multi] reference_policies_condition-single-vs-multi-valued-context-keys.html

func TestConditions(t *testing.T) {
	type ctx = map[string][]string
	tests := []struct {
		name      string
		condition string // the Condition element's JSON
		context   ctx
		want      bool
	}{
		// [ops] String condition operators.
		{"StringEquals matches", `{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}}, true},
		{"StringEquals is case-sensitive", `{"StringEquals":{"aws:RequestedRegion":"EU-west-1"}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}}, false},
		{"StringEquals: several values OR'd", `{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}}, true},
		{"StringEquals: missing key is false", `{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{}, false},
		{"condition keys are case-insensitive", `{"StringEquals":{"AWS:REQUESTEDREGION":"eu-west-1"}}`, ctx{"aws:requestedRegion": {"eu-west-1"}}, true},
		{"StringNotEquals different", `{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{"aws:RequestedRegion": {"us-east-1"}}, true},
		// [logic] a negated operator with several values: the value must
		// match none of them.
		{"StringNotEquals: several values, one matches", `{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}}, false},
		{"StringNotEquals: several values, none matches", `{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}`, ctx{"aws:RequestedRegion": {"ap-south-1"}}, true},
		// [ops] "If the key that you specify in a policy condition is not
		// present in the request context, the values do not match" — a
		// negated operator then holds.
		{"StringNotEquals: missing key is true", `{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{}, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"PAYMENTS"}}`, ctx{"aws:PrincipalTag/team": {"payments"}}, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"PAYMENTS"}}`, ctx{"aws:PrincipalTag/team": {"payments"}}, false},
		{"StringLike with *", `{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}`, ctx{"kms:ViaService": {"secretsmanager.us-east-1.amazonaws.com"}}, true},
		{"StringLike with ?", `{"StringLike":{"aws:userid":"AIDA????:*"}}`, ctx{"aws:userid": {"AIDAABCD:alice"}}, true},
		{"StringLike no match", `{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}`, ctx{"kms:ViaService": {"ssm.us-east-1.amazonaws.com"}}, false},
		{"StringNotLike", `{"StringNotLike":{"kms:ViaService":"secretsmanager.*"}}`, ctx{"kms:ViaService": {"ssm.us-east-1.amazonaws.com"}}, true},
		{"StringNotLike: missing key is true", `{"StringNotLike":{"kms:ViaService":"secretsmanager.*"}}`, ctx{}, true},
		// [ops] ...IfExists: "If the key is not present, evaluate the
		// condition element as true."
		{"StringEqualsIfExists: missing key", `{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{}, true},
		{"StringEqualsIfExists: present, no match", `{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"}}`, ctx{"aws:RequestedRegion": {"us-east-1"}}, false},
		// [ops] ARN condition operators, field by field.
		{"ArnLike", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Keyrot*"}}`, ctx{"aws:PrincipalArn": {"arn:aws:iam::111122223333:role/KeyrotAudit"}}, true},
		{"ArnLike: a wildcard does not span fields", `{"ArnLike":{"aws:SourceArn":"arn:aws:*:role/x"}}`, ctx{"aws:SourceArn": {"arn:aws:iam::111122223333:role/x"}}, false},
		{"ArnEquals takes wildcards too", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:111122223333:keyrot"}}`, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:111122223333:keyrot"}}, true},
		{"ArnNotLike", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Keyrot*"}}`, ctx{"aws:PrincipalArn": {"arn:aws:iam::111122223333:user/alice"}}, true},
		{"ArnNotEquals: matching value", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}`, ctx{"aws:PrincipalArn": {"arn:aws:iam::111122223333:user/alice"}}, false},
		{"ArnLike: a value that is no ARN", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:*"}}`, ctx{"aws:PrincipalArn": {"alice"}}, false},
		// [ops] Boolean.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx{"aws:SecureTransport": {"true"}}, true},
		{"Bool JSON boolean", `{"Bool":{"aws:SecureTransport":false}}`, ctx{"aws:SecureTransport": {"true"}}, false},
		{"Bool: missing key is false", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, ctx{}, false},
		{"BoolIfExists: missing key is true", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, ctx{}, true},
		// [ops] Null: "true" means the key is absent.
		{"Null true, key absent", `{"Null":{"aws:ResourceTag/owner":"true"}}`, ctx{}, true},
		{"Null true, key present", `{"Null":{"aws:ResourceTag/owner":"true"}}`, ctx{"aws:ResourceTag/owner": {"alice"}}, false},
		{"Null false, key present", `{"Null":{"aws:ResourceTag/owner":"false"}}`, ctx{"aws:ResourceTag/owner": {"alice"}}, true},
		{"Null false, key absent", `{"Null":{"aws:ResourceTag/owner":false}}`, ctx{}, false},
		// [ops] Numeric.
		{"NumericLessThan", `{"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}`, ctx{"aws:MultiFactorAuthAge": {"120"}}, true},
		{"NumericLessThan equal", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`, ctx{"aws:MultiFactorAuthAge": {"3600"}}, false},
		{"NumericLessThanEquals equal", `{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"3600"}}`, ctx{"aws:MultiFactorAuthAge": {"3600"}}, true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"secretsmanager:RecoveryWindowInDays":"7"}}`, ctx{"secretsmanager:RecoveryWindowInDays": {"30"}}, true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"secretsmanager:RecoveryWindowInDays":"7"}}`, ctx{"secretsmanager:RecoveryWindowInDays": {"7"}}, true},
		{"NumericEquals", `{"NumericEquals":{"s:n":"7"}}`, ctx{"s:n": {"7.0"}}, true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s:n":"7"}}`, ctx{"s:n": {"8"}}, true},
		{"Numeric: a value that is no number", `{"NumericEquals":{"s:n":"7"}}`, ctx{"s:n": {"seven"}}, false},
		// [ops] Date, ISO 8601 or epoch.
		{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}}`, ctx{"aws:CurrentTime": {"2026-11-29T19:00:00Z"}}, true},
		{"DateGreaterThan", `{"DateGreaterThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}}`, ctx{"aws:CurrentTime": {"2026-11-29T19:00:00Z"}}, false},
		{"DateGreaterThanEquals with epoch", `{"DateGreaterThanEquals":{"aws:EpochTime":"1764442800"}}`, ctx{"aws:EpochTime": {"1764442800"}}, true},
		{"DateEquals across formats", `{"DateEquals":{"aws:CurrentTime":"2026-11-29"}}`, ctx{"aws:CurrentTime": {"2026-11-29T00:00:00Z"}}, true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-11-29"}}`, ctx{"aws:CurrentTime": {"2026-11-30T00:00:00Z"}}, true},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-29T19:00:00+01:00"}}`, ctx{"aws:CurrentTime": {"2026-11-29T18:00:00Z"}}, true},
		// [ops] IP address.
		{"IpAddress in range", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"IpAddress out of range", `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}`, ctx{"aws:SourceIp": {"198.51.100.1"}}, false},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}`, ctx{"aws:SourceIp": {"2001:db8::1"}}, true},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"198.51.100.1"}}, true},
		{"NotIpAddress in range", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"203.0.113.9"}}, false},
		// [ops] Binary.
		{"BinaryEquals", `{"BinaryEquals":{"s:key":"QmluYXJ5VmFsdWU="}}`, ctx{"s:key": {"QmluYXJ5VmFsdWU="}}, true},
		{"BinaryEquals different", `{"BinaryEquals":{"s:key":"QmluYXJ5VmFsdWU="}}`, ctx{"s:key": {"b3RoZXI="}}, false},
		// [logic] several keys under one operator, and several operators,
		// are AND'd.
		{"two keys AND'd, both hold", `{"StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:PrincipalTag/team":"payments"}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}, "aws:PrincipalTag/team": {"payments"}}, true},
		{"two keys AND'd, one fails", `{"StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:PrincipalTag/team":"payments"}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}, "aws:PrincipalTag/team": {"search"}}, false},
		{"two operators AND'd", `{"StringEquals":{"aws:RequestedRegion":"eu-west-1"},"Bool":{"aws:SecureTransport":"true"}}`, ctx{"aws:RequestedRegion": {"eu-west-1"}, "aws:SecureTransport": {"false"}}, false},
		// [multi] set operators on multivalued keys.
		{"ForAllValues: every value allowed", `{"ForAllValues:StringEquals":{"aws:TagKeys":["owner","team"]}}`, ctx{"aws:TagKeys": {"team", "owner"}}, true},
		{"ForAllValues: one value not allowed", `{"ForAllValues:StringEquals":{"aws:TagKeys":["owner","team"]}}`, ctx{"aws:TagKeys": {"team", "cost"}}, false},
		{"ForAllValues: missing key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["owner"]}}`, ctx{}, true},
		{"ForAnyValue: one value matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}`, ctx{"aws:TagKeys": {"team", "owner"}}, true},
		{"ForAnyValue: none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}`, ctx{"aws:TagKeys": {"team"}}, false},
		{"ForAnyValue: missing key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}`, ctx{}, false},
		{"ForAnyValue:StringNotEquals: one value differs from all", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["owner","team"]}}`, ctx{"aws:TagKeys": {"team", "cost"}}, true},
		{"ForAnyValue:StringNotEquals: all values listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["owner","team"]}}`, ctx{"aws:TagKeys": {"team", "owner"}}, false},
		{"ForAllValues:StringNotLike: none matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":["aws:*"]}}`, ctx{"aws:TagKeys": {"team", "owner"}}, true},
		{"ForAllValues:StringNotLike: one matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":["aws:*"]}}`, ctx{"aws:TagKeys": {"team", "aws:owner"}}, false},
		{"ForAnyValue:StringLikeIfExists: missing key", `{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["o*"]}}`, ctx{}, true},
		{"a multivalued key without set operator matches any value", `{"StringEquals":{"aws:PrincipalOrgPaths":"o-a/r-b/ou-c/"}}`, ctx{"aws:PrincipalOrgPaths": {"o-a/r-b/ou-x/", "o-a/r-b/ou-c/"}}, true},
		// [vars] a variable in a condition value; ${*} is a literal star.
		{"variable in a StringEquals value", `{"StringEquals":{"s:owner":"${aws:PrincipalTag/team}-owner"}}`, ctx{"s:owner": {"payments-owner"}, "aws:PrincipalTag/team": {"payments"}}, true},
		{"variable with a default", `{"StringEquals":{"s:owner":"${aws:PrincipalTag/none, 'nobody'}"}}`, ctx{"s:owner": {"nobody"}}, true},
		{"variable without value: the value is dropped", `{"StringEquals":{"s:owner":"${aws:PrincipalTag/none}"}}`, ctx{"s:owner": {""}}, false},
		{"${*} is a literal star in StringLike", `{"StringLike":{"s:name":"a${*}b"}}`, ctx{"s:name": {"axb"}}, false},
		{"${*} matches a star", `{"StringLike":{"s:name":"a${*}b"}}`, ctx{"s:name": {"a*b"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":%s}}`, tt.condition)
			p, err := Parse(KindIdentity, []byte(doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			req := &Request{Caller: Caller{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"}, Action: "s3:GetObject", Resource: "*", Context: tt.context}
			d := Evaluate(req, &PolicySet{Identity: []NamedPolicy{{Name: "p", Policy: p}}})
			if got := d.Allowed(); got != tt.want {
				t.Errorf("condition %s with %v holds = %v, want %v", tt.condition, tt.context, got, tt.want)
			}
		})
	}
}

// TestDerivedContextKeys checks the keys Evaluate derives from the caller
// (reference_policies_condition-keys.html), and that the request's own
// context overrides them.
func TestDerivedContextKeys(t *testing.T) {
	session := Caller{
		ARN: "arn:aws:sts::111122223333:assumed-role/Auditor/run-1", Account: "111122223333",
		UniqueID: "AROAAUDITORAUDITOR12", RoleARN: "arn:aws:iam::111122223333:role/Auditor",
		Tags: map[string]string{"Team": "sec"}, OrgID: "o-abc123", OrgPaths: []string{"o-abc123/r-ab12/ou-ab12-1/"},
	}
	user := Caller{ARN: "arn:aws:iam::111122223333:user/ops/alice", Account: "111122223333", UniqueID: "AIDAALICEALICEALICE1"}
	tests := []struct {
		caller  Caller
		key     string
		want    []string
		context map[string][]string
	}{
		{session, "aws:PrincipalArn", []string{"arn:aws:iam::111122223333:role/Auditor"}, nil},
		{session, "aws:PrincipalAccount", []string{"111122223333"}, nil},
		{session, "aws:PrincipalOrgID", []string{"o-abc123"}, nil},
		{session, "aws:PrincipalOrgPaths", []string{"o-abc123/r-ab12/ou-ab12-1/"}, nil},
		{session, "aws:PrincipalTag/team", []string{"sec"}, nil},
		{session, "aws:PrincipalTagKeys", []string{"Team"}, nil},
		{session, "aws:userid", []string{"AROAAUDITORAUDITOR12:run-1"}, nil},
		{session, "aws:username", nil, nil},
		{session, "aws:PrincipalType", []string{"AssumedRole"}, nil},
		{user, "aws:username", []string{"alice"}, nil},
		{user, "aws:userid", []string{"AIDAALICEALICEALICE1"}, nil},
		{user, "aws:PrincipalArn", []string{"arn:aws:iam::111122223333:user/ops/alice"}, nil},
		{user, "aws:PrincipalType", []string{"User"}, nil},
		{user, "aws:PrincipalOrgID", nil, nil},
		{user, "kms:CallerAccount", []string{"111122223333"}, nil},
		{user, "aws:PrincipalOrgID", []string{"o-given"}, map[string][]string{"AWS:PrincipalOrgID": {"o-given"}}},
	}
	for _, tt := range tests {
		t.Run(tt.caller.ARN+" "+tt.key, func(t *testing.T) {
			e := evaluation{req: &Request{Caller: tt.caller, Context: tt.context}}
			got := e.context(tt.key)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("context(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}
