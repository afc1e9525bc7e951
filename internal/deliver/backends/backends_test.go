package backends_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/backends"
	"github.com/keyrot/keyrot/internal/deliver/kube"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/deliver/vault"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

func target(t *testing.T, ref string, p deliver.Provider) deliver.Target {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return deliver.Target{Ref: r, Provider: p}
}

func TestOpenPicksBackendAndToken(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	env := backends.Env{Getenv: func(k string) string { return map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VT": "hvs.x"}[k] }, Home: home}
	d, err := backends.Open(ctx, target(t, "profile:work", deliver.Provider{}), env)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := d.(*profile.Destination); !ok || p.File() != filepath.Join(home, ".aws", "credentials") {
		t.Errorf("profile destination %T %v", d, d)
	}
	d, err = backends.Open(ctx, target(t, "profile:work", deliver.Provider{File: "~/creds"}), env)
	if p, ok := d.(*profile.Destination); err != nil || !ok || p.File() != filepath.Join(home, "creds") {
		t.Errorf("~/ not expanded: %T %v", d, err)
	}
	d, err = backends.Open(ctx, target(t, "vault:secret/a", deliver.Provider{TokenEnv: "VT"}), env)
	if _, ok := d.(*vault.Destination); err != nil || !ok {
		t.Errorf("vault destination: %T, %v", d, err)
	}
	_, err = backends.Open(ctx, target(t, "github:acme/app/AWS_ACCESS_KEY_ID", deliver.Provider{TokenEnv: "GITHUB_TOKEN"}), env)
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "github:acme/app/AWS_ACCESS_KEY_ID") || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("missing token: %v", err)
	}
}

func TestCheckAll(t *testing.T) {
	ctx := context.Background()
	// A Vault that knows no token: 403 permission denied, as Vault answers.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
	}))
	defer srv.Close()
	env := backends.Env{Getenv: func(k string) string { return map[string]string{"VT": "hvs.secret-token-value"}[k] }}
	targets := []deliver.Target{
		target(t, "profile:work", deliver.Provider{File: filepath.Join(t.TempDir(), "credentials")}),
		target(t, "vault:secret/ci/deploy", deliver.Provider{URL: srv.URL, TokenEnv: "VT"}),
		target(t, "gitlab:acme/app/AWS_ACCESS_KEY_ID", deliver.Provider{TokenEnv: "UNSET_TOKEN"}),
	}
	res, err := backends.CheckAll(ctx, targets, env)
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].Err != nil {
		t.Errorf("profile: %v", res[0].Err)
	}
	if !errors.Is(res[1].Err, deliver.ErrUnauthorized) || !strings.Contains(res[1].Err.Error(), "vault:secret/ci/deploy") {
		t.Errorf("vault: %v", res[1].Err)
	}
	if !errors.Is(res[2].Err, deliver.ErrUnauthorized) || !strings.Contains(res[2].Err.Error(), "UNSET_TOKEN") {
		t.Errorf("gitlab: %v", res[2].Err)
	}
	if err == nil || strings.Contains(err.Error(), "hvs.secret-token-value") {
		t.Errorf("joined error %v: want both failures and no token", err)
	}
}

type fakeSM map[string]string

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[*in.SecretId]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
}

func TestOpenWithTokenSecret(t *testing.T) {
	ctx := context.Background()
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/gitlab-AbCdEf"
	env := backends.Env{Secrets: backends.SecretsManager{API: fakeSM{arn: "glpat-x"}}}
	if _, err := backends.Open(ctx, target(t, "gitlab:acme/app/AWS_ACCESS_KEY_ID", deliver.Provider{TokenSecret: arn}), env); err != nil {
		t.Errorf("open with a token secret: %v", err)
	}
	_, err := backends.Open(ctx, target(t, "gitlab:acme/app/AWS_ACCESS_KEY_ID", deliver.Provider{TokenSecret: arn + "x"}), env)
	if err == nil || !strings.Contains(err.Error(), arn+"x") {
		t.Errorf("missing secret: %v", err)
	}
}

// TestOpenAWSThroughMemberRole opens ssm and lambda destinations of a
// member account the way keyrot reaches it (awsaccess: the organization's
// role assumed there) against the sandbox, and delivers a key to both.
func TestOpenAWSThroughMemberRole(t *testing.T) {
	ctx := context.Background()
	env := sandboxtest.Start(t, "")
	sc, err := sandbox.ParseScenario("member.yaml", []byte("organization:\n  management:\n    id: \"111111111111\"\n    name: mgmt\naccounts:\n  - id: \"222222222222\"\n    name: workloads\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	access := awsaccess.New(env.Admin(), awsaccess.Role{})
	member, err := access.Config(ctx, "222222222222")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.AddRole("222222222222", "app-runtime", nil, ""); err != nil {
		t.Fatal(err)
	}
	member.Region = "eu-west-1"
	_, err = lambda.NewFromConfig(member).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("app-worker"), Role: aws.String("arn:aws:iam::222222222222:role/app-runtime"),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))},
	})
	if err != nil {
		t.Fatal(err)
	}
	k := deliver.Key{AccessKeyID: "AKIAEXAMPLEKEY000001", SecretAccessKey: secretstore.NewSecret("s3cret"), UserName: "app", AccountID: "222222222222"}
	for _, ref := range []string{"ssm:222222222222/eu-west-1/keyrot/app", "lambda:222222222222/eu-west-1/app-worker"} {
		d, err := backends.Open(ctx, target(t, ref, deliver.Provider{}), backends.Env{AWS: access})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, k); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if id, err := d.Current(ctx); err != nil || id != k.AccessKeyID {
			t.Errorf("%s: Current = %q, %v", ref, id, err)
		}
	}
	// The parameter is in the member account, not the caller's.
	if _, err := ssm.NewFromConfig(func() aws.Config { c := env.Admin(); c.Region = "eu-west-1"; return c }()).GetParameter(ctx,
		&ssm.GetParameterInput{Name: aws.String("/keyrot/app")}); err == nil {
		t.Error("the parameter was written in the management account")
	}
	if _, err := backends.Open(ctx, target(t, "ssm:222222222222/eu-west-1/keyrot/app", deliver.Provider{}), backends.Env{}); err == nil || !strings.Contains(err.Error(), "no AWS access") {
		t.Errorf("open without AWS access: %v", err)
	}
}

// TestOpenKube reads the reference's kubeconfig context from the files
// KUBECONFIG names (through Env.Getenv), and reports a context it does not
// have as unauthorized.
func TestOpenKube(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "config")
	conf := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: prod\n  context: {cluster: c, user: u}\n"
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := backends.Env{Getenv: func(k string) string { return map[string]string{"KUBECONFIG": kc}[k] }}
	d, err := backends.Open(context.Background(), deliver.Target{Ref: target(t, "kubernetes:prod/ci/aws", deliver.Provider{}).Ref,
		Kube: deliver.KubeOptions{RestartDeployments: []string{"api"}}}, env)
	if _, ok := d.(*kube.Destination); err != nil || !ok {
		t.Errorf("kubernetes destination: %T, %v", d, err)
	}
	_, err = backends.Open(context.Background(), target(t, "kubernetes:staging/ci/aws", deliver.Provider{}), env)
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), `context "staging"`) {
		t.Errorf("missing context: %v", err)
	}
}
