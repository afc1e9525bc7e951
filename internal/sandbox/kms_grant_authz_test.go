package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestKMSGrantsAuthorize: KMS considers a key's grants along with its key
// policy and IAM policies ("Grants in AWS KMS", KMS Developer Guide): a
// grant lets its grantee perform its operations when no policy allows
// them, within the grant's encryption context constraints; a grant to a
// role covers the role's sessions in another account; a revoked grant
// gives nothing.
func TestKMSGrantsAuthorize(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	admin := kms.NewFromConfig(env.Admin())
	nobody := kms.NewFromConfig(as(env, "nobody"))
	key := "alias/shared"
	ectx := map[string]string{"app": "billing"}

	_, err := nobody.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x"), EncryptionContext: ectx})
	wantAPIError(t, err, "AccessDeniedException", 400)

	g, err := admin.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(key), GranteePrincipal: aws.String("arn:aws:iam::111111111111:user/nobody"),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt, kmstypes.GrantOperationDecrypt},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: ectx},
	})
	mustNoErr(t, err)
	env.Server.StartAuthzLog()
	enc, err := nobody.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x"), EncryptionContext: map[string]string{"app": "billing", "env": "prod"}})
	mustNoErr(t, err)
	log := env.Server.StopAuthzLog()
	if len(log) == 0 || log[len(log)-1].PolicyType != "grant" || log[len(log)-1].Policy != aws.ToString(g.GrantId) {
		t.Errorf("the decision log does not name the grant: %+v", log)
	}
	_, err = nobody.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"app": "billing", "env": "prod"}})
	mustNoErr(t, err)
	_, err = nobody.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x"), EncryptionContext: map[string]string{"app": "payroll"}})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = nobody.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = nobody.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
	wantAPIError(t, err, "AccessDeniedException", 400)

	// A grant to a role of another account of the organization covers its
	// sessions, although the key policy names neither the role nor its account.
	role, err := tryAssume(t, env, "arn:aws:iam::333333333333:role/InOrg", "")
	mustNoErr(t, err)
	inOrg := kms.NewFromConfig(role)
	keyARN := "arn:aws:kms:us-east-1:111111111111:" + key
	_, err = inOrg.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"app": "billing", "env": "prod"}, KeyId: aws.String(keyARN)})
	wantAPIError(t, err, "AccessDeniedException", 400)
	rg, err := admin.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: aws.String(key), GranteePrincipal: aws.String("arn:aws:iam::333333333333:role/InOrg"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt},
	})
	mustNoErr(t, err)
	_, err = inOrg.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"app": "billing", "env": "prod"}, KeyId: aws.String(keyARN)})
	mustNoErr(t, err)

	for _, id := range []*string{g.GrantId, rg.GrantId} {
		_, err = admin.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: aws.String(key), GrantId: id})
		mustNoErr(t, err)
	}
	_, err = nobody.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x"), EncryptionContext: ectx})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = inOrg.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"app": "billing", "env": "prod"}, KeyId: aws.String(keyARN)})
	wantAPIError(t, err, "AccessDeniedException", 400)
}
