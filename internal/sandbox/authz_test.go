package sandbox_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// authzScenario declares identity policies, groups, roles with trust
// policies and an SCP, with fixed keys so tests sign as each user.
const authzScenario = `
organization:
  id: o-authztest01
  external_id: ext-12345
  scps:
    - name: no-access-keys
      targets: [Locked]
      document: |
        {"Version": "2012-10-17",
         "Statement": [{"Sid": "DenyKeys", "Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}]}
  management:
    id: "111111111111"
    name: mgmt
    kms_keys:
      - alias: alias/shared
        policy: |
          {"Version": "2012-10-17",
           "Statement": [{"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
                         {"Sid": "OpenReads", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:Decrypt", "Resource": "*"}]}
    groups:
      - name: ops
        policies:
          inline:
            list-users:
              Version: "2012-10-17"
              Statement: [{Effect: Allow, Action: "iam:ListUsers", Resource: "*"}]
    users:
      - name: reader
        policies: {managed: [IAMReadOnlyAccess]}
        keys: [{id: AKIAREADERAAAAAAAAAA, secret: "reader0000reader0000reader0000reader0000", age: 1d}]
      - name: nobody
        keys: [{id: AKIANOBODYAAAAAAAAAA, secret: "nobody0000nobody0000nobody0000nobody0000", age: 1d}]
      - name: grouped
        groups: [ops]
        keys: [{id: AKIAGROUPEDAAAAAAAAA, secret: "grouped000grouped000grouped000grouped000", age: 1d}]
ous:
  - name: Open
  - name: Locked
accounts:
  - id: "222222222222"
    name: open
    ou: Open
    users:
      - name: app
        policies:
          inline:
            read-mgmt-secrets: |
              {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                              "Resource": "arn:aws:secretsmanager:us-east-1:111111111111:secret:shared/*"},
                             {"Effect": "Allow", "Action": "kms:Decrypt",
                              "Resource": "arn:aws:kms:us-east-1:111111111111:key/*"}]}
        keys: [{id: AKIAAPPOPENAAAAAAAAA, secret: "appopen000appopen000appopen000appopen000", age: 1d}]
  - id: "333333333333"
    name: locked
    ou: Locked
    users:
      - name: app
    roles:
      - name: InOrg
        trust: |
          {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole",
                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-authztest01"}}}]}
        policies: {managed: [ReadOnlyAccess]}
      - name: OtherOrg
        trust: |
          {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole",
                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-someother01"}}}]}
`

func authzEnv(t *testing.T) *sandboxtest.Env {
	t.Helper()
	sc, err := sandbox.ParseScenario("authz.yaml", []byte(authzScenario))
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	return env
}

// as returns a configuration signing with one of the scenario's keys.
func as(env *sandboxtest.Env, who string) aws.Config {
	keys := map[string][2]string{
		"reader":   {"AKIAREADERAAAAAAAAAA", "reader0000reader0000reader0000reader0000"},
		"nobody":   {"AKIANOBODYAAAAAAAAAA", "nobody0000nobody0000nobody0000nobody0000"},
		"grouped":  {"AKIAGROUPEDAAAAAAAAA", "grouped000grouped000grouped000grouped000"},
		"open/app": {"AKIAAPPOPENAAAAAAAAA", "appopen000appopen000appopen000appopen000"},
	}
	k := keys[who]
	return env.Config(k[0], k[1], "")
}

// tryAssume returns a configuration for a role session assumed by the admin.
func tryAssume(t *testing.T, env *sandboxtest.Env, roleARN, externalID string) (aws.Config, error) {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("authz-test")}
	if externalID != "" {
		in.ExternalId = aws.String(externalID)
	}
	out, err := sts.NewFromConfig(env.Admin()).AssumeRole(context.Background(), in)
	if err != nil {
		return aws.Config{}, err
	}
	c := out.Credentials
	return env.Config(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken), nil
}

func wantMessage(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	ae := wantAPIError(t, err, code, status)
	if ae.ErrorMessage() != msg {
		t.Errorf("%s message:\n got %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
}

// TestAuthzIdentityPolicies: a user may do what its own, its groups' and
// its attached managed policies allow and nothing else, and the IAM
// policy APIs change that at once.
func TestAuthzIdentityPolicies(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	reader, nobody, grouped := iam.NewFromConfig(as(env, "reader")), iam.NewFromConfig(as(env, "nobody")), iam.NewFromConfig(as(env, "grouped"))
	admin := iam.NewFromConfig(env.Admin())

	if _, err := reader.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("IAMReadOnlyAccess: ListUsers: %v", err)
	}
	_, err := reader.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	wantMessage(t, err, "AccessDenied", 403, "User: arn:aws:iam::111111111111:user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111111111111:user/x because no identity-based policy allows the iam:CreateUser action")
	if _, err := grouped.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("group's inline policy: ListUsers: %v", err)
	}
	_, err = grouped.ListGroups(ctx, &iam.ListGroupsInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = nobody.ListUsers(ctx, &iam.ListUsersInput{})
	wantMessage(t, err, "AccessDenied", 403, "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::111111111111:user/ because no identity-based policy allows the iam:ListUsers action")

	// An inline policy, then a managed one, then neither.
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"Users","Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("list"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := nobody.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("after PutUserPolicy: %v", err)
	}
	got, err := admin.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("list")})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); d != doc {
		t.Errorf("GetUserPolicy document %q", d)
	}
	names, err := admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("nobody")})
	if err != nil || len(names.PolicyNames) != 1 || names.PolicyNames[0] != "list" {
		t.Errorf("ListUserPolicies: %v %v", names, err)
	}
	if _, err := admin.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("list")}); err != nil {
		t.Fatal(err)
	}
	_, err = nobody.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	arn := "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	if _, err := admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	att, err := admin.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("nobody")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "IAMReadOnlyAccess" {
		t.Fatalf("ListAttachedUserPolicies: %+v %v", att, err)
	}
	if _, err := nobody.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("after AttachUserPolicy: %v", err)
	}
	if _, err := admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = nobody.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)

	// A customer-managed policy and its version.
	cp, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("list-users"), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cp.Policy.Arn) != "arn:aws:iam::111111111111:policy/list-users" || aws.ToString(cp.Policy.DefaultVersionId) != "v1" {
		t.Errorf("CreatePolicy: %+v", cp.Policy)
	}
	if _, err := admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: cp.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := nobody.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("customer-managed policy: %v", err)
	}
	gp, err := admin.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: cp.Policy.Arn})
	if err != nil || aws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Errorf("GetPolicy: %+v %v", gp, err)
	}
	pv, err := admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: cp.Policy.Arn, VersionId: aws.String("v1")})
	if err != nil || !pv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion: %+v %v", pv, err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document)); d != doc {
		t.Errorf("GetPolicyVersion document %q", d)
	}

	// Malformed documents and missing policies are refused as IAM does.
	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"iam:ListUsers"}]}`)})
	wantAPIError(t, err, "MalformedPolicyDocument", 400)
	_, err = admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nobody"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantMessage(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.")
}

// TestAuthzSCPDenyBeatsRoleAllow: the member role has AdministratorAccess,
// but an SCP on its account's OU denies key creation, and an explicit deny
// wins; the same role elsewhere creates keys.
func TestAuthzSCPDenyBeatsRoleAllow(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	locked, err := tryAssume(t, env, "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole", "ext-12345")
	if err != nil {
		t.Fatal(err)
	}
	open, err := tryAssume(t, env, "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole", "ext-12345")
	if err != nil {
		t.Fatal(err)
	}
	_, err = iam.NewFromConfig(locked).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("app")})
	wantMessage(t, err, "AccessDenied", 403, "User: arn:aws:sts::333333333333:assumed-role/OrganizationAccountAccessRole/authz-test is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::333333333333:user/app with an explicit deny in a service control policy")
	if _, err := iam.NewFromConfig(locked).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("the SCP denies only key creation: ListUsers: %v", err)
	}
	if _, err := iam.NewFromConfig(open).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("app")}); err != nil {
		t.Errorf("outside the OU: %v", err)
	}
	// The management account is never subject to SCPs, even one on the root.
	if _, err := iam.NewFromConfig(env.Admin()).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")}); err != nil {
		t.Errorf("management account: %v", err)
	}
}

// TestAuthzTrustPolicy: who may assume a role is the trust policy's say,
// with sts:ExternalId and aws:PrincipalOrgID conditions.
func TestAuthzTrustPolicy(t *testing.T) {
	env := authzEnv(t)
	role := "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
	denied := "User: arn:aws:iam::111111111111:user/sandbox-admin is not authorized to perform: sts:AssumeRole on resource: " + role
	for _, ext := range []string{"", "wrong-id"} {
		_, err := tryAssume(t, env, role, ext)
		wantMessage(t, err, "AccessDenied", 403, denied)
	}
	if _, err := tryAssume(t, env, role, "ext-12345"); err != nil {
		t.Errorf("right external ID: %v", err)
	}
	if _, err := tryAssume(t, env, "arn:aws:iam::333333333333:role/InOrg", ""); err != nil {
		t.Errorf("aws:PrincipalOrgID of the caller's organization: %v", err)
	}
	_, err := tryAssume(t, env, "arn:aws:iam::333333333333:role/OtherOrg", "")
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = tryAssume(t, env, "arn:aws:iam::333333333333:role/NoSuchRole", "")
	wantAPIError(t, err, "AccessDenied", 403)
	// A user with no sts:AssumeRole permission may not, even where trusted.
	_, err = sts.NewFromConfig(as(env, "nobody")).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::333333333333:role/InOrg"), RoleSessionName: aws.String("s1"),
	})
	wantAPIError(t, err, "AccessDenied", 403)
}

// TestAuthzSecretResourcePolicy: a secret's resource policy allows within
// the account on its own, across accounts only with the caller's identity
// policy, and an explicit deny in it beats any allow; PutResourcePolicy
// refuses principals that do not exist and binds the ones that do to their
// unique IDs, so a user deleted and re-created loses access.
func TestAuthzSecretResourcePolicy(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	admin := secretsmanager.NewFromConfig(env.Admin())
	// shared/db is read from another account, so it is encrypted with a
	// customer managed key whose policy lets that account decrypt (the AWS
	// managed aws/secretsmanager key cannot be used across accounts).
	for name, key := range map[string]*string{"shared/db": aws.String("alias/shared"), "private": nil} {
		if _, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v"), KmsKeyId: key}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(id, doc string) error {
		_, err := admin.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(id), ResourcePolicy: aws.String(doc)})
		return err
	}
	get := func(cfg aws.Config, id string) error {
		_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		return err
	}
	allow := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	}

	// Same account: the resource policy alone suffices.
	err := get(as(env, "nobody"), "private")
	wantMessage(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: secretsmanager:GetSecretValue on resource: private because no identity-based policy allows the secretsmanager:GetSecretValue action")
	if err := put("private", allow("arn:aws:iam::111111111111:user/nobody")); err != nil {
		t.Fatal(err)
	}
	if err := get(as(env, "nobody"), "private"); err != nil {
		t.Errorf("resource policy naming the user: %v", err)
	}

	// Across accounts: both the identity policy and the resource policy.
	sharedARN := secretARN(t, admin, "shared/db")
	err = get(as(env, "open/app"), sharedARN)
	wantAPIError(t, err, "AccessDeniedException", 400)
	if err := put("shared/db", allow("arn:aws:iam::222222222222:root")); err != nil {
		t.Fatal(err)
	}
	if err := get(as(env, "open/app"), sharedARN); err != nil {
		t.Errorf("identity and resource policy both allow: %v", err)
	}

	// An explicit deny in the resource policy beats the admin's AdministratorAccess.
	if err := put("private", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	_, err = admin.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("private")})
	wantMessage(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111111111111:user/sandbox-admin is not authorized to perform: secretsmanager:GetSecretValue on resource: private with an explicit deny in a resource-based policy")

	// Principals that do not exist are refused.
	err = put("shared/db", allow("arn:aws:iam::111111111111:user/ghost"))
	wantAPIError(t, err, "MalformedPolicyDocumentException", 400)

	// A user deleted and re-created with the same name is another principal.
	ic := iam.NewFromConfig(env.Admin())
	if _, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("recreated"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, ic, "temp")
	k1 := mustCreateKey(t, ic, "temp")
	if err := put("recreated", allow("arn:aws:iam::111111111111:user/temp")); err != nil {
		t.Fatal(err)
	}
	if err := get(env.Config(*k1.AccessKeyId, *k1.SecretAccessKey, ""), "recreated"); err != nil {
		t.Fatalf("temp before deletion: %v", err)
	}
	if _, err := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("temp"), AccessKeyId: k1.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("temp")}); err != nil {
		t.Fatal(err)
	}
	old := mustCreateUser(t, ic, "temp")
	k2 := mustCreateKey(t, ic, "temp")
	_ = old
	err = get(env.Config(*k2.AccessKeyId, *k2.SecretAccessKey, ""), "recreated")
	wantAPIError(t, err, "AccessDeniedException", 400)
	pol, err := admin.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("recreated")})
	if err != nil {
		t.Fatal(err)
	}
	if p := aws.ToString(pol.ResourcePolicy); strings.Contains(p, "user/temp") || !strings.Contains(p, `"AIDA`) {
		t.Errorf("the policy should show the deleted user's unique ID, not its ARN: %s", p)
	}
}

func secretARN(t *testing.T, c *secretsmanager.Client, name string) string {
	t.Helper()
	d, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(d.ARN)
}

// TestAuthzDeniedShapes: each service answers a denial with its own code,
// HTTP status and AWS's message.
func TestAuthzDeniedShapes(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	cfg := as(env, "nobody")
	const who = "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: "

	_, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantMessage(t, err, "AccessDeniedException", 400, who+"organizations:DescribeOrganization because no identity-based policy allows the organizations:DescribeOrganization action")

	_, err = sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:111111111111:alerts"), Message: aws.String("m")})
	wantMessage(t, err, "AuthorizationError", 403, who+"SNS:Publish on resource: arn:aws:sns:us-east-1:111111111111:alerts because no identity-based policy allows the SNS:Publish action")

	_, err = sesv2.NewFromConfig(cfg).SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("keyrot@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"a@example.com"}},
		Content:          &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}},
	})
	wantMessage(t, err, "AccessDeniedException", 403, who+"ses:SendEmail on resource: arn:aws:ses:us-east-1:111111111111:identity/keyrot@example.com because no identity-based policy allows the ses:SendEmail action")

	_, err = sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/None"), RoleSessionName: aws.String("s1")})
	wantAPIError(t, err, "AccessDenied", 403)

	// GetCallerIdentity needs no permission.
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity: %v", err)
	}
}

// TestAuthzPermissiveAndDecisionLog: the control API records every
// decision with the policy and statement that decided, and turns
// enforcement off and on.
func TestAuthzPermissiveAndDecisionLog(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	ctl := sandboxclient.New(env.URL)
	if err := ctl.StartAuthzLog(ctx); err != nil {
		t.Fatal(err)
	}
	reader := iam.NewFromConfig(as(env, "reader"))
	if _, err := reader.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := iam.NewFromConfig(as(env, "nobody")).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	if st, err := ctl.SetAuthzEnforced(ctx, false); err != nil || st.Enforced {
		t.Fatalf("permissive: %+v %v", st, err)
	}
	if _, err := iam.NewFromConfig(as(env, "nobody")).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("permissive: %v", err)
	}
	if _, err := ctl.SetAuthzEnforced(ctx, true); err != nil {
		t.Fatal(err)
	}
	log, err := ctl.StopAuthzLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ principal, action, decision, policy, stmt string }
	var got []row
	for _, e := range log.Entries {
		got = append(got, row{e.Principal, e.Action, e.Decision + "/" + e.PolicyType + "/" + boolText(e.Enforced), e.Policy, e.Statement})
	}
	want := []row{
		{"arn:aws:iam::111111111111:user/reader", "iam:ListUsers", "Allow/identity/enforced", "IAMReadOnlyAccess", got[0].stmt},
		{"arn:aws:iam::111111111111:user/nobody", "iam:ListUsers", "ImplicitDeny/identity/enforced", "", ""},
		{"arn:aws:iam::111111111111:user/nobody", "iam:ListUsers", "ImplicitDeny/identity/permissive", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("log: %+v", log.Entries)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	if got[0].stmt == "" {
		t.Error("an allow names its statement")
	}
	if st, err := ctl.Authz(ctx); err != nil || st.Recording || !st.Enforced || st.Decisions != 3 {
		t.Errorf("authz state after stop: %+v %v", st, err)
	}
}

func boolText(enforced bool) string {
	if enforced {
		return "enforced"
	}
	return "permissive"
}

// TestAuthzOrganizationsPolicies: the organization's SCPs through
// Organizations' policy APIs.
func TestAuthzOrganizationsPolicies(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	org := organizations.NewFromConfig(env.Admin())
	list, err := org.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var scpID string
	for _, p := range list.Policies {
		names = append(names, aws.ToString(p.Name))
		if aws.ToString(p.Name) == "no-access-keys" {
			scpID = aws.ToString(p.Id)
		}
	}
	if strings.Join(names, ",") != "FullAWSAccess,no-access-keys" || !list.Policies[0].AwsManaged {
		t.Fatalf("ListPolicies: %v", names)
	}
	d, err := org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(scpID)})
	if err != nil || !strings.Contains(aws.ToString(d.Policy.Content), `"DenyKeys"`) {
		t.Fatalf("DescribePolicy: %+v %v", d, err)
	}
	tg, err := org.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(scpID)})
	if err != nil || len(tg.Targets) != 1 || tg.Targets[0].Type != orgtypes.TargetTypeOrganizationalUnit || aws.ToString(tg.Targets[0].Name) != "Locked" {
		t.Fatalf("ListTargetsForPolicy: %+v %v", tg, err)
	}
	// Attached directly: the OU has both, its account only FullAWSAccess
	// (it inherits the OU's, which ListPoliciesForTarget does not list).
	for target, want := range map[string]string{aws.ToString(tg.Targets[0].TargetId): "FullAWSAccess,no-access-keys", "333333333333": "FullAWSAccess"} {
		got, err := org.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(target), Filter: orgtypes.PolicyTypeServiceControlPolicy})
		if err != nil {
			t.Fatal(err)
		}
		var gn []string
		for _, p := range got.Policies {
			gn = append(gn, aws.ToString(p.Name))
		}
		if strings.Join(gn, ",") != want {
			t.Errorf("policies for %s: %v, want %s", target, gn, want)
		}
	}
	_, err = org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-nosuch00")})
	wantAPIError(t, err, "PolicyNotFoundException", 400)
}

// TestAuthzAuthorizationDetails: GetAccountAuthorizationDetails lists each
// user's, group's and role's policies and the customer-managed policies.
func TestAuthzAuthorizationDetails(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	admin := iam.NewFromConfig(env.Admin())
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`
	if _, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("lister"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	out, err := admin.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.UserDetailList {
		if aws.ToString(u.UserName) == "reader" && (len(u.AttachedManagedPolicies) != 1 || aws.ToString(u.AttachedManagedPolicies[0].PolicyName) != "IAMReadOnlyAccess") {
			t.Errorf("reader's attached policies: %+v", u.AttachedManagedPolicies)
		}
	}
	if len(out.GroupDetailList) != 1 || len(out.GroupDetailList[0].GroupPolicyList) != 1 || aws.ToString(out.GroupDetailList[0].GroupPolicyList[0].PolicyName) != "list-users" {
		t.Errorf("groups: %+v", out.GroupDetailList)
	}
	if len(out.Policies) != 1 || aws.ToString(out.Policies[0].PolicyName) != "lister" || len(out.Policies[0].PolicyVersionList) != 1 {
		t.Fatalf("policies: %+v", out.Policies)
	}
	if d, _ := url.QueryUnescape(aws.ToString(out.Policies[0].PolicyVersionList[0].Document)); d != doc {
		t.Errorf("policy document %q", d)
	}
}
