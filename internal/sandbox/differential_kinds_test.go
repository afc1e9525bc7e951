package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The differential scenario of the per-user credential kinds moto
// implements: signing certificates, SSH public keys and the account
// password policy. (moto 5 has no service-specific credentials; those are
// checked against the API Reference in iam_kinds_test.go.)
func init() {
	diffScenarios = append(diffScenarios, diffScenario{"iam-kinds", scenarioIAMKinds})
	differentialAllowlist = append(differentialAllowlist,
		allowedDiff{
			scenario: "iam-kinds",
			why: "IAM shows an SSH public key's fingerprint as the colon-separated MD5 of the key " +
				"(IAM API Reference, SSHPublicKey: \"The MD5 message digest of the SSH public key\"; " +
				"the example in UploadSSHPublicKey reads 7a:1d:ea:9e:...; ssh-keygen -l -E md5 of testdata/kinds/rsa.pub " +
				"gives the sandbox's value); moto hashes the body text and writes it without colons",
			diffs: []allowedField{
				{"UploadSSHPublicKey", "SSHPublicKey.Fingerprint", "8f:82:21:a7:ab:2b:c3:39:92:9a:fc:e9:dd:24:3f:5a", "[0-9a-f]{32}"},
				{"GetSSHPublicKey", "SSHPublicKey.Fingerprint", "8f:82:21:a7:ab:2b:c3:39:92:9a:fc:e9:dd:24:3f:5a", "[0-9a-f]{32}"},
			},
		},
	)
}

// kindsFixture reads a file of testdata/kinds.
func kindsFixture(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "kinds", name))
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

func scenarioIAMKinds(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	user := aws.String("kim")
	cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: user})
	obs = append(obs, c.call("CreateUser", cu, err, "User.UserName"))

	certFields := []string{"Certificate.UserName", "Certificate.Status", "Certificate.CertificateId.len"}
	cert1, cert2 := kindsFixture("cert1.pem"), kindsFixture("cert2.pem")
	up, err := c.iam.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: user, CertificateBody: aws.String(cert1)})
	obs = append(obs, c.call("UploadSigningCertificate", up, err, certFields...))
	var certID *string
	if err == nil {
		certID = up.Certificate.CertificateId
		obs = append(obs, c.note("CertificateId", "length>=24", boolText(len(aws.ToString(certID)) >= 24)))
	}
	up2, err := c.iam.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: user, CertificateBody: aws.String("garbage")})
	obs = append(obs, c.call("UploadSigningCertificate(malformed)", up2, err))
	up2, err = c.iam.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: user, CertificateBody: aws.String(cert2)})
	obs = append(obs, c.call("UploadSigningCertificate(second)", up2, err, certFields...))
	usc, err := c.iam.UpdateSigningCertificate(ctx, &iam.UpdateSigningCertificateInput{UserName: user, CertificateId: certID, Status: iamtypes.StatusTypeInactive})
	obs = append(obs, c.call("UpdateSigningCertificate", usc, err))
	lsc, err := c.iam.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: user})
	obs = append(obs, c.call("ListSigningCertificates", lsc, err, "Certificates.#", "Certificates.*.Status", "Certificates.*.UserName", "IsTruncated"))
	dsc, err := c.iam.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: user, CertificateId: certID})
	obs = append(obs, c.call("DeleteSigningCertificate", dsc, err))
	dsc, err = c.iam.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: user, CertificateId: certID})
	obs = append(obs, c.call("DeleteSigningCertificate(again)", dsc, err))
	lsc, err = c.iam.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: aws.String("nobody")})
	obs = append(obs, c.call("ListSigningCertificates(missing user)", lsc, err))

	keyFields := []string{"SSHPublicKey.UserName", "SSHPublicKey.Status", "SSHPublicKey.Fingerprint", "SSHPublicKey.SSHPublicKeyBody"}
	body := kindsFixture("rsa.pub")
	uk, err := c.iam.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: user, SSHPublicKeyBody: aws.String(body)})
	obs = append(obs, c.call("UploadSSHPublicKey", uk, err, keyFields...))
	var keyID *string
	if err == nil {
		keyID = uk.SSHPublicKey.SSHPublicKeyId
		obs = append(obs, c.note("SSHPublicKeyId", "prefix", aws.ToString(keyID)[:4]))
	}
	gk, err := c.iam.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: user, SSHPublicKeyId: keyID, Encoding: iamtypes.EncodingTypeSsh})
	obs = append(obs, c.call("GetSSHPublicKey", gk, err, keyFields...))
	uu, err := c.iam.UpdateSSHPublicKey(ctx, &iam.UpdateSSHPublicKeyInput{UserName: user, SSHPublicKeyId: keyID, Status: iamtypes.StatusTypeInactive})
	obs = append(obs, c.call("UpdateSSHPublicKey", uu, err))
	lk, err := c.iam.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: user})
	obs = append(obs, c.call("ListSSHPublicKeys", lk, err, "SSHPublicKeys.#", "SSHPublicKeys.*.Status", "SSHPublicKeys.*.UserName", "IsTruncated"))
	dk, err := c.iam.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: user, SSHPublicKeyId: keyID})
	obs = append(obs, c.call("DeleteSSHPublicKey", dk, err))
	gk, err = c.iam.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: user, SSHPublicKeyId: keyID, Encoding: iamtypes.EncodingTypeSsh})
	obs = append(obs, c.call("GetSSHPublicKey(deleted)", gk, err))

	ppFields := []string{"PasswordPolicy.*"}
	gp, err := c.iam.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	obs = append(obs, c.call("GetAccountPasswordPolicy(none)", gp, err, ppFields...))
	upp, err := c.iam.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true,
		RequireLowercaseCharacters: true, AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24)})
	obs = append(obs, c.call("UpdateAccountPasswordPolicy", upp, err))
	gp, err = c.iam.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	obs = append(obs, c.call("GetAccountPasswordPolicy", gp, err, ppFields...))
	dp, err := c.iam.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	obs = append(obs, c.call("DeleteAccountPasswordPolicy", dp, err))
	dp, err = c.iam.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	obs = append(obs, c.call("DeleteAccountPasswordPolicy(none)", dp, err))
	return obs
}
