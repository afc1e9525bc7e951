package sandbox_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/crypto/ssh"

	"github.com/keyrot/keyrot/internal/credreport"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// Service-specific credentials: moto does not implement them, so the
// sandbox follows the IAM API Reference, cited per case:
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceSpecificCredential.html
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListServiceSpecificCredentials.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_bedrock.html
func TestServiceSpecificCredentials(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "alice")
	mustCreateUser(t, c, "bob")

	// CodeCommit: a user name and a password, returned only on create.
	cc, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("codecommit.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	cred := cc.ServiceSpecificCredential
	if !strings.HasPrefix(aws.ToString(cred.ServiceUserName), "alice-at-") || aws.ToString(cred.ServicePassword) == "" ||
		cred.Status != types.StatusTypeActive || cred.ExpirationDate != nil || len(aws.ToString(cred.ServiceSpecificCredentialId)) < 20 {
		t.Fatalf("codecommit credential: %+v", cred)
	}

	// "You can have a maximum of two sets of service-specific credentials
	// for each supported service per user."
	if _, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("codecommit.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("codecommit.amazonaws.com")})
	wantAPIError(t, err, "LimitExceeded", 409)
	// The quota is per service.
	if _, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("cassandra.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	// ServiceNotSupportedException: NotSupportedService, HTTP 404 (botocore model).
	_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("s3.amazonaws.com")})
	wantAPIError(t, err, "NotSupportedService", 404)
	// CredentialAgeDays: "only valid for services that support long-term API keys".
	_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("bob"), ServiceName: aws.String("codecommit.amazonaws.com"), CredentialAgeDays: aws.Int32(30)})
	wantAPIError(t, err, "InvalidInput", 400)

	// Bedrock long-term API keys: an alias and a secret; with
	// CredentialAgeDays an expiration date, without one none.
	bk, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("bob"), ServiceName: aws.String("bedrock.amazonaws.com"), CredentialAgeDays: aws.Int32(30)})
	if err != nil {
		t.Fatal(err)
	}
	key := bk.ServiceSpecificCredential
	if key.ExpirationDate == nil || key.ExpirationDate.Sub(*key.CreateDate) != 30*24*time.Hour ||
		aws.ToString(key.ServiceCredentialSecret) == "" || !strings.Contains(aws.ToString(key.ServiceCredentialAlias), "-at-") {
		t.Fatalf("bedrock key: %+v", key)
	}
	forever, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("bob"), ServiceName: aws.String("bedrock.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	if forever.ServiceSpecificCredential.ExpirationDate != nil {
		t.Fatalf("a key without CredentialAgeDays expires: %v", forever.ServiceSpecificCredential.ExpirationDate)
	}

	// Listing never returns secrets; AllUsers lists every user's credentials
	// of the service, one page at a time.
	list := func(in *iam.ListServiceSpecificCredentialsInput) []types.ServiceSpecificCredentialMetadata {
		t.Helper()
		var all []types.ServiceSpecificCredentialMetadata
		for {
			page, err := c.ListServiceSpecificCredentials(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.ServiceSpecificCredentials...)
			if !page.IsTruncated {
				return all
			}
			in.Marker = page.Marker
		}
	}
	if got := list(&iam.ListServiceSpecificCredentialsInput{UserName: aws.String("alice")}); len(got) != 3 {
		t.Fatalf("alice has %d credentials, want 3", len(got))
	}
	got := list(&iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), ServiceName: aws.String("bedrock.amazonaws.com"), MaxItems: aws.Int32(1)})
	if len(got) != 2 || aws.ToString(got[0].UserName) != "bob" || got[0].ServiceCredentialAlias == nil {
		t.Fatalf("all users' bedrock keys: %+v", got)
	}
	_, err = c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), UserName: aws.String("bob")})
	wantAPIError(t, err, "InvalidInput", 400)

	// Update, reset (new secret, same ID), delete.
	id := cred.ServiceSpecificCredentialId
	if _, err := c.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceSpecificCredentialId: id, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.ResetServiceSpecificCredential(ctx, &iam.ResetServiceSpecificCredentialInput{UserName: aws.String("alice"), ServiceSpecificCredentialId: id})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(rs.ServiceSpecificCredential.ServicePassword) == aws.ToString(cred.ServicePassword) || rs.ServiceSpecificCredential.Status != types.StatusTypeInactive {
		t.Fatalf("reset: %+v", rs.ServiceSpecificCredential)
	}
	if _, err := c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String("alice"), ServiceSpecificCredentialId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String("alice"), ServiceSpecificCredentialId: id})
	wantAPIError(t, err, "NoSuchEntity", 404)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	wantAPIError(t, err, "DeleteConflict", 409)

	// A key past its expiration date is listed Expired.
	env.Server.Clock().Advance(31 * 24 * time.Hour)
	for _, m := range list(&iam.ListServiceSpecificCredentialsInput{UserName: aws.String("bob")}) {
		want := types.StatusTypeActive
		if m.ExpirationDate != nil {
			want = types.StatusTypeExpired
		}
		if m.Status != want {
			t.Errorf("%s: status %s, want %s", aws.ToString(m.ServiceSpecificCredentialId), m.Status, want)
		}
	}
}

// testCertificate returns a self-signed PEM certificate.
func testCertificate(t testing.TB, cn string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// testSSHKey returns an ssh-rsa public key line.
func testSSHKey(t testing.TB) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// readReport generates and reads the account's credential report.
func readReport(t *testing.T, env interface{ Clock() *sandbox.Clock }, c *iam.Client) *credreport.Report {
	t.Helper()
	ctx := context.Background()
	if _, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}); err != nil {
		t.Fatal(err)
	}
	env.Clock().Advance(time.Minute)
	out, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := credreport.Parse(strings.NewReader(string(out.Content)))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSigningCertificates(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "carol")
	up, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("carol"), CertificateBody: aws.String(testCertificate(t, "a"))})
	if err != nil {
		t.Fatal(err)
	}
	cert := up.Certificate
	if cert.Status != types.StatusTypeActive || len(aws.ToString(cert.CertificateId)) < 24 || aws.ToString(cert.UserName) != "carol" {
		t.Fatalf("uploaded: %+v", cert)
	}
	_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("carol"), CertificateBody: cert.CertificateBody})
	wantAPIError(t, err, "DuplicateCertificate", 409)
	_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("carol"), CertificateBody: aws.String("not a certificate")})
	wantAPIError(t, err, "MalformedCertificate", 400)
	env.Server.Clock().Advance(time.Hour)
	if _, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("carol"), CertificateBody: aws.String(testCertificate(t, "b"))}); err != nil {
		t.Fatal(err)
	}
	// Two certificates per user (IAM quotas: "Signing certificates assigned to an IAM user: 2").
	_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("carol"), CertificateBody: aws.String(testCertificate(t, "c"))})
	wantAPIError(t, err, "LimitExceeded", 409)
	if _, err := c.UpdateSigningCertificate(ctx, &iam.UpdateSigningCertificateInput{UserName: aws.String("carol"), CertificateId: cert.CertificateId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	ls, err := c.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Certificates) != 2 || ls.Certificates[0].Status != types.StatusTypeInactive || ls.Certificates[1].Status != types.StatusTypeActive {
		t.Fatalf("listed: %+v", ls.Certificates)
	}

	// The credential report's cert columns: slot 1 the older certificate.
	rep := readReport(t, env.Server, c)
	row := rep.Users[0]
	if row.Certs[0].Active.True() || !row.Certs[1].Active.True() ||
		!row.Certs[0].LastRotated.Time.Equal(aws.ToTime(cert.UploadDate)) {
		t.Fatalf("report certs: %+v", row.Certs)
	}

	if _, err := c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: aws.String("carol"), CertificateId: cert.CertificateId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: aws.String("carol"), CertificateId: cert.CertificateId})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestSSHPublicKeys(t *testing.T) {
	_, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "dave")
	body := testSSHKey(t)
	up, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	k := up.SSHPublicKey
	pub, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(body))
	if !strings.HasPrefix(aws.ToString(k.SSHPublicKeyId), "APKA") || aws.ToString(k.Fingerprint) != strings.TrimPrefix(ssh.FingerprintLegacyMD5(pub), "MD5:") {
		t.Fatalf("uploaded: %+v (fingerprint want %s)", k, ssh.FingerprintLegacyMD5(pub))
	}
	_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyBody: aws.String(body)})
	wantAPIError(t, err, "DuplicateSSHPublicKey", 400)
	_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyBody: aws.String("ssh-rsa AAAA")})
	wantAPIError(t, err, "InvalidPublicKey", 400)

	pemOut, err := c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyId: k.SSHPublicKeyId, Encoding: types.EncodingTypePem})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(pemOut.SSHPublicKey.SSHPublicKeyBody), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("PEM body: %q", aws.ToString(pemOut.SSHPublicKey.SSHPublicKeyBody))
	}
	if _, err := c.UpdateSSHPublicKey(ctx, &iam.UpdateSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyId: k.SSHPublicKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	ls, err := c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: aws.String("dave")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.SSHPublicKeys) != 1 || ls.SSHPublicKeys[0].Status != types.StatusTypeInactive {
		t.Fatalf("listed: %+v", ls.SSHPublicKeys)
	}
	if _, err := c.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyId: k.SSHPublicKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: aws.String("dave"), SSHPublicKeyId: k.SSHPublicKeyId, Encoding: types.EncodingTypeSsh})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestAccountPasswordPolicy(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	// "NoSuchEntity: the account has no password policy" (API Reference, GetAccountPasswordPolicy).
	_, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantAPIError(t, err, "NoSuchEntity", 404)
	if _, err := c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil {
		t.Fatal(err)
	}
	p := out.PasswordPolicy
	if aws.ToInt32(p.MinimumPasswordLength) != 14 || !p.RequireSymbols || p.RequireNumbers || !p.ExpirePasswords ||
		aws.ToInt32(p.MaxPasswordAge) != 90 || aws.ToInt32(p.PasswordReusePrevention) != 24 {
		t.Fatalf("policy: %+v", p)
	}
	_, err = c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(5)})
	wantAPIError(t, err, "ValidationError", 400)

	// The credential report's password_next_rotation: last change plus the maximum age.
	mustCreateUser(t, c, "erin")
	if _, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("erin"), Password: aws.String("Correct-Horse-9")}); err != nil {
		t.Fatal(err)
	}
	row := readReport(t, env.Server, c).Users[0]
	if !row.PasswordNextRotation.Time.Equal(row.PasswordLastChanged.Time.AddDate(0, 0, 90)) {
		t.Fatalf("next rotation %v, last changed %v", row.PasswordNextRotation, row.PasswordLastChanged)
	}
	// An update replaces the whole policy: omitted fields take defaults.
	if _, err := c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{RequireNumbers: true}); err != nil {
		t.Fatal(err)
	}
	out, _ = c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if aws.ToInt32(out.PasswordPolicy.MinimumPasswordLength) != 6 || out.PasswordPolicy.ExpirePasswords || out.PasswordPolicy.RequireSymbols {
		t.Fatalf("replaced policy: %+v", out.PasswordPolicy)
	}
	if _, err := c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestScenarioKinds(t *testing.T) {
	sc, err := sandbox.ParseScenario("kinds.yaml", []byte(`
organization:
  management:
    name: mgmt
    password_policy: {minimum_length: 8, max_age_days: 90}
    users:
      - name: gina
        service_credentials:
          - {service: codecommit, age: 120d}
          - {service: bedrock, age: 10d}
          - {service: bedrock, age: 5d, expires_in: 25d}
        signing_certificates: [{age: 400d}]
        ssh_keys: [{age: 200d, status: Inactive}]
`))
	if err != nil {
		t.Fatal(err)
	}
	env, c := iamEnv(t)
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	creds, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String("gina")})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.ServiceSpecificCredentials) != 3 || creds.ServiceSpecificCredentials[2].ExpirationDate == nil || creds.ServiceSpecificCredentials[1].ExpirationDate != nil {
		t.Fatalf("credentials: %+v", creds.ServiceSpecificCredentials)
	}
	keys, err := c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: aws.String("gina")})
	if err != nil || len(keys.SSHPublicKeys) != 1 || keys.SSHPublicKeys[0].Status != types.StatusTypeInactive {
		t.Fatalf("ssh keys: %+v, %v", keys, err)
	}
	row := readReport(t, env.Server, c).Users[0]
	if !row.Certs[0].Active.True() || env.Server.Clock().Now().Sub(row.Certs[0].LastRotated.Time) < 400*24*time.Hour {
		t.Fatalf("report cert: %+v", row.Certs[0])
	}
	pp, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil || aws.ToInt32(pp.PasswordPolicy.MaxPasswordAge) != 90 {
		t.Fatalf("password policy: %+v, %v", pp, err)
	}

	// Each defect is reported with its path.
	_, err = sandbox.ParseScenario("bad.yaml", []byte(`
organization:
  management:
    name: mgmt
    password_policy: {minimum_length: 4}
    users:
      - name: hal
        service_credentials:
          - {service: s3, age: 1d}
          - {service: codecommit, age: 1d, expires_in: 3d}
        ssh_keys: [{age: 1d, body: "ssh-ed25519 AAAA"}]
`))
	for _, want := range []string{"password_policy.minimum_length", "service_credentials[0].service", "service_credentials[1].expires_in", "ssh_keys[0].body"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem at %s, got %v", want, err)
		}
	}
}

// TestAuthzIAMKinds: the new operations are authorized like every IAM
// action: the caller's policies decide, on the user (or the account's
// users with AllUsers, or "*" for the password policy); a user manages its
// own credentials only with a policy that allows it.
func TestAuthzIAMKinds(t *testing.T) {
	env := authzEnv(t)
	ctx := context.Background()
	reader, nobody := iam.NewFromConfig(as(env, "reader")), iam.NewFromConfig(as(env, "nobody"))
	admin := iam.NewFromConfig(env.Admin())

	// IAMReadOnlyAccess allows iam:List* and iam:Get*.
	if _, err := reader.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), ServiceName: aws.String("bedrock.amazonaws.com")}); err != nil {
		t.Errorf("reader: ListServiceSpecificCredentials: %v", err)
	}
	_, err := reader.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantAPIError(t, err, "NoSuchEntity", 404) // allowed, and there is none
	_, err = reader.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("reader"), ServiceName: aws.String("codecommit.amazonaws.com")})
	wantMessage(t, err, "AccessDenied", 403, "User: arn:aws:iam::111111111111:user/reader is not authorized to perform: iam:CreateServiceSpecificCredential on resource: arn:aws:iam::111111111111:user/reader because no identity-based policy allows the iam:CreateServiceSpecificCredential action")
	_, err = nobody.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true)})
	wantMessage(t, err, "AccessDenied", 403, "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: iam:ListServiceSpecificCredentials on resource: arn:aws:iam::111111111111:user/* because no identity-based policy allows the iam:ListServiceSpecificCredentials action")
	_, err = nobody.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14)})
	wantAPIError(t, err, "AccessDenied", 403)

	// Allowed on its own user only, nobody lists and uploads its own SSH keys.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListSSHPublicKeys","iam:UploadSSHPublicKey"],"Resource":"arn:aws:iam::111111111111:user/${aws:username}"}]}`
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("own-ssh"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := nobody.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("nobody"), SSHPublicKeyBody: aws.String(testSSHKey(t))}); err != nil {
		t.Errorf("own SSH key: %v", err)
	}
	if _, err := nobody.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{}); err != nil {
		t.Errorf("own SSH keys, UserName omitted: %v", err)
	}
	_, err = nobody.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: aws.String("reader")})
	wantAPIError(t, err, "AccessDenied", 403)
}
