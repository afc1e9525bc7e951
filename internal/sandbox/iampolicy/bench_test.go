package iampolicy

import (
	"testing"
)

// BenchmarkEvaluate measures one authorization as the sandbox makes it on
// every call: a role session with ReadOnlyAccess and a rotation policy
// whose statements carry conditions and policy variables, under three SCP
// levels (FullAWSAccess plus a region guardrail and a key-creation deny),
// on a secret with a resource policy.
func BenchmarkEvaluate(b *testing.B) {
	full, _ := Managed("FullAWSAccess")
	ro, _ := Managed("ReadOnlyAccess")
	rotation := named(b, KindIdentity, "rotation", `{"Version":"2012-10-17","Statement":[
 {"Sid":"RotateKeys","Effect":"Allow","Action":["iam:GetUser","iam:CreateAccessKey","iam:UpdateAccessKey","iam:DeleteAccessKey","iam:TagUser","iam:UntagUser"],"Resource":"arn:aws:iam::*:user/service/*"},
 {"Sid":"StoreKeys","Effect":"Allow","Action":["secretsmanager:CreateSecret","secretsmanager:PutSecretValue","secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:*:${aws:PrincipalAccount}:secret:keyrot/*",
  "Condition":{"StringEquals":{"aws:ResourceTag/keyrot:managed":"true"},"Bool":{"aws:SecureTransport":"true"}}}]}`)
	denyKeys := named(b, KindSCP, "DenyKeyCreation", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Keyrot*"}}}]}`)
	region := named(b, KindSCP, "RegionLock", regionLock)
	secretPolicy := named(b, KindResource, "secret", `{"Version":"2012-10-17","Statement":[
 {"Sid":"KeyrotReaders","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/service/app"]},"Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*"},
 {"Sid":"KeyrotDenyCompromisedUser","Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:user/service/old"]},"Action":"secretsmanager:*","Resource":"*"}]}`)
	ps := &PolicySet{
		Identity: []NamedPolicy{ro.Named(), rotation},
		Resource: &secretPolicy,
		SCPs: []SCPLevel{
			{Target: "r-ab12", Policies: []NamedPolicy{full.Named(), region}},
			{Target: "ou-ab12-11111111", Policies: []NamedPolicy{full.Named(), denyKeys}},
			{Target: acctA, Policies: []NamedPolicy{full.Named()}},
		},
	}
	caller := Caller{ARN: "arn:aws:sts::" + acctA + ":assumed-role/KeyrotRotation/run-1", Account: acctA, UniqueID: "AROAKEYROTKEYROTKEY1",
		RoleARN: "arn:aws:iam::" + acctA + ":role/KeyrotRotation", OrgID: "o-abc123"}
	reqs := []Request{
		{Caller: caller, Action: "iam:ListUsers", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}},
		{Caller: caller, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::" + acctA + ":user/service/app", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}},
		{Caller: caller, Action: "secretsmanager:PutSecretValue", Resource: "arn:aws:secretsmanager:eu-west-1:" + acctA + ":secret:keyrot/app-AbCdEf",
			Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}, "aws:ResourceTag/keyrot:managed": {"true"}, "aws:SecureTransport": {"true"}}},
		{Caller: caller, Action: "secretsmanager:DeleteSecret", Resource: "arn:aws:secretsmanager:eu-west-1:" + acctA + ":secret:keyrot/app-AbCdEf", Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}},
	}
	want := []bool{true, true, true, false}
	for i := range reqs {
		if got := Evaluate(&reqs[i], ps).Allowed(); got != want[i] {
			b.Fatalf("request %d (%s) allowed = %v, want %v", i, reqs[i].Action, got, want[i])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Evaluate(&reqs[i%len(reqs)], ps)
	}
}

// BenchmarkParse measures parsing the largest embedded managed policy.
func BenchmarkParse(b *testing.B) {
	ro, _ := Managed("ReadOnlyAccess")
	doc := []byte(ro.Document)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(KindIdentity, doc); err != nil {
			b.Fatal(err)
		}
	}
}
