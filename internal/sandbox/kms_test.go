package sandbox_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func mustCreateKMSKey(t *testing.T, c *kms.Client, desc string) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String(desc)})
	mustNoErr(t, err)
	return out.KeyMetadata
}

// TestKMSKeyLifecycle drives keys, key policies, aliases and key states
// through the real SDK: the shapes KMS answers with, the four ways to name
// a key, and the state errors (DisabledException, KMSInvalidStateException).
func TestKMSKeyLifecycle(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	c := kms.NewFromConfig(env.Admin())
	mgmt := env.Server.ManagementAccountID()

	md := mustCreateKMSKey(t, c, "keyrot central store")
	id, arn := aws.ToString(md.KeyId), aws.ToString(md.Arn)
	if arn != "arn:aws:kms:us-east-1:"+mgmt+":key/"+id || len(id) != 36 || md.KeyState != kmstypes.KeyStateEnabled ||
		!md.Enabled || md.KeyManager != kmstypes.KeyManagerTypeCustomer || md.KeySpec != kmstypes.KeySpecSymmetricDefault ||
		md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt || aws.ToString(md.AWSAccountId) != mgmt || md.CreationDate == nil {
		t.Fatalf("CreateKey metadata: %+v", md)
	}

	pol, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if !strings.Contains(aws.ToString(pol.Policy), `"arn:aws:iam::`+mgmt+`:root"`) || aws.ToString(pol.PolicyName) != "default" {
		t.Fatalf("default key policy: %s", aws.ToString(pol.Policy))
	}
	newPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + mgmt + `:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(arn), Policy: aws.String(newPolicy)})
	mustNoErr(t, err)
	pol, err = c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if aws.ToString(pol.Policy) != newPolicy {
		t.Fatalf("policy round trip: %s", aws.ToString(pol.Policy))
	}
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(id), Policy: aws.String("{not json")})
	wantAPIError(t, err, "MalformedPolicyDocumentException", 400)

	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: aws.String(id)})
	mustNoErr(t, err)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: aws.String(id)})
	wantAPIError(t, err, "AlreadyExistsException", 400)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/keyrot"), TargetKeyId: aws.String(id)})
	wantAPIError(t, err, "NotAuthorizedException", 400)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("keyrot"), TargetKeyId: aws.String(id)})
	wantAPIError(t, err, "ValidationException", 400)

	for _, name := range []string{id, arn, "alias/keyrot", "arn:aws:kms:us-east-1:" + mgmt + ":alias/keyrot"} {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(name)})
		mustNoErr(t, err)
		if aws.ToString(d.KeyMetadata.KeyId) != id || aws.ToString(d.KeyMetadata.Description) != "keyrot central store" {
			t.Fatalf("DescribeKey %s: %+v", name, d.KeyMetadata)
		}
	}
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	wantAPIError(t, err, "NotFoundException", 400)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	wantAPIError(t, err, "NotFoundException", 400)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:s3:::bucket")})
	wantAPIError(t, err, "InvalidArnException", 400)

	// ListAliases names the AWS managed aws/secretsmanager alias before its
	// key exists, without a target, as KMS does.
	al, err := c.ListAliases(ctx, &kms.ListAliasesInput{})
	mustNoErr(t, err)
	var got []string
	for _, a := range al.Aliases {
		got = append(got, aws.ToString(a.AliasName)+"->"+aws.ToString(a.TargetKeyId))
	}
	if want := "alias/aws/secretsmanager->,alias/keyrot->" + id; strings.Join(got, ",") != want {
		t.Fatalf("ListAliases: %v, want %s", got, want)
	}

	// ListKeys pages with Limit and Marker; Limit must be at least 1.
	second := mustCreateKMSKey(t, c, "second")
	var ids []string
	var pages int
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		mustNoErr(t, err)
		pages++
		for _, k := range page.Keys {
			ids = append(ids, aws.ToString(k.KeyId))
		}
	}
	if pages != 2 || len(ids) != 2 || (ids[0] != id && ids[1] != id) || (ids[0] != aws.ToString(second.KeyId) && ids[1] != aws.ToString(second.KeyId)) {
		t.Fatalf("ListKeys: %d pages, %v", pages, ids)
	}
	_, err = c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", 400)

	// Key states.
	plain := []byte("rotate me")
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/keyrot"), Plaintext: plain})
	ae := wantAPIError(t, err, "DisabledException", 400)
	if ae.ErrorMessage() != arn+" is disabled." {
		t.Errorf("DisabledException message %q", ae.ErrorMessage())
	}
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/keyrot"), Plaintext: plain})
	mustNoErr(t, err)

	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(6)})
	wantAPIError(t, err, "ValidationException", 400)
	sd, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
	mustNoErr(t, err)
	if sd.KeyState != kmstypes.KeyStatePendingDeletion || aws.ToString(sd.KeyId) != arn || aws.ToInt32(sd.PendingWindowInDays) != 7 {
		t.Fatalf("ScheduleKeyDeletion: %+v", sd)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: plain})
	ae = wantAPIError(t, err, "KMSInvalidStateException", 400)
	if ae.ErrorMessage() != arn+" is pending deletion." {
		t.Errorf("KMSInvalidStateException message %q", ae.ErrorMessage())
	}
	for name, call := range map[string]func() error{
		"DisableKey": func() error { _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); return err },
		"EnableKey":  func() error { _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); return err },
		"ScheduleKeyDeletion": func() error {
			_, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id)})
			return err
		},
		"CreateAlias": func() error {
			_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: aws.String(id)})
			return err
		},
	} {
		if code := apiCode(call()); code != "KMSInvalidStateException" {
			t.Errorf("%s on a key pending deletion: %s, want KMSInvalidStateException", name, code)
		}
	}
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if d.KeyMetadata.DeletionDate == nil || d.KeyMetadata.Enabled {
		t.Fatalf("pending deletion metadata: %+v", d.KeyMetadata)
	}
	cd, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if aws.ToString(cd.KeyId) != arn {
		t.Fatalf("CancelKeyDeletion KeyId %s", aws.ToString(cd.KeyId))
	}
	d, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if d.KeyMetadata.KeyState != kmstypes.KeyStateDisabled || d.KeyMetadata.DeletionDate != nil {
		t.Fatalf("a cancelled deletion leaves the key disabled: %+v", d.KeyMetadata)
	}
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)})
	wantAPIError(t, err, "KMSInvalidStateException", 400)

	// After the waiting period the key is gone, and its alias with it.
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
	mustNoErr(t, err)
	env.Server.Clock().Advance(7*24*time.Hour + time.Second)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	ae = wantAPIError(t, err, "NotFoundException", 400)
	if ae.ErrorMessage() != "Key '"+arn+"' does not exist" {
		t.Errorf("NotFoundException message %q", ae.ErrorMessage())
	}
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/keyrot")})
	wantAPIError(t, err, "NotFoundException", 400)
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/keyrot")})
	wantAPIError(t, err, "NotFoundException", 400)
}

// TestKMSGrantsAndCrypto covers the grants Secrets Manager makes and uses,
// and Encrypt, Decrypt and GenerateDataKey.
func TestKMSGrantsAndCrypto(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	c := kms.NewFromConfig(env.Admin())
	md := mustCreateKMSKey(t, c, "grants")
	id := aws.ToString(md.KeyId)
	grantee := "arn:aws:iam::" + env.Server.ManagementAccountID() + ":role/keyrot"

	g, err := c.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(id), GranteePrincipal: aws.String(grantee), RetiringPrincipal: aws.String(grantee),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKey},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{"SecretARN": "arn:aws:secretsmanager:us-east-1:1:secret:x"}},
		Name:        aws.String("secretsmanager"),
	})
	mustNoErr(t, err)
	if len(aws.ToString(g.GrantId)) != 64 || aws.ToString(g.GrantToken) == "" {
		t.Fatalf("CreateGrant: %+v", g)
	}
	again, err := c.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(id), GranteePrincipal: aws.String(grantee), RetiringPrincipal: aws.String(grantee),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKey},
		Name:       aws.String("secretsmanager"),
	})
	mustNoErr(t, err)
	if aws.ToString(again.GrantId) != aws.ToString(g.GrantId) {
		t.Errorf("CreateGrant with the same name and grant made a second grant")
	}
	other, err := c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(id), GranteePrincipal: aws.String(grantee), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt}})
	mustNoErr(t, err)
	_, err = c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(id), GranteePrincipal: aws.String(grantee), Operations: []kmstypes.GrantOperation{"Delete"}})
	wantAPIError(t, err, "ValidationException", 400)

	lg, err := c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if len(lg.Grants) != 2 || aws.ToString(lg.Grants[0].KeyId) != aws.ToString(md.Arn) || aws.ToString(lg.Grants[0].GranteePrincipal) != grantee ||
		lg.Grants[0].Constraints == nil || len(lg.Grants[0].Operations) != 2 || !strings.HasSuffix(aws.ToString(lg.Grants[0].IssuingAccount), ":root") {
		t.Fatalf("ListGrants: %+v", lg.Grants)
	}
	_, err = c.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
	mustNoErr(t, err)
	_, err = c.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
	wantAPIError(t, err, "InvalidGrantTokenException", 400)
	_, err = c.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: aws.String(id), GrantId: other.GrantId})
	mustNoErr(t, err)
	_, err = c.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: aws.String(id), GrantId: other.GrantId})
	wantAPIError(t, err, "NotFoundException", 400)
	lg, err = c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(id)})
	mustNoErr(t, err)
	if len(lg.Grants) != 0 {
		t.Fatalf("grants left after retire and revoke: %+v", lg.Grants)
	}

	ectx := map[string]string{"SecretARN": "x"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("hello"), EncryptionContext: ectx})
	mustNoErr(t, err)
	if bytes.Contains(enc.CiphertextBlob, []byte("hello")) || aws.ToString(enc.KeyId) != aws.ToString(md.Arn) {
		t.Fatalf("Encrypt: %+v", enc)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ectx})
	mustNoErr(t, err)
	if string(dec.Plaintext) != "hello" || aws.ToString(dec.KeyId) != aws.ToString(md.Arn) {
		t.Fatalf("Decrypt: %+v", dec)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantAPIError(t, err, "InvalidCiphertextException", 400)
	second := mustCreateKMSKey(t, c, "other")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ectx, KeyId: second.KeyId})
	wantAPIError(t, err, "IncorrectKeyException", 400)

	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: kmstypes.DataKeySpecAes256})
	mustNoErr(t, err)
	if len(dk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey: %d bytes", len(dk.Plaintext))
	}
	back, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	mustNoErr(t, err)
	if !bytes.Equal(back.Plaintext, dk.Plaintext) {
		t.Fatal("the data key does not decrypt to its plaintext")
	}
}

// TestSecretsManagerUsesKMSKey checks that Secrets Manager encrypts with the
// key a secret names and fails as documented when it cannot use it:
// EncryptionFailure on write and DecryptionFailure on read for a missing,
// disabled or pending-deletion key. The AWS managed aws/secretsmanager key
// is made on first use and refuses other accounts (AccessDeniedException
// "Access to KMS is not allowed"); a customer managed key serves them.
func TestSecretsManagerUsesKMSKey(t *testing.T) {
	env := stsEnv(t)
	ctx := context.Background()
	c := kms.NewFromConfig(env.Admin())
	sm := secretsmanager.NewFromConfig(env.Admin())
	mgmt := env.Server.ManagementAccountID()

	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("nokey"), KmsKeyId: aws.String("alias/missing"), SecretString: aws.String("v")})
	wantAPIError(t, err, "EncryptionFailure", 400)

	md := mustCreateKMSKey(t, c, "central store")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: md.KeyId})
	mustNoErr(t, err)
	cs, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), KmsKeyId: aws.String("alias/keyrot"), SecretString: aws.String("v1")})
	mustNoErr(t, err)
	read := func(cl *secretsmanager.Client, id string) error {
		_, err := cl.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		return err
	}
	put := func(v string) error {
		_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: cs.ARN, SecretString: aws.String(v)})
		return err
	}
	mustNoErr(t, read(sm, aws.ToString(cs.ARN)))

	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId})
	mustNoErr(t, err)
	wantAPIError(t, read(sm, aws.ToString(cs.ARN)), "DecryptionFailure", 400)
	wantAPIError(t, put("v2"), "EncryptionFailure", 400)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("other"), KmsKeyId: md.Arn, SecretString: aws.String("v")})
	wantAPIError(t, err, "EncryptionFailure", 400)
	// A secret without a value calls no KMS operation.
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty"), KmsKeyId: md.Arn})
	mustNoErr(t, err)
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	mustNoErr(t, err)
	mustNoErr(t, put("v2"))
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)})
	mustNoErr(t, err)
	wantAPIError(t, read(sm, aws.ToString(cs.ARN)), "DecryptionFailure", 400)
	wantAPIError(t, put("v3"), "EncryptionFailure", 400)
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId})
	mustNoErr(t, err)
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	mustNoErr(t, err)
	mustNoErr(t, read(sm, aws.ToString(cs.ARN)))

	// The AWS managed key is made when a secret first needs it.
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/secretsmanager")})
	mustNoErr(t, err)
	managed := d.KeyMetadata
	def, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("default-key"), SecretString: aws.String("v")})
	mustNoErr(t, err)
	mustNoErr(t, read(sm, aws.ToString(def.ARN)))
	if managed.KeyManager != kmstypes.KeyManagerTypeAws {
		t.Fatalf("aws/secretsmanager is managed by %s", managed.KeyManager)
	}
	// Nobody may disable or delete an AWS managed key, nor change its policy.
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: managed.KeyId})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: managed.KeyId})
	wantAPIError(t, err, "AccessDeniedException", 400)
	pol, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: managed.KeyId})
	mustNoErr(t, err)
	if !strings.Contains(aws.ToString(pol.Policy), `"kms:ViaService" : "secretsmanager.us-east-1.amazonaws.com"`) {
		t.Fatalf("aws/secretsmanager key policy: %s", aws.ToString(pol.Policy))
	}

	// A member account reads both secrets through their resource policies:
	// the one under the AWS managed key is refused by KMS.
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	for _, arn := range []*string{def.ARN, cs.ARN} {
		_, err = sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: arn, ResourcePolicy: aws.String(allow)})
		mustNoErr(t, err)
	}
	// The customer managed key's policy must let the member account decrypt.
	keyPolicy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + mgmt + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"MemberReads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:Decrypt","Resource":"*"}]}`
	member := secretsmanager.NewFromConfig(assume(t, env, env.Admin(), "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", ""))
	ae := wantAPIError(t, read(member, aws.ToString(cs.ARN)), "AccessDeniedException", 400)
	if ae.ErrorMessage() != "Access to KMS is not allowed" {
		t.Errorf("cross-account read refused by the default key policy: %q", ae.ErrorMessage())
	}
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: md.KeyId, PolicyName: aws.String("default"), Policy: aws.String(keyPolicy)})
	mustNoErr(t, err)
	ae = wantAPIError(t, read(member, aws.ToString(def.ARN)), "AccessDeniedException", 400)
	if ae.ErrorMessage() != "Access to KMS is not allowed" {
		t.Errorf("cross-account read under aws/secretsmanager: %q", ae.ErrorMessage())
	}
	mustNoErr(t, read(member, aws.ToString(cs.ARN)))
	if !strings.Contains(aws.ToString(cs.ARN), ":"+mgmt+":") {
		t.Fatalf("secret ARN %s", aws.ToString(cs.ARN))
	}
}

// TestScenarioKMSKeys loads keys from a scenario: fixed ID, alias, policy
// and state, as the SDK then sees them.
func TestScenarioKMSKeys(t *testing.T) {
	env := sandboxtest.Start(t, "testdata/scenarios/good-kms-ses.yaml")
	ctx := context.Background()
	c := kms.NewFromConfig(env.Admin())
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/keyrot-central")})
	mustNoErr(t, err)
	if aws.ToString(d.KeyMetadata.KeyId) != "1234abcd-12ab-34cd-56ef-1234567890ab" || d.KeyMetadata.KeyState != kmstypes.KeyStateEnabled {
		t.Fatalf("scenario key: %+v", d.KeyMetadata)
	}
	pol, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: d.KeyMetadata.KeyId})
	mustNoErr(t, err)
	if !strings.Contains(aws.ToString(pol.Policy), `"Action": "kms:Decrypt"`) {
		t.Fatalf("scenario key policy: %s", aws.ToString(pol.Policy))
	}
	d, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/retired")})
	mustNoErr(t, err)
	if d.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion || d.KeyMetadata.DeletionDate == nil ||
		d.KeyMetadata.DeletionDate.Sub(env.Server.Clock().Now()) > 7*24*time.Hour {
		t.Fatalf("pending-deletion scenario key: %+v", d.KeyMetadata)
	}
	west := env.Admin()
	west.Region = "eu-west-1"
	keys, err := kms.NewFromConfig(west).ListKeys(ctx, &kms.ListKeysInput{})
	mustNoErr(t, err)
	if len(keys.Keys) != 1 {
		t.Fatalf("eu-west-1 keys: %+v", keys.Keys)
	}
}
