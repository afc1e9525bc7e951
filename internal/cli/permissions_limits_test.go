package cli

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestMemberRoleLimits: the member role of the AWS deployment, assumed as
// the central worker does (worker role, external ID), with the sandbox
// enforcing its policies, is refused what it must never do: change the
// keys of a user tagged keyrot:exempt, read a secret keyrot did not write
// (under keyrot's prefix without keyrot's tag, or outside the prefix),
// create a secret without keyrot's tag, and act on the root user's keys.
// The same calls on a user and a secret of keyrot's own succeed, so the
// refusals are the policies' conditions and not a broken setup.
func TestMemberRoleLimits(t *testing.T) {
	ctx := context.Background()
	const member = "345678901234"
	ids := deployedIdentities()
	sc, err := sandbox.LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.RolePolicies = &sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.memberPolicies)}
	sc.Organization.RoleTrust = sandbox.Doc(ids.memberTrust.JSON())
	sc.Organization.Management.Roles = append(sc.Organization.Management.Roles, sandbox.ScenarioRole{
		Name: ids.runnerRole, Policies: sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.runnerPolicies)},
	})
	found := false
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		if a.ID != member {
			continue
		}
		found = true
		a.Root.Keys = []sandbox.ScenarioKey{{Age: "400d", LastUsed: "30d"}}
		a.Users = append(a.Users,
			sandbox.ScenarioUser{Name: "break-glass", Created: "400d", Tags: map[string]string{"keyrot:exempt": "emergency access"},
				Keys: []sandbox.ScenarioKey{{Age: "400d"}}},
			sandbox.ScenarioUser{Name: "plain-app", Created: "400d", Keys: []sandbox.ScenarioKey{{Age: "400d"}}})
		// Someone else's administrator role, to plant secrets keyrot did not write.
		a.Roles = append(a.Roles, sandbox.ScenarioRole{Name: "other-admin",
			Trust:    sandbox.Doc(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + demoMgmt + `:root"},"Action":"sts:AssumeRole"}]}`),
			Policies: sandbox.ScenarioPolicies{Managed: []string{"AdministratorAccess"}}})
	}
	if !found {
		t.Fatalf("the demo scenario has no account %s", member)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	admin := env.Admin()
	assume := func(from aws.Config, arn, externalID string) aws.Config {
		t.Helper()
		in := &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("keyrot")}
		if externalID != "" {
			in.ExternalId = aws.String(externalID)
		}
		out, err := sts.NewFromConfig(from).AssumeRole(ctx, in)
		if err != nil {
			t.Fatalf("assume %s: %v", arn, err)
		}
		cfg := from.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
			aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		return cfg
	}
	worker := assume(admin, "arn:aws:iam::"+demoMgmt+":role/"+ids.runnerRole, "")
	memberARN := "arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"
	// The trust: the external ID is required.
	if _, err := sts.NewFromConfig(worker).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(memberARN), RoleSessionName: aws.String("keyrot")}); !isAPIError(err, "AccessDenied") {
		t.Errorf("member role assumed without the external ID: %v", err)
	}
	// The trust: only the central roles, not the central account's other principals.
	if _, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(memberARN), RoleSessionName: aws.String("x"), ExternalId: aws.String(ids.externalID)}); !isAPIError(err, "AccessDenied") {
		t.Errorf("member role assumed by the central account's administrator: %v", err)
	}
	role := assume(worker, memberARN, ids.externalID)
	other := assume(admin, "arn:aws:iam::"+member+":role/other-admin", "")
	ic, sm := iam.NewFromConfig(role), secretsmanager.NewFromConfig(role)

	keyOf := func(user string) string {
		t.Helper()
		out, err := iam.NewFromConfig(other).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
		if err != nil || len(out.AccessKeyMetadata) == 0 {
			t.Fatalf("keys of %s: %v", user, err)
		}
		return aws.ToString(out.AccessKeyMetadata[0].AccessKeyId)
	}
	// Exempt user: every key change refused with AccessDenied.
	exemptKey := keyOf("break-glass")
	_, err = ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("break-glass")})
	wantDenied(t, "CreateAccessKey on the exempt user", err)
	_, err = ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("break-glass"), AccessKeyId: aws.String(exemptKey), Status: iamtypes.StatusTypeInactive})
	wantDenied(t, "UpdateAccessKey on the exempt user", err)
	_, err = ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("break-glass"), AccessKeyId: aws.String(exemptKey)})
	wantDenied(t, "DeleteAccessKey on the exempt user", err)
	// The same change on a user that is not exempt is allowed.
	if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("plain-app"), AccessKeyId: aws.String(keyOf("plain-app")), Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Errorf("UpdateAccessKey on a user that is not exempt: %v", err)
	}

	// Root's keys: a role cannot name the root user, and without a user
	// name IAM acts on the caller, which for a role is refused.
	var rootKey string
	{
		out, err := iam.NewFromConfig(other).GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
		if err != nil || out.SummaryMap["AccountAccessKeysPresent"] != 1 {
			t.Fatalf("the member account's root has no key: %v", err)
		}
		st, err := env.Server.DumpState(false)
		if err != nil {
			t.Fatal(err)
		}
		rootKey, _, _ = strings.Cut(rootKeyID(t, st, member), " ")
	}
	rootBefore := rootKeyID(t, mustDump(t, env), member)
	for _, user := range []*string{nil, aws.String("root"), aws.String("<root_account>")} {
		_, uerr := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: aws.String(rootKey), Status: iamtypes.StatusTypeInactive})
		_, derr := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: aws.String(rootKey)})
		if uerr == nil || derr == nil {
			t.Errorf("the member role changed a key of the root user (UserName %q): update %v, delete %v", aws.ToString(user), uerr, derr)
		}
	}
	if got := rootKeyID(t, mustDump(t, env), member); got != rootBefore {
		t.Errorf("the root user's key changed: %s, was %s", got, rootBefore)
	}

	// Secrets keyrot did not write: under its prefix without its tag, and
	// outside its prefix.
	osm := secretsmanager.NewFromConfig(other)
	for _, name := range []string{"keyrot/" + member + "/planted", "payroll/db"} {
		if _, err := osm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("not keyrot's")}); err != nil {
			t.Fatal(err)
		}
		_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		wantDenied(t, "GetSecretValue of "+name, err)
		_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("x")})
		wantDenied(t, "PutSecretValue of "+name, err)
		_, err = sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: []smtypes.Tag{{Key: aws.String(permissions.SecretTag), Value: aws.String(member)}}})
		wantDenied(t, "TagResource of "+name, err)
	}
	// A secret without keyrot's tag cannot be created either.
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/" + member + "/untagged")})
	wantDenied(t, "CreateSecret without keyrot's tag", err)
	// keyrot's own secret: created with the tag, written and read back.
	name := "keyrot/" + member + "/plain-app"
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name),
		Tags: []smtypes.Tag{{Key: aws.String(permissions.SecretTag), Value: aws.String(member)}}}); err != nil {
		t.Fatalf("CreateSecret with keyrot's tag: %v", err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("{}")}); err != nil {
		t.Errorf("PutSecretValue of keyrot's secret: %v", err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}); err != nil {
		t.Errorf("GetSecretValue of keyrot's secret: %v", err)
	}
}

func mustDump(t *testing.T, env *sandboxtest.Env) []byte {
	t.Helper()
	b, err := env.Server.DumpState(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantDenied fails unless err is AWS's AccessDenied (IAM) or
// AccessDeniedException (Secrets Manager).
func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.HasPrefix(ae.ErrorCode(), "AccessDenied") {
		t.Errorf("%s: want AccessDenied, got %v", what, err)
	}
}

// rootKeyID returns the ID of the root user's key in a sandbox state dump.
func rootKeyID(t *testing.T, state []byte, account string) string {
	t.Helper()
	var st sandbox.State
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	a := st.Accounts[account]
	if a == nil || len(a.Root.Keys) != 1 {
		t.Fatalf("account %s: want one root key", account)
	}
	k := a.Root.Keys[0]
	return k.ID + " " + k.Status
}

// TestCentralKeyPolicy: the central KMS key's policy (rotation.store:
// central) lets the worker encrypt secrets through Secrets Manager and a
// principal of the organization decrypt one it is allowed to read, and
// nothing else: not the worker calling KMS directly, not another role of
// the central account that may use Secrets Manager, not a principal of the
// organization calling KMS directly.
func TestCentralKeyPolicy(t *testing.T) {
	ctx := context.Background()
	const member, keyID = "345678901234", "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyARN := "arn:aws:kms:us-east-1:" + demoMgmt + ":key/" + keyID
	ids := deployedIdentities()
	d := permissions.Deployment{Region: "us-east-1", AccountID: demoMgmt, OrgID: "o-brightl00p1"}
	sc, err := sandbox.LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	otherAdmin := func(name string) sandbox.ScenarioRole {
		return sandbox.ScenarioRole{Name: name,
			Trust:    sandbox.Doc(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + demoMgmt + `:root"},"Action":"sts:AssumeRole"}]}`),
			Policies: sandbox.ScenarioPolicies{Inline: map[string]sandbox.PolicyDocument{"secrets": sandbox.Doc(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`)}}}
	}
	mg := &sc.Organization.Management
	mg.Roles = append(mg.Roles, sandbox.ScenarioRole{Name: ids.runnerRole, Policies: sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.runnerPolicies)}},
		otherAdmin("central-app"))
	mg.KMSKeys = append(mg.KMSKeys, sandbox.ScenarioKMSKey{ID: keyID, Alias: "alias/keyrot-secrets", Policy: permissions.CentralKeyPolicy(d).JSON()})
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == member {
			// Across accounts KMS needs the caller's own policy to allow
			// the key too, as AWS documents.
			r := otherAdmin("app-reader")
			r.Policies.Inline["central-key"] = sandbox.Doc(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"` + keyARN + `"}]}`)
			sc.Accounts[i].Roles = append(sc.Accounts[i].Roles, r)
		}
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	admin := env.Admin()
	assume := func(arn string) aws.Config {
		t.Helper()
		out, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("test")})
		if err != nil {
			t.Fatalf("assume %s: %v", arn, err)
		}
		cfg := admin.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
			aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		return cfg
	}
	worker := assume("arn:aws:iam::" + demoMgmt + ":role/" + ids.runnerRole)
	centralApp := assume("arn:aws:iam::" + demoMgmt + ":role/central-app")
	reader := assume("arn:aws:iam::" + member + ":role/app-reader")
	readerARN := "arn:aws:iam::" + member + ":role/app-reader"

	// The worker stores a key in the central account, encrypted with the central key.
	name := "keyrot/" + member + "/app"
	created, err := secretsmanager.NewFromConfig(worker).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), KmsKeyId: aws.String(keyARN), SecretString: aws.String(`{"AccessKeyId":"AKIAEXAMPLE"}`),
		Tags: []smtypes.Tag{{Key: aws.String(permissions.SecretTag), Value: aws.String(member)}}})
	if err != nil {
		t.Fatalf("the worker could not store a secret with the central key: %v", err)
	}
	policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": readerARN}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}}})
	if _, err := secretsmanager.NewFromConfig(worker).PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId: created.ARN, ResourcePolicy: aws.String(string(policy))}); err != nil {
		t.Fatal(err)
	}
	// The owner in the member account reads it through Secrets Manager.
	if _, err := secretsmanager.NewFromConfig(reader).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN}); err != nil {
		t.Errorf("the organization's reader could not read the secret: %v", err)
	}
	// Nobody uses the key outside Secrets Manager.
	for who, cfg := range map[string]aws.Config{"worker": worker, "reader": reader} {
		_, err := kms.NewFromConfig(cfg).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
		wantDenied(t, who+" encrypting directly", err)
	}
	// Another role of the central account that may use Secrets Manager may not use the key.
	_, err = secretsmanager.NewFromConfig(centralApp).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("keyrot/" + member + "/other"), KmsKeyId: aws.String(keyARN), SecretString: aws.String("x")})
	wantDenied(t, "another central role storing a secret with the central key", err)
}
