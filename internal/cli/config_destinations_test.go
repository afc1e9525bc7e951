package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestConfigValidateCheckDestinations runs config validate
// --check-destinations on a file that declares a writable credentials file
// profile and a Vault secret whose token Vault refuses (403, as Vault
// answers an unknown token): the profile passes, the Vault destination is
// named with its error, and the token never appears.
func TestConfigValidateCheckDestinations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("KEYROT_TEST_VAULT_TOKEN", "hvs.very-secret-token")
	path := filepath.Join(dir, "keyrot.yaml")
	conf := "version: 1\ndeliver:\n  vault:\n    url: " + srv.URL + "\n    token_env: KEYROT_TEST_VAULT_TOKEN\n" +
		"  profile:\n    file: " + filepath.Join(dir, "credentials") + "\n" +
		"  destinations:\n    - to: [profile:work, vault:secret/ci/deploy]\n      users: [alice]\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path)
	if code != ExitOK {
		t.Fatalf("validate without the flag: exit %d, %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if !strings.Contains(stdout, "profile:work: ok") {
		t.Errorf("stdout %q should pass profile:work", stdout)
	}
	if !strings.Contains(stderr, "vault:secret/ci/deploy (destinations[0]): ") || !strings.Contains(stderr, "unauthorized") ||
		!strings.Contains(stderr, "1 of 2 destination(s) failed") {
		t.Errorf("stderr %q should name the Vault destination as unauthorized", stderr)
	}
	if strings.Contains(stdout+stderr, "hvs.very-secret-token") {
		t.Errorf("the token leaked: %q %q", stdout, stderr)
	}
}

// destinationsScenario has a member account keyrot reaches through the
// organization's role, and one without the role.
const destinationsScenario = `
organization:
  management:
    id: "111111111111"
    name: mgmt
accounts:
  - id: "222222222222"
    name: workloads
  - id: "333333333333"
    name: no-role
    role: false
`

// TestConfigValidateCheckDestinationsAWS checks ssm and lambda
// destinations against the sandbox through the real SDK, reached as keyrot
// reaches them (the organization's role in the member account): an SSM
// parameter not written yet and an existing function pass; a function
// that does not exist and an account keyrot cannot enter fail, each named
// with its reason.
func TestConfigValidateCheckDestinationsAWS(t *testing.T) {
	env := sandboxtest.Start(t, "")
	sc, err := sandbox.ParseScenario("destinations.yaml", []byte(destinationsScenario))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.AddRole("222222222222", "app-runtime", nil, ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	as, err := sts.NewFromConfig(env.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("setup")})
	if err != nil {
		t.Fatal(err)
	}
	member := env.Config(*as.Credentials.AccessKeyId, *as.Credentials.SecretAccessKey, *as.Credentials.SessionToken)
	_, err = lambda.NewFromConfig(member).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("app-worker"), Role: aws.String("arn:aws:iam::222222222222:role/app-runtime"),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))},
	})
	if err != nil {
		t.Fatal(err)
	}
	useSandbox(t, env)
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	conf := "version: 1\ndeliver:\n  destinations:\n    - to: [ssm:222222222222/us-east-1/keyrot/ci/deploy, lambda:222222222222/us-east-1/app-worker, " +
		"lambda:222222222222/us-east-1/app-gone, ssm:333333333333/us-east-1/keyrot/x]\n      users: [ci]\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError {
		t.Errorf("exit %d, want %d; stderr %q", code, ExitError, stderr)
	}
	for _, ok := range []string{"ssm:222222222222/us-east-1/keyrot/ci/deploy: ok", "lambda:222222222222/us-east-1/app-worker: ok"} {
		if !strings.Contains(stdout, ok) {
			t.Errorf("stdout %q should say %q", stdout, ok)
		}
	}
	if !strings.Contains(stderr, "lambda:222222222222/us-east-1/app-gone (destinations[0]): check lambda:222222222222/us-east-1/app-gone: not found: ResourceNotFoundException") {
		t.Errorf("stderr %q should report the missing function", stderr)
	}
	if !strings.Contains(stderr, "ssm:333333333333/us-east-1/keyrot/x (destinations[0]): open ssm:333333333333/us-east-1/keyrot/x: unauthorized") ||
		!strings.Contains(stderr, "2 of 4 destination(s) failed") {
		t.Errorf("stderr %q should report the account without the role as unauthorized", stderr)
	}
}
