package sandbox_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// ssmLambdaScenario has a customer managed key for parameters, a disabled
// one, a key whose policy admits only the account's administrators, and
// two users: "deployer" may write parameters under /app/ and configure
// the function "app-*", "outsider" may do nothing.
const ssmLambdaScenario = `
organization:
  id: o-ssmlambda01
  management:
    id: "111111111111"
    name: mgmt
    kms_keys:
      - alias: alias/params
        id: 11111111-2222-4333-8444-555555555555
      - alias: alias/off
        state: disabled
      - alias: alias/admins-only
        policy: |
          {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/sandbox-admin"}, "Action": "kms:*", "Resource": "*"}]}
    users:
      - name: deployer
        policies:
          inline:
            deliver: |
              {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter", "ssm:GetParameters"],
                              "Resource": "arn:aws:ssm:us-east-1:111111111111:parameter/app/*"},
                             {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
                             {"Effect": "Allow", "Action": ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"],
                              "Resource": "arn:aws:lambda:us-east-1:111111111111:function:app-*"}]}
        keys: [{id: AKIADEPLOYERAAAAAAAA, secret: "deployer00deployer00deployer00deployer00", age: 1d}]
      - name: outsider
        keys: [{id: AKIAOUTSIDERAAAAAAAA, secret: "outsider00outsider00outsider00outsider00", age: 1d}]
`

func ssmLambdaEnv(t *testing.T) *sandboxtest.Env {
	t.Helper()
	sc, err := sandbox.ParseScenario("ssm-lambda.yaml", []byte(ssmLambdaScenario))
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	return env
}

func asKey(env *sandboxtest.Env, who string) aws.Config {
	switch who {
	case "deployer":
		return env.Config("AKIADEPLOYERAAAAAAAA", "deployer00deployer00deployer00deployer00", "")
	case "outsider":
		return env.Config("AKIAOUTSIDERAAAAAAAA", "outsider00outsider00outsider00outsider00", "")
	}
	return env.Admin()
}

// TestSSMParameters drives PutParameter, GetParameter, GetParameters and
// DeleteParameter through the real SDK (shapes and errors of botocore's
// ssm/2014-11-06 service-2.json): versions, Overwrite, ParameterAlreadyExists,
// ParameterNotFound, the names Parameter Store refuses, and SecureString
// values that read back as ciphertext unless WithDecryption is set.
func TestSSMParameters(t *testing.T) {
	env := ssmLambdaEnv(t)
	ctx := context.Background()
	c := ssm.NewFromConfig(env.Admin())

	put, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/ci/key"), Value: aws.String(`{"AccessKeyId":"AKIA1"}`), Type: ssmtypes.ParameterTypeSecureString})
	mustNoErr(t, err)
	if put.Version != 1 || put.Tier != ssmtypes.ParameterTierStandard {
		t.Fatalf("first put: version %d tier %s", put.Version, put.Tier)
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/ci/key"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeSecureString})
	wantMessage(t, err, "ParameterAlreadyExists", 400, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	put, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/ci/key"), Value: aws.String(`{"AccessKeyId":"AKIA2"}`), Overwrite: aws.Bool(true)})
	mustNoErr(t, err)
	if put.Version != 2 {
		t.Fatalf("overwrite: version %d, want 2", put.Version)
	}

	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/ci/key"), WithDecryption: aws.Bool(true)})
	mustNoErr(t, err)
	p := got.Parameter
	mgmt := env.Server.ManagementAccountID()
	if aws.ToString(p.Value) != `{"AccessKeyId":"AKIA2"}` || p.Type != ssmtypes.ParameterTypeSecureString || p.Version != 2 ||
		aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:"+mgmt+":parameter/app/ci/key" || p.LastModifiedDate == nil || aws.ToString(p.DataType) != "text" {
		t.Fatalf("GetParameter: %+v", p)
	}
	raw, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/ci/key")})
	mustNoErr(t, err)
	if v := aws.ToString(raw.Parameter.Value); strings.Contains(v, "AKIA2") {
		t.Fatalf("SecureString without decryption shows the value: %q", v)
	} else if _, err := base64.StdEncoding.DecodeString(v); err != nil {
		t.Fatalf("ciphertext is not base64: %v", err)
	}
	// The ARN names the parameter too.
	got, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: p.ARN, WithDecryption: aws.Bool(true)})
	mustNoErr(t, err)
	if aws.ToString(got.Parameter.Name) != "/app/ci/key" {
		t.Fatalf("by ARN: %+v", got.Parameter)
	}

	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("plain"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
	mustNoErr(t, err)
	many, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"plain", "/app/ci/key", "/missing"}, WithDecryption: aws.Bool(true)})
	mustNoErr(t, err)
	if len(many.Parameters) != 2 || len(many.InvalidParameters) != 1 || many.InvalidParameters[0] != "/missing" {
		t.Fatalf("GetParameters: %+v", many)
	}

	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	wantAPIError(t, err, "ParameterNotFound", 400)
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")})
	mustNoErr(t, err)
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")})
	wantAPIError(t, err, "ParameterNotFound", 400)

	for _, tc := range []struct{ name, code string }{
		{"app/no-leading-slash", "ValidationException"},
		{"/app/bad name", "ValidationException"},
		{"ssm-thing", "ValidationException"},
		{"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "HierarchyLevelLimitExceededException"},
	} {
		_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(tc.name), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
		wantAPIError(t, err, tc.code, 400)
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/new"), Value: aws.String("v")})
	wantMessage(t, err, "ValidationException", 400, "A parameter type is required when you create a parameter.")
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/big"), Value: aws.String(strings.Repeat("x", 4097)), Type: ssmtypes.ParameterTypeString})
	wantAPIError(t, err, "ValidationException", 400)
}

// TestSSMSecureStringKMS: a SecureString is encrypted with the key KeyId
// names (alias, ID or ARN) or aws/ssm, through KMS with kms:ViaService
// ssm.REGION.amazonaws.com. A missing or disabled key is InvalidKeyId
// carrying KMS's error (as Parameter Store reports it: "... (Service:
// AWSKMS; Status Code: 400; Error Code: DisabledException; ...)"); a key
// disabled after the write makes the read fail the same way; a key policy
// that does not admit the caller is AccessDeniedException.
func TestSSMSecureStringKMS(t *testing.T) {
	env := ssmLambdaEnv(t)
	ctx := context.Background()
	admin := ssm.NewFromConfig(env.Admin())
	dep := ssm.NewFromConfig(asKey(env, "deployer"))
	put := func(c *ssm.Client, name, key string) error {
		in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("s3cret"), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}
		if key != "" {
			in.KeyId = aws.String(key)
		}
		_, err := c.PutParameter(ctx, in)
		return err
	}
	mustNoErr(t, put(dep, "/app/one", "alias/params"))
	mustNoErr(t, put(dep, "/app/two", "11111111-2222-4333-8444-555555555555"))
	mustNoErr(t, put(dep, "/app/three", ""))
	for _, n := range []string{"/app/one", "/app/two", "/app/three"} {
		got, err := dep.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(n), WithDecryption: aws.Bool(true)})
		mustNoErr(t, err)
		if aws.ToString(got.Parameter.Value) != "s3cret" {
			t.Fatalf("%s: %q", n, aws.ToString(got.Parameter.Value))
		}
	}
	aliases, err := kms.NewFromConfig(env.Admin()).ListAliases(ctx, &kms.ListAliasesInput{})
	mustNoErr(t, err)
	managed := false
	for _, a := range aliases.Aliases {
		managed = managed || aws.ToString(a.AliasName) == "alias/aws/ssm"
	}
	if !managed {
		t.Error("alias/aws/ssm was not created by the first SecureString without KeyId")
	}

	err = put(dep, "/app/off", "alias/off")
	ae := wantAPIError(t, err, "InvalidKeyId", 400)
	if !strings.Contains(ae.ErrorMessage(), "is disabled.") || !strings.Contains(ae.ErrorMessage(), "Service: AWSKMS") || !strings.Contains(ae.ErrorMessage(), "Error Code: DisabledException") {
		t.Errorf("disabled key message: %q", ae.ErrorMessage())
	}
	err = put(dep, "/app/missing", "alias/missing")
	wantAPIError(t, err, "InvalidKeyId", 400)
	err = put(dep, "/app/locked", "alias/admins-only")
	ae = wantAPIError(t, err, "AccessDeniedException", 400)
	if !strings.Contains(ae.ErrorMessage(), "kms:Encrypt") || !strings.Contains(ae.ErrorMessage(), "user/deployer") {
		t.Errorf("KMS denial message: %q", ae.ErrorMessage())
	}
	mustNoErr(t, put(admin, "/app/locked", "alias/admins-only"))
	_, err = dep.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/locked"), WithDecryption: aws.Bool(true)})
	wantAPIError(t, err, "AccessDeniedException", 400)
	// Without decryption KMS is not asked.
	_, err = dep.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/locked")})
	mustNoErr(t, err)

	_, err = kms.NewFromConfig(env.Admin()).DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("11111111-2222-4333-8444-555555555555")})
	mustNoErr(t, err)
	_, err = dep.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/one"), WithDecryption: aws.Bool(true)})
	wantAPIError(t, err, "InvalidKeyId", 400)
}

// TestSSMAuthorization: ssm:PutParameter and ssm:GetParameter are decided
// on arn:aws:ssm:REGION:ACCOUNT:parameter/NAME; GetParameters on each name.
func TestSSMAuthorization(t *testing.T) {
	env := ssmLambdaEnv(t)
	ctx := context.Background()
	dep := ssm.NewFromConfig(asKey(env, "deployer"))
	out := ssm.NewFromConfig(asKey(env, "outsider"))
	_, err := dep.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/other/x"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
	wantMessage(t, err, "AccessDeniedException", 400, "User: arn:aws:iam::111111111111:user/deployer is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:111111111111:parameter/other/x because no identity-based policy allows the ssm:PutParameter action")
	_, err = dep.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/x"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
	mustNoErr(t, err)
	_, err = out.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/x")})
	wantAPIError(t, err, "AccessDeniedException", 400)
	_, err = dep.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/x", "/other/y"}})
	wantAPIError(t, err, "AccessDeniedException", 400)
}

// zipStub is a function package: Lambda stores it, nothing runs it.
var zipStub = []byte("PK\x05\x06" + strings.Repeat("\x00", 18))

func createFunction(t *testing.T, env *sandboxtest.Env, c *lambda.Client, name string, vars map[string]string) *lambda.CreateFunctionOutput {
	t.Helper()
	mgmt := env.Server.ManagementAccountID()
	if err := env.Server.AddRole(mgmt, "app-runtime", nil, ""); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::" + mgmt + ":role/app-runtime"),
		Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"),
		Code: &lambdatypes.FunctionCode{ZipFile: zipStub}, Environment: &lambdatypes.Environment{Variables: vars},
	})
	mustNoErr(t, err)
	return out
}

// TestLambdaConfiguration drives CreateFunction, GetFunction,
// GetFunctionConfiguration and UpdateFunctionConfiguration through the
// real SDK (botocore's lambda/2015-03-31 service-2.json): every change
// makes a new RevisionId, and an update naming an old one fails with
// PreconditionFailedException, HTTP 412, as the API reference documents.
func TestLambdaConfiguration(t *testing.T) {
	env := ssmLambdaEnv(t)
	ctx := context.Background()
	c := lambda.NewFromConfig(env.Admin())
	mgmt := env.Server.ManagementAccountID()
	cr := createFunction(t, env, c, "app-worker", map[string]string{"LOG_LEVEL": "info"})
	if aws.ToString(cr.FunctionArn) != "arn:aws:lambda:us-east-1:"+mgmt+":function:app-worker" || aws.ToString(cr.RevisionId) == "" ||
		cr.Environment == nil || cr.Environment.Variables["LOG_LEVEL"] != "info" || aws.ToString(cr.Version) != "$LATEST" {
		t.Fatalf("CreateFunction: %+v", cr)
	}
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("app-worker"), Role: aws.String("arn:aws:iam::" + mgmt + ":role/app-runtime"),
		Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"), Code: &lambdatypes.FunctionCode{ZipFile: zipStub},
	})
	wantAPIError(t, err, "ResourceConflictException", 409)
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("app-norole"), Role: aws.String("arn:aws:iam::" + mgmt + ":role/missing"),
		Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"), Code: &lambdatypes.FunctionCode{ZipFile: zipStub},
	})
	wantMessage(t, err, "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.")

	cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-worker")})
	mustNoErr(t, err)
	if aws.ToString(cfg.RevisionId) != aws.ToString(cr.RevisionId) || cfg.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
		t.Fatalf("GetFunctionConfiguration: %+v", cfg)
	}
	fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: cr.FunctionArn})
	mustNoErr(t, err)
	if aws.ToString(fn.Configuration.FunctionName) != "app-worker" {
		t.Fatalf("GetFunction by ARN: %+v", fn.Configuration)
	}

	up, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("app-worker"), RevisionId: cfg.RevisionId,
		Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "info", "APP_ACCESS_KEY_ID": "AKIA1"}},
	})
	mustNoErr(t, err)
	if aws.ToString(up.RevisionId) == aws.ToString(cfg.RevisionId) || up.Environment.Variables["APP_ACCESS_KEY_ID"] != "AKIA1" {
		t.Fatalf("update: %+v", up)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("app-worker"), RevisionId: cfg.RevisionId,
		Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "debug"}},
	})
	wantMessage(t, err, "PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	after, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-worker")})
	mustNoErr(t, err)
	if after.Environment.Variables["LOG_LEVEL"] != "info" || aws.ToString(after.RevisionId) != aws.ToString(up.RevisionId) {
		t.Fatalf("a refused update changed the function: %+v", after.Environment)
	}

	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("app-worker"),
		Environment:  &lambdatypes.Environment{Variables: map[string]string{"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "x"}},
	})
	wantMessage(t, err, "InvalidParameterValueException", 400, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("app-worker"),
		Environment:  &lambdatypes.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4100)}},
	})
	wantAPIError(t, err, "InvalidParameterValueException", 400)
	_, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("app-worker")})
	mustNoErr(t, err)
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app-worker")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
}

// TestLambdaAuthorization: lambda:* actions are decided on the function's
// ARN; a denial is AccessDeniedException, HTTP 403.
func TestLambdaAuthorization(t *testing.T) {
	env := ssmLambdaEnv(t)
	ctx := context.Background()
	createFunction(t, env, lambda.NewFromConfig(env.Admin()), "app-api", nil)
	createFunction(t, env, lambda.NewFromConfig(env.Admin()), "billing", nil)
	dep := lambda.NewFromConfig(asKey(env, "deployer"))
	_, err := dep.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-api")})
	mustNoErr(t, err)
	_, err = dep.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("billing")})
	wantMessage(t, err, "AccessDeniedException", 403, "User: arn:aws:iam::111111111111:user/deployer is not authorized to perform: lambda:GetFunctionConfiguration on resource: arn:aws:lambda:us-east-1:111111111111:function:billing because no identity-based policy allows the lambda:GetFunctionConfiguration action")
	_, err = lambda.NewFromConfig(asKey(env, "outsider")).UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app-api")})
	wantAPIError(t, err, "AccessDeniedException", 403)
}

// TestLambdaScenarioFunctions: a scenario declares functions with their
// execution role and variables; a function whose role is not in the
// account, or with a variable Lambda reserves, is a problem with its path.
func TestLambdaScenarioFunctions(t *testing.T) {
	sc, err := sandbox.ParseScenario("fn.yaml", []byte(`
organization:
  management:
    id: "111111111111"
    name: mgmt
    roles:
      - name: app-runtime
        trust: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
    lambda_functions:
      - name: app-worker
        region: eu-west-1
        role: app-runtime
        environment: {LOG_LEVEL: info}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	cfg := env.Admin()
	cfg.Region = "eu-west-1"
	out, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-worker")})
	mustNoErr(t, err)
	if aws.ToString(out.Role) != "arn:aws:iam::111111111111:role/app-runtime" || out.Environment.Variables["LOG_LEVEL"] != "info" || len(aws.ToString(out.RevisionId)) != 36 {
		t.Fatalf("scenario function: %+v", out)
	}

	bad, err := sandbox.ParseScenario("bad.yaml", []byte(`
organization:
  management:
    name: mgmt
    lambda_functions:
      - {name: app-a, role: missing}
      - {name: app-b, role: missing}
`))
	if err == nil {
		err = sandboxtest.Start(t, "").Server.ApplyScenario(bad)
	}
	if err == nil || !strings.Contains(err.Error(), "organization.management.lambda_functions[0].role: the execution role \"missing\" is not a role of the account") ||
		!strings.Contains(err.Error(), "lambda_functions[1].role") {
		t.Fatalf("bad scenario: %v", err)
	}
}
