package lambdaenv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/lambdaenv"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// scenario: "deliverer" may read and update the configuration of the
// functions named app-* and nothing else.
const scenario = `
organization:
  management:
    id: "111111111111"
    name: mgmt
    users:
      - name: deliverer
        policies:
          inline:
            deliver: |
              {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"],
                              "Resource": "arn:aws:lambda:us-east-1:111111111111:function:app-*"}]}
        keys: [{id: AKIADELIVERERAAAAAAA, secret: "deliverer0deliverer0deliverer0deliverer0", age: 1d}]
`

func start(t *testing.T, functions ...string) (*sandboxtest.Env, *lambda.Client) {
	t.Helper()
	sc, err := sandbox.ParseScenario("lambdaenv.yaml", []byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.AddRole("111111111111", "app-runtime", nil, ""); err != nil {
		t.Fatal(err)
	}
	admin := lambda.NewFromConfig(env.Admin())
	for _, f := range functions {
		_, err := admin.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
			FunctionName: aws.String(f), Role: aws.String("arn:aws:iam::111111111111:role/app-runtime"),
			Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code:        &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))},
			Environment: &lambdatypes.Environment{Variables: map[string]string{"LOG_LEVEL": "info", "DB_HOST": "db.internal"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return env, admin
}

func dest(t *testing.T, api lambdaenv.API, ref string) *lambdaenv.Destination {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := lambdaenv.New(r, api)
	if err != nil {
		t.Fatal(err)
	}
	d.Backoff = func(int) time.Duration { return 0 }
	return d
}

func deliverer(env *sandboxtest.Env) *lambda.Client {
	return lambda.NewFromConfig(env.Config("AKIADELIVERERAAAAAAA", "deliverer0deliverer0deliverer0deliverer0", ""))
}

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret), UserName: "app", AccountID: "111111111111"}
}

func environment(t *testing.T, admin *lambda.Client, fn string) (map[string]string, string) {
	t.Helper()
	out, err := admin.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Environment.Variables, aws.ToString(out.RevisionId)
}

// TestWriteKeepsOtherVariables writes through the real SDK into the
// sandbox with enforcement on: the two variables set, the function's
// other variables kept, a rewrite of the same key makes no update (the
// RevisionId stays), Current reads the key ID variable.
func TestWriteKeepsOtherVariables(t *testing.T) {
	env, admin := start(t, "app-worker")
	ctx := context.Background()
	d := dest(t, deliverer(env), "lambda:111111111111/us-east-1/app-worker")
	if err := d.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err := d.Current(ctx); err != nil || id != "" {
		t.Fatalf("Current before a write: %q, %v", id, err)
	}
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "secret-one")); err != nil {
		t.Fatal(err)
	}
	vars, rev := environment(t, admin, "app-worker")
	want := map[string]string{"LOG_LEVEL": "info", "DB_HOST": "db.internal", "KEYROT_ACCESS_KEY_ID": "AKIAEXAMPLEKEY000001", "KEYROT_SECRET_ACCESS_KEY": "secret-one"}
	if len(vars) != len(want) {
		t.Fatalf("variables %v", keys(vars))
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "secret-one")); err != nil {
		t.Fatal(err)
	}
	if _, again := environment(t, admin, "app-worker"); again != rev {
		t.Error("rewriting the same key updated the function")
	}
	if id, err := d.Current(ctx); err != nil || id != "AKIAEXAMPLEKEY000001" {
		t.Errorf("Current = %q, %v", id, err)
	}
	named := dest(t, deliverer(env), "lambda:111111111111/us-east-1/app-worker/PAYMENTS_ACCESS_KEY_ID")
	if err := named.Write(ctx, key("AKIAEXAMPLEKEY000002", "secret-two")); err != nil {
		t.Fatal(err)
	}
	vars, _ = environment(t, admin, "app-worker")
	if vars["PAYMENTS_ACCESS_KEY_ID"] != "AKIAEXAMPLEKEY000002" || vars["PAYMENTS_SECRET_ACCESS_KEY"] != "secret-two" || vars["KEYROT_ACCESS_KEY_ID"] != "AKIAEXAMPLEKEY000001" {
		t.Errorf("named variables: %v", keys(vars))
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// racing changes the function with another writer after each of its
// first n reads, so that the update that follows names a stale RevisionId.
type racing struct {
	lambdaenv.API
	admin *lambda.Client
	n     int
	reads int
}

func (r *racing) GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	out, err := r.API.GetFunctionConfiguration(ctx, in, opts...)
	r.reads++
	if err == nil && r.reads <= r.n {
		vars := map[string]string{}
		for k, v := range out.Environment.Variables {
			vars[k] = v
		}
		vars["OTHER_WRITER"] = strings.Repeat("x", r.reads)
		if _, err := r.admin.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: in.FunctionName, Environment: &lambdatypes.Environment{Variables: vars}}); err != nil {
			return nil, err
		}
	}
	return out, err
}

// TestStaleRevisionRetried: another writer changes the function between
// keyrot's read and its update; the sandbox refuses the stale RevisionId
// (PreconditionFailedException, as Lambda does) and Write reads again,
// keeping the other writer's change. Past MaxAttempts it gives up with
// ErrConflict and the function keeps the other writer's state.
func TestStaleRevisionRetried(t *testing.T) {
	env, admin := start(t, "app-worker", "app-busy")
	ctx := context.Background()
	d := dest(t, &racing{API: deliverer(env), admin: admin, n: 2}, "lambda:111111111111/us-east-1/app-worker")
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "secret-one")); err != nil {
		t.Fatal(err)
	}
	vars, _ := environment(t, admin, "app-worker")
	if vars["OTHER_WRITER"] != "xx" || vars["KEYROT_ACCESS_KEY_ID"] != "AKIAEXAMPLEKEY000001" || vars["DB_HOST"] != "db.internal" {
		t.Errorf("after two stale rounds: %v", keys(vars))
	}

	busy := dest(t, &racing{API: deliverer(env), admin: admin, n: lambdaenv.MaxAttempts}, "lambda:111111111111/us-east-1/app-busy")
	err := busy.Write(ctx, key("AKIAEXAMPLEKEY000001", "secret-one"))
	if !errors.Is(err, deliver.ErrConflict) || !strings.Contains(err.Error(), "PreconditionFailedException") {
		t.Fatalf("always stale: %v", err)
	}
	if vars, _ := environment(t, admin, "app-busy"); vars["KEYROT_ACCESS_KEY_ID"] != "" {
		t.Error("a refused update changed the function")
	}
}

// TestUnauthorizedAndMissing: a function outside the caller's policy is
// ErrUnauthorized, a function that does not exist ErrNotFound; neither
// error holds the secret.
func TestUnauthorizedAndMissing(t *testing.T) {
	env, _ := start(t, "billing")
	ctx := context.Background()
	d := dest(t, deliverer(env), "lambda:111111111111/us-east-1/billing")
	if err := d.Check(ctx); !errors.Is(err, deliver.ErrUnauthorized) {
		t.Errorf("check: %v", err)
	}
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "do-not-print-me")); !errors.Is(err, deliver.ErrUnauthorized) || strings.Contains(err.Error(), "do-not-print-me") {
		t.Errorf("write: %v", err)
	}
	missing := dest(t, deliverer(env), "lambda:111111111111/us-east-1/app-gone")
	if err := missing.Check(ctx); !errors.Is(err, deliver.ErrNotFound) || !strings.Contains(err.Error(), "check lambda:111111111111/us-east-1/app-gone") {
		t.Errorf("check of a missing function: %v", err)
	}
}

// TestTooLargeRefusedBeforeWriting: Lambda's own error for an environment
// over 4 KB quotes every variable; Write refuses before sending, without
// naming any value.
func TestTooLargeRefusedBeforeWriting(t *testing.T) {
	env, admin := start(t, "app-big")
	ctx := context.Background()
	_, err := admin.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app-big"),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"BLOB": strings.Repeat("b", 4000)}}})
	if err != nil {
		t.Fatal(err)
	}
	err = dest(t, deliverer(env), "lambda:111111111111/us-east-1/app-big").Write(ctx, key("AKIAEXAMPLEKEY000001", "do-not-print-me"))
	if err == nil || !strings.Contains(err.Error(), "over Lambda's 4 KB") || strings.Contains(err.Error(), "do-not-print-me") || strings.Contains(err.Error(), "bbbb") {
		t.Fatalf("write: %v", err)
	}
}

// undecryptable is a function whose environment Lambda cannot decrypt:
// GetFunctionConfiguration answers Environment.Error and no variables.
type undecryptable struct{ updates int }

func (u *undecryptable) GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	return &lambda.GetFunctionConfigurationOutput{RevisionId: aws.String("r1"), Environment: &lambdatypes.EnvironmentResponse{
		Error: &lambdatypes.EnvironmentError{ErrorCode: aws.String("KMSDisabledException"), Message: aws.String("key disabled")}}}, nil
}

func (u *undecryptable) UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	u.updates++
	return &lambda.UpdateFunctionConfigurationOutput{}, nil
}

// TestUnreadableEnvironmentNotOverwritten: when Lambda cannot decrypt the
// environment (its KMS key disabled), Write does not update the function,
// which would replace the variables it cannot see.
func TestUnreadableEnvironmentNotOverwritten(t *testing.T) {
	api := &undecryptable{}
	err := dest(t, api, "lambda:111111111111/us-east-1/app").Write(context.Background(), key("AKIAEXAMPLEKEY000001", "s"))
	if err == nil || !strings.Contains(err.Error(), "KMSDisabledException") || api.updates != 0 {
		t.Fatalf("write: %v, %d updates", err, api.updates)
	}
}

// inProgress answers the first n updates as Lambda does while an earlier
// update is still being applied: ResourceConflictException, HTTP 409.
type inProgress struct {
	lambdaenv.API
	n, updates int
}

func (p *inProgress) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	p.updates++
	if p.updates <= p.n {
		return nil, &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:111111111111:function:app-worker"}
	}
	return p.API.UpdateFunctionConfiguration(ctx, in, opts...)
}

// TestUpdateInProgressRetried: an update refused because another is in
// progress is retried after a pause; the sandbox completes updates at once,
// so the refusal is injected in front of it.
func TestUpdateInProgressRetried(t *testing.T) {
	env, admin := start(t, "app-worker")
	api := &inProgress{API: deliverer(env), n: 2}
	d := dest(t, api, "lambda:111111111111/us-east-1/app-worker")
	var pauses []int
	d.Backoff = func(n int) time.Duration { pauses = append(pauses, n); return 0 }
	if err := d.Write(context.Background(), key("AKIAEXAMPLEKEY000001", "secret-one")); err != nil {
		t.Fatal(err)
	}
	if vars, _ := environment(t, admin, "app-worker"); vars["KEYROT_ACCESS_KEY_ID"] != "AKIAEXAMPLEKEY000001" || api.updates != 3 || len(pauses) != 2 {
		t.Errorf("after two refusals: %d updates, pauses %v, variables %v", api.updates, pauses, keys(vars))
	}
}
