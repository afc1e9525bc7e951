package iampolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Documents cited below, under https://docs.aws.amazon.com/IAM/latest/UserGuide/:
//   [logic]    reference_policies_evaluation-logic_policy-eval-denyallow.html
//   [basics]   reference_policies_evaluation-logic_policy-eval-basics.html
//   [cross]    reference_policies_evaluation-logic-cross-account.html
//   [resource] reference_policies_evaluation-logic.html#policy-eval-basics-id-rdp
//   [bound]    access_policies_boundaries.html
//   [session]  access_policies.html#policies_session
//   [notp]     reference_policies_elements_notprincipal.html
//   [vars]     reference_policies_variables.html
//   [denied]   troubleshoot_access-denied.html
// and for SCPs
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html [scp].

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var (
	alice = Caller{ARN: "arn:aws:iam::" + acctA + ":user/alice", Account: acctA, UniqueID: "AIDAALICEALICEALICE1", OrgID: "o-abc123"}
	// auditor is a session of role Auditor in account A.
	auditor = Caller{ARN: "arn:aws:sts::" + acctA + ":assumed-role/Auditor/run-1", Account: acctA, UniqueID: "AROAAUDITORAUDITOR12", RoleARN: "arn:aws:iam::" + acctA + ":role/Auditor", OrgID: "o-abc123"}
	// bob is a user in account B.
	bob   = Caller{ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB, UniqueID: "AIDABOBBOBBOBBOBBOB1", OrgID: "o-abc123"}
	rootA = Caller{ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA}
)

func named(t testing.TB, kind Kind, name, doc string) NamedPolicy {
	t.Helper()
	p, err := Parse(kind, []byte(doc))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return NamedPolicy{Name: name, Policy: p}
}

func ptr(n NamedPolicy) *NamedPolicy { return &n }

func TestEvaluate(t *testing.T) {
	const (
		allowAll     = `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}]}`
		allowIAMList = `{"Version":"2012-10-17","Statement":[{"Sid":"List","Effect":"Allow","Action":["iam:List*","iam:Get*"],"Resource":"*"}]}`
		denyKeys     = `{"Version":"2012-10-17","Statement":[{"Sid":"NoKeys","Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}]}`
	)
	secretA := "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:keyrot/alice-AbCdEf"
	secretB := "arn:aws:secretsmanager:us-east-1:" + acctB + ":secret:central/alice-AbCdEf"
	keyA := "arn:aws:kms:us-east-1:" + acctA + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	roleA := "arn:aws:iam::" + acctA + ":role/KeyrotAudit"
	userArn := func(acct, name string) string { return "arn:aws:iam::" + acct + ":user/" + name }

	fullAccess, _ := Managed("FullAWSAccess")
	type tc struct {
		name string
		req  Request
		ps   func(t *testing.T) *PolicySet
		want Decision
	}
	tests := []tc{
		{
			// [logic] "By default, all requests are implicitly denied".
			name: "nothing allows: implicit deny by identity policies",
			req:  Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"},
			ps:   func(t *testing.T) *PolicySet { return &PolicySet{} },
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the iam:ListUsers action"},
		},
		{
			// [basics] an identity-based policy allows within the account.
			name: "identity policy allows",
			req:  Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "lister", allowIAMList)}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "lister", Statement: "List", StatementIndex: 0},
		},
		{
			// [logic] "An explicit deny overrides an explicit allow", across
			// policies of the same type.
			name: "deny in one identity policy overrides allow in another",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll), named(t, KindIdentity, "no-keys", denyKeys)}}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindIdentity, Policy: "no-keys", Statement: "NoKeys", StatementIndex: 0,
				Reason: "with an explicit deny in an identity-based policy"},
		},
		{
			// [scp] an SCP deny at an OU applies to every account below it,
			// whatever identity policies allow.
			name: "SCP deny at an OU beats AdministratorAccess",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				admin, _ := Managed("AdministratorAccess")
				return &PolicySet{
					Identity: []NamedPolicy{admin.Named()},
					SCPs: []SCPLevel{
						{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named()}},
						{Target: "ou-ab12-11111111", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "DenyKeyCreation", denyKeys)}},
						{Target: acctA, Policies: []NamedPolicy{fullAccess.Named()}},
					},
				}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindSCP, Policy: "DenyKeyCreation", Statement: "NoKeys", StatementIndex: 0,
				Reason: "with an explicit deny in a service control policy"},
		},
		{
			// [scp] "every SCP level must allow": an OU whose SCPs allow
			// nothing for the action denies implicitly.
			name: "SCP level without an allow: implicit deny by SCP",
			req:  Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"},
			ps: func(t *testing.T) *PolicySet {
				onlyOrgs := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"organizations:*","Resource":"*"}}`
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs: []SCPLevel{
						{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named()}},
						{Target: "ou-ab12-22222222", Policies: []NamedPolicy{named(t, KindSCP, "OrgsOnly", onlyOrgs)}},
						{Target: acctA, Policies: []NamedPolicy{fullAccess.Named()}},
					},
				}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindSCP, Policy: "ou-ab12-22222222", StatementIndex: -1,
				Reason: "because no service control policy allows the iam:ListUsers action"},
		},
		{
			// [scp] "SCPs don't affect users or roles in the management account."
			name: "SCPs do not apply to the management account",
			req:  Request{Caller: Caller{ARN: userArn(acctA, "alice"), Account: acctA, ManagementAccount: true}, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs:     []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{named(t, KindSCP, "DenyKeyCreation", denyKeys)}}},
				}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			// [scp] SCPs do not restrict service-linked roles.
			name: "SCPs do not apply to service-linked roles",
			req: Request{Caller: Caller{ARN: "arn:aws:sts::" + acctA + ":assumed-role/AWSServiceRoleForOrganizations/s", Account: acctA,
				RoleARN: "arn:aws:iam::" + acctA + ":role/aws-service-role/organizations.amazonaws.com/AWSServiceRoleForOrganizations"}, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs:     []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{named(t, KindSCP, "DenyKeyCreation", denyKeys)}}},
				}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			// [scp] SCPs grant nothing: the identity policy must still allow.
			name: "SCPs allow but no identity policy does",
			req:  Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named()}}}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the iam:ListUsers action"},
		},
		{
			// [logic] "By default, all requests are implicitly denied with
			// the exception of the AWS account root user"; [scp] SCPs do
			// restrict a member account's root user.
			name: "root user needs no identity policy, but SCPs apply to it",
			req:  Request{Caller: rootA, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::" + acctA + ":root"},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "DenyKeyCreation", denyKeys)}}}}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindSCP, Policy: "DenyKeyCreation", Statement: "NoKeys", StatementIndex: 0,
				Reason: "with an explicit deny in a service control policy"},
		},
		{
			name: "root user allowed in its own account",
			req:  Request{Caller: rootA, Action: "iam:ListUsers", Resource: "*"},
			ps:   func(t *testing.T) *PolicySet { return &PolicySet{} },
			want: Decision{Result: Allowed, Kind: KindIdentity, StatementIndex: -1},
		},
		{
			name: "root user of another account needs the resource policy",
			req:  Request{Caller: rootA, Action: "secretsmanager:GetSecretValue", Resource: secretB},
			ps:   func(t *testing.T) *PolicySet { return &PolicySet{} },
			want: Decision{Result: ImplicitDeny, Kind: KindResource, StatementIndex: -1,
				Reason: "because no resource-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			name: "root user of another account, resource policy naming its account",
			req:  Request{Caller: rootA, Action: "secretsmanager:GetSecretValue", Resource: secretB},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "central",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, StatementIndex: -1},
		},
		{
			// [resource] within one account a resource-based policy that
			// names the principal allows on its own.
			name: "same account: resource policy naming the user allows without identity policy",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "secret-policy",
					`{"Version":"2012-10-17","Statement":{"Sid":"Reader","Effect":"Allow","Principal":{"AWS":"`+alice.ARN+`"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindResource, Policy: "secret-policy", Statement: "Reader", StatementIndex: 0},
		},
		{
			// [resource] a resource policy naming the account delegates to
			// the account's identity policies.
			name: "same account: resource policy naming the account needs an identity policy",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "secret-policy",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"secretsmanager:*","Resource":"*"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			// [logic] a Deny in a resource-based policy that applies to the
			// principal wins over identity allows.
			name: "resource policy deny naming the user beats an identity allow",
			req:  Request{Caller: alice, Action: "secretsmanager:DeleteSecret", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Sid":"Keep","Effect":"Deny","Principal":{"AWS":"`+alice.UniqueID+`"},"Action":"secretsmanager:DeleteSecret","Resource":"*"}}`)),
				}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindResource, Policy: "secret-policy", Statement: "Keep", StatementIndex: 0,
				Reason: "with an explicit deny in a resource-based policy"},
		},
		{
			name: "resource policy deny naming someone else does not apply",
			req:  Request{Caller: alice, Action: "secretsmanager:DeleteSecret", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Sid":"Keep","Effect":"Deny","Principal":{"AWS":"`+userArn(acctA, "mallory")+`"},"Action":"secretsmanager:DeleteSecret","Resource":"*"}}`)),
				}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			// [cross] "the identity-based policy and the resource-based
			// policy must both allow": identity alone is not enough.
			name: "cross account: identity policy alone is not enough",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretB},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindResource, StatementIndex: -1,
				Reason: "because no resource-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			name: "cross account: resource policy alone is not enough",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretB},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "central",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice.ARN+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			name: "cross account: both allow (the resource policy naming the account)",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretB},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "central",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"secretsmanager:GetSecretValue"}}`)),
				}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			name: "cross account: the resource account may be given explicitly",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: "central/alice", ResourceAccount: acctB},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindResource, StatementIndex: -1,
				Reason: "because no resource-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			// [resource] KMS is an exception: "you must explicitly allow
			// access in the key policy"; identity policies alone never do.
			name: "KMS: identity policy without a key policy allowing",
			req:  Request{Caller: alice, Action: "kms:Decrypt", Resource: keyA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "key-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+userArn(acctA, "keyadmin")+`"},"Action":"kms:*","Resource":"*"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindResource, Policy: "key-policy", StatementIndex: -1,
				Reason: "because no resource-based policy allows the kms:Decrypt action"},
		},
		{
			// The default key policy names the account root: it enables
			// IAM policies, which must then allow.
			name: "KMS: key policy naming the account delegates to identity policies",
			req:  Request{Caller: alice, Action: "kms:Decrypt", Resource: keyA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "decrypt", `{"Version":"2012-10-17","Statement":{"Sid":"D","Effect":"Allow","Action":"kms:Decrypt","Resource":"`+keyA+`"}}`)},
					Resource: ptr(named(t, KindResource, "key-policy",
						`{"Version":"2012-10-17","Statement":{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"kms:*","Resource":"*"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "decrypt", Statement: "D", StatementIndex: 0},
		},
		{
			name: "KMS: key policy naming the account, no identity policy",
			req:  Request{Caller: alice, Action: "kms:Decrypt", Resource: keyA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "key-policy",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"kms:*","Resource":"*"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the kms:Decrypt action"},
		},
		{
			name: "KMS: no key policy at all",
			req:  Request{Caller: alice, Action: "kms:Decrypt", Resource: keyA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindResource, StatementIndex: -1,
				Reason: "because no resource-based policy allows the kms:Decrypt action"},
		},
		{
			// [resource] a role trust policy naming a user of the same
			// account lets it assume the role with no identity policy.
			name: "trust policy naming the user, same account",
			req:  Request{Caller: alice, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindTrust, "KeyrotAudit",
					`{"Version":"2012-10-17","Statement":{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"`+alice.ARN+`"},"Action":"sts:AssumeRole"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindTrust, Policy: "KeyrotAudit", Statement: "Alice", StatementIndex: 0},
		},
		{
			name: "trust policy naming the account: the identity policy must allow sts:AssumeRole",
			req:  Request{Caller: alice, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindTrust, "KeyrotAudit",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"sts:AssumeRole"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the sts:AssumeRole action"},
		},
		{
			// AWS's AssumeRole denial carries no reason clause.
			name: "trust policy not naming the caller",
			req:  Request{Caller: alice, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindTrust, "KeyrotAudit",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}}`)),
				}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindTrust, Policy: "KeyrotAudit", StatementIndex: -1},
		},
		{
			name: "AssumeRole without a trust policy is denied",
			req:  Request{Caller: alice, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindTrust, StatementIndex: -1},
		},
		{
			// [cross] cross-account AssumeRole: the trust policy must allow
			// AND the caller's identity policy must allow sts:AssumeRole.
			name: "cross-account AssumeRole without identity permission",
			req:  Request{Caller: bob, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindTrust, "KeyrotAudit",
					`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+bob.ARN+`"},"Action":"sts:AssumeRole"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the sts:AssumeRole action"},
		},
		{
			name: "cross-account AssumeRole with ExternalId and PrincipalOrgID conditions met",
			req:  Request{Caller: bob, Action: "sts:AssumeRole", Resource: roleA, Context: map[string][]string{"sts:ExternalId": {"keyrot-7f3a"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "assume", `{"Version":"2012-10-17","Statement":{"Sid":"Assume","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/Keyrot*"}}`)},
					Resource: ptr(named(t, KindTrust, "KeyrotAudit",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctB+`"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"keyrot-7f3a","aws:PrincipalOrgID":"o-abc123"}}}}`)),
				}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "assume", Statement: "Assume", StatementIndex: 0},
		},
		{
			name: "cross-account AssumeRole with the wrong ExternalId",
			req:  Request{Caller: bob, Action: "sts:AssumeRole", Resource: roleA, Context: map[string][]string{"sts:externalid": {"guess"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindTrust, "KeyrotAudit",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+acctB+`"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"keyrot-7f3a"}}}}`)),
				}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindTrust, Policy: "KeyrotAudit", StatementIndex: -1},
		},
		{
			name: "cross-account AssumeRole from outside the organization",
			req:  Request{Caller: Caller{ARN: bob.ARN, Account: acctB, OrgID: "o-other"}, Action: "sts:AssumeRole", Resource: roleA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{
					Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindTrust, "KeyrotAudit",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}}`)),
				}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindTrust, Policy: "KeyrotAudit", StatementIndex: -1},
		},
		{
			// [bound] "An entity's permissions boundary allows it to perform
			// only the actions that are allowed by both its identity-based
			// policies and its permissions boundaries."
			name: "permissions boundary limits identity policies",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Boundary: ptr(named(t, KindBoundary, "ListOnly", allowIAMList))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindBoundary, Policy: "ListOnly", StatementIndex: -1,
				Reason: "because no permissions boundary allows the iam:CreateAccessKey action"},
		},
		{
			name: "permissions boundary and identity policy both allow",
			req:  Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Boundary: ptr(named(t, KindBoundary, "ListOnly", allowIAMList))}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			name: "explicit deny in a permissions boundary",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Boundary: ptr(named(t, KindBoundary, "NoKeys", denyKeys))}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindBoundary, Policy: "NoKeys", Statement: "NoKeys", StatementIndex: 0,
				Reason: "with an explicit deny in a permissions boundary"},
		},
		{
			// [bound] "Resource-based policies that grant permissions to an
			// IAM user ARN are not limited by an implicit deny in ... a
			// permissions boundary."
			name: "boundary does not limit a resource policy naming the user",
			req:  Request{Caller: alice, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Boundary: ptr(named(t, KindBoundary, "ListOnly", allowIAMList)),
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice.ARN+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindResource, Policy: "secret-policy", Statement: "Statement[0]", StatementIndex: 0},
		},
		{
			// [bound] "Resource-based policies that grant permissions to an
			// IAM role ARN are limited by an implicit deny in a permissions
			// boundary or session policy."
			name: "boundary limits a resource policy naming the role",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Boundary: ptr(named(t, KindBoundary, "ListOnly", allowIAMList)),
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+auditor.RoleARN+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindBoundary, Policy: "ListOnly", StatementIndex: -1,
				Reason: "because no permissions boundary allows the secretsmanager:GetSecretValue action"},
		},
		{
			name: "resource policy naming the role allows its session when nothing limits it",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Resource: ptr(named(t, KindResource, "secret-policy",
					`{"Version":"2012-10-17","Statement":{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"`+auditor.RoleARN+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindResource, Policy: "secret-policy", Statement: "Role", StatementIndex: 0},
		},
		{
			// [session] "The resulting session's permissions are the
			// intersection of the role's identity-based policy and the
			// session policies."
			name: "session policy limits the role's identity policy",
			req:  Request{Caller: auditor, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Session: []NamedPolicy{named(t, KindSession, "", allowIAMList)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindSession, StatementIndex: -1,
				Reason: "because no session policy allows the iam:CreateAccessKey action"},
		},
		{
			name: "an empty set of session policies allows nothing",
			req:  Request{Caller: auditor, Action: "iam:ListUsers", Resource: "*"},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Session: []NamedPolicy{}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindSession, StatementIndex: -1,
				Reason: "because no session policy allows the iam:ListUsers action"},
		},
		{
			name: "explicit deny in a session policy",
			req:  Request{Caller: auditor, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Session: []NamedPolicy{named(t, KindSession, "", denyKeys)}}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindSession, Statement: "NoKeys", StatementIndex: 0,
				Reason: "with an explicit deny in a session policy"},
		},
		{
			// [session] a resource policy naming the session's ARN is not
			// limited by the session policy.
			name: "session policy does not limit a resource policy naming the session",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Session: []NamedPolicy{named(t, KindSession, "", allowIAMList)},
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+auditor.ARN+`"},"Action":"secretsmanager:GetSecretValue"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindResource, Policy: "secret-policy", Statement: "Statement[0]", StatementIndex: 0},
		},
		{
			// [notp] a Deny with NotPrincipal exempts a role session only when
			// the account, the role and the session are all listed.
			name: "NotPrincipal naming only the role does not exempt its session",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Sid":"OnlyAuditor","Effect":"Deny","NotPrincipal":{"AWS":"`+auditor.RoleARN+`"},"Action":"secretsmanager:*","Resource":"*"}}`))}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindResource, Policy: "secret-policy", Statement: "OnlyAuditor", StatementIndex: 0,
				Reason: "with an explicit deny in a resource-based policy"},
		},
		{
			name: "NotPrincipal naming the account, role and session exempts the session",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::`+acctA+`:root","`+auditor.RoleARN+`","`+auditor.ARN+`"]},"Action":"secretsmanager:*","Resource":"*"}}`))}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			// [bound] "The NotPrincipal element with a Deny effect will
			// always deny any IAM principal that has a permissions boundary
			// policy attached".
			name: "NotPrincipal deny always applies to a principal with a boundary",
			req:  Request{Caller: auditor, Action: "secretsmanager:GetSecretValue", Resource: secretA},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)}, Boundary: ptr(named(t, KindBoundary, "all", allowAll)),
					Resource: ptr(named(t, KindResource, "secret-policy",
						`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::`+acctA+`:root","`+auditor.RoleARN+`","`+auditor.ARN+`"]},"Action":"secretsmanager:*","Resource":"*"}}`))}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindResource, Policy: "secret-policy", Statement: "Statement[0]", StatementIndex: 0,
				Reason: "with an explicit deny in a resource-based policy"},
		},
		{
			// [vars] ${aws:username} is replaced by the caller's user name.
			name: "policy variable in Resource: own user allowed",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "self", `{"Version":"2012-10-17","Statement":{"Sid":"Self","Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`)}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "self", Statement: "Self", StatementIndex: 0},
		},
		{
			name: "policy variable in Resource: another user denied",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "bob")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "self", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the iam:CreateAccessKey action"},
		},
		{
			// [vars] "policy variables ... only work with version
			// 2012-10-17": under 2008-10-17 the text is literal.
			name: "policy variable is literal text in a 2008-10-17 policy",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "self", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the iam:CreateAccessKey action"},
		},
		{
			name: "a role session has no aws:username: the variable matches nothing",
			req:  Request{Caller: auditor, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "Auditor")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "self", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the iam:CreateAccessKey action"},
		},
		{
			name: "principal tag variable in a condition",
			req:  Request{Caller: withTags(alice, map[string]string{"team": "payments"}), Action: "secretsmanager:GetSecretValue", Resource: secretA, Context: map[string][]string{"aws:ResourceTag/team": {"payments"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "abac", `{"Version":"2012-10-17","Statement":{"Sid":"ABAC","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}}`)}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "abac", Statement: "ABAC", StatementIndex: 0},
		},
		{
			name: "principal tag variable in a condition, other team",
			req:  Request{Caller: withTags(alice, map[string]string{"team": "payments"}), Action: "secretsmanager:GetSecretValue", Resource: secretA, Context: map[string][]string{"aws:ResourceTag/team": {"search"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "abac", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}}`)}}
			},
			want: Decision{Result: ImplicitDeny, Kind: KindIdentity, StatementIndex: -1,
				Reason: "because no identity-based policy allows the secretsmanager:GetSecretValue action"},
		},
		{
			// A common org guardrail: deny outside approved regions, except
			// global services, with NotAction.
			name: "region guardrail SCP denies a regional call elsewhere",
			req:  Request{Caller: alice, Action: "secretsmanager:CreateSecret", Resource: secretA, Context: map[string][]string{"aws:RequestedRegion": {"ap-south-1"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "RegionLock", regionLock)}}}}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindSCP, Policy: "RegionLock", Statement: "DenyOutsideEU", StatementIndex: 0,
				Reason: "with an explicit deny in a service control policy"},
		},
		{
			name: "region guardrail SCP exempts IAM with NotAction",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice"), Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "RegionLock", regionLock)}}}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			name: "region guardrail SCP allows a regional call in the region",
			req:  Request{Caller: alice, Action: "secretsmanager:CreateSecret", Resource: secretA, Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "RegionLock", regionLock)}}}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "admin", Statement: "All", StatementIndex: 0},
		},
		{
			// An SCP protecting keyrot's role from everyone else, with
			// ArnNotLike on aws:PrincipalArn (the role ARN for a session).
			name: "SCP with ArnNotLike on aws:PrincipalArn exempts keyrot's role",
			req:  Request{Caller: Caller{ARN: "arn:aws:sts::" + acctA + ":assumed-role/KeyrotRotation/run-9", Account: acctA, RoleARN: "arn:aws:iam::" + acctA + ":role/KeyrotRotation", UniqueID: "AROAKEYROTKEYROTKEY1"}, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "rotate", allowAll)},
					SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "OnlyKeyrot", onlyKeyrot)}}}}
			},
			want: Decision{Result: Allowed, Kind: KindIdentity, Policy: "rotate", Statement: "All", StatementIndex: 0},
		},
		{
			name: "SCP with ArnNotLike on aws:PrincipalArn denies anyone else",
			req:  Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: userArn(acctA, "alice")},
			ps: func(t *testing.T) *PolicySet {
				return &PolicySet{Identity: []NamedPolicy{named(t, KindIdentity, "admin", allowAll)},
					SCPs: []SCPLevel{{Target: "r-ab12", Policies: []NamedPolicy{fullAccess.Named(), named(t, KindSCP, "OnlyKeyrot", onlyKeyrot)}}}}
			},
			want: Decision{Result: ExplicitDeny, Kind: KindSCP, Policy: "OnlyKeyrot", Statement: "Statement[0]", StatementIndex: 0,
				Reason: "with an explicit deny in a service control policy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			got := Evaluate(&req, tt.ps(t))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

const regionLock = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutsideEU","Effect":"Deny",
  "NotAction":["iam:*","organizations:*","sts:*","support:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}}]}`

const onlyKeyrot = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:UpdateAccessKey"],"Resource":"*",
  "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Keyrot*"}}}]}`

func withTags(c Caller, tags map[string]string) Caller {
	c.Tags = tags
	return c
}

func TestEvaluateNilPolicySet(t *testing.T) {
	d := Evaluate(&Request{Caller: alice, Action: "iam:ListUsers", Resource: "*"}, nil)
	if d.Result != ImplicitDeny || d.Kind != KindIdentity {
		t.Errorf("Evaluate(nil) = %+v, want an implicit deny by identity policies", d)
	}
}

// TestDecisionMessage checks the AccessDenied message shape of
// troubleshoot_access-denied.html: "User: arn is not authorized to
// perform: action on resource: arn because ...".
func TestDecisionMessage(t *testing.T) {
	req := &Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::" + acctA + ":user/bob"}
	d := Evaluate(req, &PolicySet{})
	want := "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::111122223333:user/bob because no identity-based policy allows the iam:CreateAccessKey action"
	if got := d.Message(req); got != want {
		t.Errorf("Message =\n%s\nwant\n%s", got, want)
	}
	req.Resource = "*"
	want = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:CreateAccessKey because no identity-based policy allows the iam:CreateAccessKey action"
	if got := Evaluate(req, &PolicySet{}).Message(req); got != want {
		t.Errorf("Message without a resource =\n%s\nwant\n%s", got, want)
	}
	if got := (Decision{Result: Allowed}).Message(req); got != "" {
		t.Errorf("Message of an allow = %q, want empty", got)
	}
}
