package sandbox_test

// The differential check of Parameter Store and Lambda: the same
// aws-sdk-go-v2 calls against the sandbox and moto 5, compared as
// differential_test.go compares the other services (same observations,
// normalizer and comparison), with its own list of accepted differences,
// each settled with AWS's documentation.

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// slClients are the differential clients plus SSM and Lambda, recording
// each response's status in the same place.
type slClients struct {
	*diffClients
	ssm    *ssm.Client
	lambda *lambda.Client
}

func newSLClients(backend string, cfg aws.Config, env *sandboxtest.Env) *slClients {
	dc := newDiffClients(backend, cfg, env)
	cfg.APIOptions = append(append([]func(*middleware.Stack) error{}, cfg.APIOptions...), func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("differentialStatus",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if r, ok := out.RawResponse.(*smithyhttp.Response); ok {
					*dc.status = r.StatusCode
				}
				return out, md, err
			}), middleware.After)
	})
	return &slClients{diffClients: dc, ssm: ssm.NewFromConfig(cfg), lambda: lambda.NewFromConfig(cfg)}
}

type slScenario struct {
	name string
	run  func(ctx context.Context, c *slClients) []observation
}

var slScenarios = []slScenario{
	{"ssm", scenarioSSM},
	{"lambda", scenarioLambda},
}

var ssmParamFields = []string{"Parameter.Name", "Parameter.Type", "Parameter.Value", "Parameter.Version", "Parameter.ARN", "Parameter.DataType"}

func scenarioSSM(ctx context.Context, c *slClients) []observation {
	var obs []observation
	put := func(op, name, value string, typ ssmtypes.ParameterType, overwrite bool, keyID string) {
		in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ}
		if overwrite {
			in.Overwrite = aws.Bool(true)
		}
		if keyID != "" {
			in.KeyId = aws.String(keyID)
		}
		out, err := c.ssm.PutParameter(ctx, in)
		obs = append(obs, c.call(op, out, err, "Version", "Tier"))
	}
	get := func(op, name string, decrypt bool) *ssm.GetParameterOutput {
		out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
		obs = append(obs, c.call(op, out, err, ssmParamFields...))
		return out
	}
	put("PutParameter(String)", "/app/a", "one", ssmtypes.ParameterTypeString, false, "")
	put("PutParameter(exists)", "/app/a", "two", ssmtypes.ParameterTypeString, false, "")
	put("PutParameter(overwrite)", "/app/a", "two", "", true, "")
	get("GetParameter", "/app/a", false)
	put("PutParameter(SecureString)", "/app/s", "s3cret", ssmtypes.ParameterTypeSecureString, false, "")
	get("GetParameter(decrypted)", "/app/s", true)
	out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/s")})
	if err == nil {
		obs = append(obs, c.note("GetParameter(not decrypted)", "shows plaintext", strconv.FormatBool(aws.ToString(out.Parameter.Value) == "s3cret")))
	} else {
		obs = append(obs, c.call("GetParameter(not decrypted)", out, err))
	}
	many, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/a", "/app/s", "/app/missing"}, WithDecryption: aws.Bool(true)})
	if err == nil {
		// The API reference gives no order.
		sort.Slice(many.Parameters, func(i, j int) bool {
			return aws.ToString(many.Parameters[i].Name) < aws.ToString(many.Parameters[j].Name)
		})
	}
	obs = append(obs, c.call("GetParameters", many, err, "Parameters.#", "Parameters.*.Name", "Parameters.*.Value", "InvalidParameters.#", "InvalidParameters.*"))
	get("GetParameter(missing)", "/app/missing", false)
	put("PutParameter(no type)", "/app/new", "v", "", false, "")
	put("PutParameter(reserved prefix)", "ssm-thing", "v", ssmtypes.ParameterTypeString, false, "")

	key, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("params")})
	obs = append(obs, c.call("CreateKey", key, err))
	if err == nil {
		_, err = c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/params"), TargetKeyId: key.KeyMetadata.KeyId})
		obs = append(obs, c.call("CreateAlias", nil, err))
		put("PutParameter(customer key)", "/app/k", "k3y", ssmtypes.ParameterTypeSecureString, false, "alias/params")
		get("GetParameter(customer key)", "/app/k", true)
		_, err = c.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyMetadata.KeyId})
		obs = append(obs, c.call("DisableKey", nil, err))
		put("PutParameter(disabled key)", "/app/k", "k3y-2", ssmtypes.ParameterTypeSecureString, true, "alias/params")
	}
	put("PutParameter(missing key)", "/app/m", "v", ssmtypes.ParameterTypeSecureString, false, "alias/missing")

	d, err := c.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/app/a")})
	obs = append(obs, c.call("DeleteParameter", d, err))
	d, err = c.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/app/a")})
	obs = append(obs, c.call("DeleteParameter(again)", d, err))
	return obs
}

var lambdaConfigFields = []string{"FunctionName", "FunctionArn", "Runtime", "Handler", "Version", "RevisionId", "Role",
	"Environment.Variables.*", "PackageType", "LastUpdateStatus", "Timeout", "MemorySize"}

func scenarioLambda(ctx context.Context, c *slClients) []observation {
	var obs []observation
	acct := "123456789012"
	if id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		acct = aws.ToString(id.Account)
	}
	roleARN := "arn:aws:iam::" + acct + ":role/app-runtime"
	if c.env != nil {
		// The sandbox has no iam:CreateRole; the role is added directly.
		if err := c.env.Server.AddRole(acct, "app-runtime", nil, ""); err != nil {
			obs = append(obs, c.note("CreateRole", "error", err.Error()))
		}
	} else {
		_, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app-runtime"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			obs = append(obs, c.note("CreateRole", "error", err.Error()))
		}
	}
	create := func(op, name, role string) *lambda.CreateFunctionOutput {
		out, err := c.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String(role), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"),
			Code:        &lambdatypes.FunctionCode{ZipFile: zipStub},
			Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "info"}},
		})
		obs = append(obs, c.call(op, out, err, lambdaConfigFields...))
		return out
	}
	cr := create("CreateFunction", "app-worker", roleARN)
	create("CreateFunction(duplicate)", "app-worker", roleARN)
	create("CreateFunction(missing role)", "app-other", "arn:aws:iam::"+acct+":role/missing")
	if cr == nil {
		return obs
	}
	cfg, err := c.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-worker")})
	obs = append(obs, c.call("GetFunctionConfiguration", cfg, err, lambdaConfigFields...))
	if err != nil {
		return obs
	}
	fn, err := c.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: cr.FunctionArn})
	obs = append(obs, c.call("GetFunction(ARN)", fn, err, "Configuration.FunctionName", "Configuration.RevisionId"))
	up, err := c.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app-worker"),
		RevisionId: cfg.RevisionId, Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "info", "APP_ACCESS_KEY_ID": "AKIA1"}}})
	obs = append(obs, c.call("UpdateFunctionConfiguration", up, err, lambdaConfigFields...))
	stale, err := c.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app-worker"),
		RevisionId: cfg.RevisionId, Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "debug"}}})
	obs = append(obs, c.call("UpdateFunctionConfiguration(stale RevisionId)", stale, err, "Environment.Variables.*"))
	after, err := c.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-worker")})
	obs = append(obs, c.call("GetFunctionConfiguration(after stale update)", after, err, "Environment.Variables.*"))
	res, err := c.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app-worker"),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"AWS_ACCESS_KEY_ID": "AKIA1"}}})
	obs = append(obs, c.call("UpdateFunctionConfiguration(reserved name)", res, err, "Environment.Variables.*"))
	miss, err := c.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app-gone")})
	obs = append(obs, c.call("GetFunctionConfiguration(missing)", miss, err))
	del, err := c.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("app-worker")})
	obs = append(obs, c.call("DeleteFunction", del, err))
	del, err = c.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("app-worker")})
	obs = append(obs, c.call("DeleteFunction(again)", del, err))
	return obs
}

// slAllowlist lists the accepted differences between the sandbox and moto
// for Parameter Store and Lambda, one entry per cause, as
// differentialAllowlist does for the other services.
var slAllowlist = []allowedDiff{
	{
		scenario: "ssm",
		why: "a SecureString is encrypted with its KMS key when it is written, so a disabled or missing key fails " +
			"the write with InvalidKeyId (botocore ssm/2014-11-06 service-2.json: PutParameter errors include InvalidKeyId; " +
			"KMS Developer Guide, \"How Parameter Store uses AWS KMS\": Parameter Store calls Encrypt with the key; " +
			"\"Key states\": a disabled key cannot be used in cryptographic operations); moto never asks KMS and stores the value",
		diffs: []allowedField{
			{"PutParameter(disabled key)", "<code>", "InvalidKeyId", ""},
			{"PutParameter(disabled key)", "<status>", "400", "200"},
			{"PutParameter(disabled key)", "Tier", "<absent>", "Standard"},
			{"PutParameter(disabled key)", "Version", "<absent>", "2"},
			{"PutParameter(missing key)", "<code>", "InvalidKeyId", ""},
			{"PutParameter(missing key)", "<status>", "400", "200"},
			{"PutParameter(missing key)", "Tier", "<absent>", "Standard"},
			{"PutParameter(missing key)", "Version", "<absent>", "1"},
		},
	},
	{
		scenario: "lambda",
		why: "FunctionConfiguration carries RevisionId, \"the latest updated revision of the function or alias\" " +
			"(botocore lambda/2015-03-31 service-2.json, FunctionConfiguration); moto sends none",
		diffs: []allowedField{
			{"CreateFunction", "RevisionId", "<uuid#1>", "<absent>"},
			{"GetFunctionConfiguration", "RevisionId", "<uuid#1>", "<absent>"},
			{"GetFunction(ARN)", "Configuration.RevisionId", "<uuid#1>", "<absent>"},
			{"UpdateFunctionConfiguration", "RevisionId", "<uuid#2>", "<absent>"},
		},
	},
	{
		scenario: "lambda",
		why: "the sandbox completes a function's creation at once, so CreateFunction already shows LastUpdateStatus " +
			"Successful, what Lambda shows once creation completes (Lambda Developer Guide, \"Lambda function states\"); " +
			"moto sends an empty LastUpdateStatus",
		diffs: []allowedField{
			{"CreateFunction", "LastUpdateStatus", "Successful", ""},
		},
	},
	{
		scenario: "lambda",
		why: "UpdateFunctionConfiguration with a RevisionId that is not the function's current one fails with " +
			"PreconditionFailedException, HTTP 412 (Lambda API reference, UpdateFunctionConfiguration: \"RevisionId: Update the " +
			"function only if the revision ID matches the ID that's specified\"; botocore: PreconditionFailedException " +
			"httpStatusCode 412); moto ignores RevisionId and applies the stale update, so the function then differs",
		diffs: []allowedField{
			{"UpdateFunctionConfiguration(stale RevisionId)", "<code>", "PreconditionFailedException", ""},
			{"UpdateFunctionConfiguration(stale RevisionId)", "<status>", "412", "200"},
			{"UpdateFunctionConfiguration(stale RevisionId)", "Environment.Variables.LOG_LEVEL", "<absent>", "debug"},
			{"GetFunctionConfiguration(after stale update)", "Environment.Variables.APP_ACCESS_KEY_ID", "AKIA1", "<absent>"},
			{"GetFunctionConfiguration(after stale update)", "Environment.Variables.LOG_LEVEL", "info", "debug"},
		},
	},
	{
		scenario: "lambda",
		why: "Lambda refuses the environment variables it reserves, AWS_ACCESS_KEY_ID among them, with " +
			"InvalidParameterValueException (Lambda Developer Guide, \"Defined runtime environment variables\": reserved " +
			"keys cannot be set in the function's configuration); moto accepts them",
		diffs: []allowedField{
			{"UpdateFunctionConfiguration(reserved name)", "<code>", "InvalidParameterValueException", ""},
			{"UpdateFunctionConfiguration(reserved name)", "<status>", "400", "200"},
			{"UpdateFunctionConfiguration(reserved name)", "Environment.Variables.AWS_ACCESS_KEY_ID", "<absent>", "AKIA1"},
		},
	},
}

func TestDifferentialSSMLambdaMoto(t *testing.T) {
	url := mototest.Start(t)
	for _, sc := range slScenarios {
		t.Run(sc.name, func(t *testing.T) {
			resetMoto(t, url)
			mo := sc.run(context.Background(), newSLClients("moto", mototest.Config(url), nil))
			env := sandboxtest.Start(t, "")
			sb := sc.run(context.Background(), newSLClients("sandbox", env.Admin(), env))
			for _, d := range unexplainedIn(t, slAllowlist, sc.name, compareObservations(sb, mo)) {
				t.Errorf("%s %s: sandbox %q, moto %q", d.op, d.field, d.sandbox, d.moto)
			}
		})
	}
}
