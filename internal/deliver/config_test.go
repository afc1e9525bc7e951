package deliver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/secretstore"
	"github.com/keyrot/keyrot/internal/yamlconf"
)

// decode decodes the deliver section of a keyrot.yaml document.
func decode(t testing.TB, data []byte, file string) (*deliver.Config, yamlconf.Problems) {
	t.Helper()
	root, err := yamlconf.Parse(data, file)
	if err != nil {
		var probs yamlconf.Problems
		if errors.As(err, &probs) {
			return nil, probs
		}
		t.Fatal(err)
	}
	var n *yaml.Node
	if root != nil && root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "deliver" {
				n = root.Content[i+1]
			}
		}
	}
	return deliver.DecodeConfig(file, n, "deliver")
}

func TestDecodeConfigGood(t *testing.T) {
	data, err := os.ReadFile("testdata/config/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, probs := decode(t, data, "good.yaml")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if c.Vault.URL != "https://vault.example.com:8200" || c.Vault.Namespace != "admin/ci" {
		t.Errorf("vault = %+v", c.Vault)
	}
	if got := c.Vault.Token(); got != (deliver.Credential{Secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/vault-AbCdEf"}) {
		t.Errorf("vault token = %+v; a token_secret alone must replace the default VAULT_TOKEN", got)
	}
	if got := c.GitLab.Token(); got != (deliver.Credential{Env: "GITLAB_TOKEN"}) {
		t.Errorf("gitlab token = %+v, want the default GITLAB_TOKEN", got)
	}
	if len(c.Rules) != 2 {
		t.Fatalf("%d rules", len(c.Rules))
	}
}

// TestDecodeConfigDefects has one fixture per defect, each reported with
// its line and path.
func TestDecodeConfigDefects(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"token_in_file.yaml", "3: deliver.github.token: secrets must not be written in keyrot.yaml"},
		{"bad_ref.yaml", `3: deliver.destinations[0].to[0]: destination "github:acme/app/TOKEN": name "TOKEN" must end in ACCESS_KEY_ID`},
		{"matches_nobody.yaml", "3: deliver.destinations[0]: must match users: give accounts, users or path_prefix"},
		{"bad_account.yaml", `4: deliver.destinations[0].accounts[0]: must be a 12-digit account ID (got "1234")`},
		{"bad_path_prefix.yaml", `4: deliver.destinations[0].path_prefix: must start with /`},
		{"both_tokens.yaml", "4: deliver.gitlab.token_secret: give token_env or token_secret, not both"},
		{"bad_token_env.yaml", `3: deliver.github.token_env: must be the name of an environment variable`},
		{"bad_url.yaml", `3: deliver.vault.url: must be an http(s) URL`},
		{"unknown_key.yaml", "4: deliver.destinations[0].user: unknown"},
		{"no_to.yaml", "3: deliver.destinations[0].to: is required"},
		{"namespace_not_vault.yaml", "3: deliver.github.namespace: applies to vault only"},
		{"profile_with_token.yaml", "2: deliver.profile: a profile destination has only a file"},
		{"ssm_with_token.yaml", "2: deliver.ssm: an ssm destination is reached with keyrot's own AWS credentials"},
		{"kms_key_not_ssm.yaml", "3: deliver.lambda.kms_key_id: applies to ssm only"},
		{"bad_kms_key.yaml", `3: deliver.ssm.kms_key_id: must be a KMS key ID, key ARN, alias name or alias ARN`},
		{"lambda_reserved.yaml", `3: deliver.destinations[0].to[0]: destination "lambda:123456789012/us-east-1/app/AWS_ACCESS_KEY_ID": Lambda reserves AWS_ACCESS_KEY_ID`},
		{"kube_options_without_kube.yaml", "5: deliver.destinations[0].kubernetes: applies to kubernetes destinations, and the rule has none"},
		{"kube_bad_deployment.yaml", `6: deliver.destinations[0].kubernetes.restart_deployments[1]: is not a Deployment name`},
		{"kube_unknown_option.yaml", "6: deliver.destinations[0].kubernetes.kubeconfig: unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "config", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, probs := decode(t, data, tt.file)
			if len(probs) != 1 {
				t.Fatalf("want one problem, got %d: %v", len(probs), probs)
			}
			if got := probs[0].String(); !strings.Contains(got, tt.want) {
				t.Errorf("problem %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	data, err := os.ReadFile("testdata/config/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, probs := decode(t, data, "good.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	type target struct{ Ref, Token, From string }
	tests := []struct {
		name    string
		account string
		user    inventory.User
		want    []target
		errs    int
	}{
		{"named user in its account", "123456789012", inventory.User{Name: "deploy-bot", Path: "/"}, []target{
			{"github:acme/app/AWS_ACCESS_KEY_ID", "env KEYROT_GITHUB_TOKEN", "destinations[0] at line 14"},
			{"vault:secret/ci/deploy", "secret arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/vault-AbCdEf", "destinations[0] at line 14"},
		}, 0},
		{"named user in another account", "210987654321", inventory.User{Name: "deploy-bot", Path: "/"}, nil, 0},
		{"path prefix, with the rule's own token", "210987654321", inventory.User{Name: "runner", Path: "/ci/gitlab/"}, []target{
			{"gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID", "env GITLAB_PLATFORM_TOKEN", "destinations[1] at line 17"},
		}, 0},
		{"tag adds destinations, duplicates once, bad ones reported", "123456789012", inventory.User{Name: "deploy-bot", Path: "/",
			Tags: map[string]string{"keyrot:deliver": "profile:work  github:acme/app/AWS_ACCESS_KEY_ID s3:nope"}}, []target{
			{"github:acme/app/AWS_ACCESS_KEY_ID", "env KEYROT_GITHUB_TOKEN", "destinations[0] at line 14"},
			{"profile:work", "none", "tag keyrot:deliver"},
			{"vault:secret/ci/deploy", "secret arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/vault-AbCdEf", "destinations[0] at line 14"},
		}, 1},
		{"no path means /", "123456789012", inventory.User{Name: "x"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := c.Resolve(tt.account, tt.user)
			var gt []target
			for _, g := range got {
				gt = append(gt, target{g.Ref.String(), g.Provider.Token().String(), g.From})
			}
			if diff := cmp.Diff(tt.want, gt); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
			if len(errs) != tt.errs {
				t.Errorf("errors %v, want %d", errs, tt.errs)
			}
		})
	}
}

func TestCredentialResolve(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"SET": "tok3n"}
	getenv := func(k string) string { return env[k] }
	if s, err := (deliver.Credential{Env: "SET"}).Resolve(ctx, getenv, nil); err != nil || s.Reveal() != "tok3n" {
		t.Errorf("env: %v, %v", s, err)
	}
	_, err := deliver.Credential{Env: "UNSET"}.Resolve(ctx, getenv, nil)
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "UNSET") {
		t.Errorf("unset variable: %v", err)
	}
	src := fakeSecrets{"arn:x": "from-sm"}
	if s, err := (deliver.Credential{Secret: "arn:x"}).Resolve(ctx, getenv, src); err != nil || s.Reveal() != "from-sm" {
		t.Errorf("secret: %v, %v", s, err)
	}
	if _, err := (deliver.Credential{}).Resolve(ctx, getenv, src); !errors.Is(err, deliver.ErrUnauthorized) {
		t.Errorf("no credential: %v", err)
	}
}

type fakeSecrets map[string]string

func (f fakeSecrets) SecretString(_ context.Context, arn string) (secretstore.Secret, error) {
	v, ok := f[arn]
	if !ok {
		return secretstore.Secret{}, errors.New("no such secret")
	}
	return secretstore.NewSecret(v), nil
}

// FuzzDecodeConfig decodes arbitrary deliver sections: no panic, and a
// section with no problems resolves every rule's references again.
func FuzzDecodeConfig(f *testing.F) {
	for _, name := range []string{"good.yaml", "bad_ref.yaml", "token_in_file.yaml", "unknown_key.yaml", "kube.yaml", "kube_bad_deployment.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "config", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := decode(t, data, "f.yaml")
		if len(probs) > 0 || c == nil {
			return
		}
		for _, r := range c.Rules {
			for _, s := range r.To {
				if _, err := deliver.ParseRef(s); err != nil {
					t.Fatalf("accepted a bad reference %q: %v", s, err)
				}
			}
		}
		_, _ = c.Resolve("123456789012", inventory.User{Name: "u", Tags: map[string]string{c.UserTag: string(data)}})
	})
}

func TestDeclared(t *testing.T) {
	data, err := os.ReadFile("testdata/config/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, probs := decode(t, data, "good.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, d := range c.Declared() {
		got = append(got, d.Ref.String()+" "+d.Provider.Token().String())
	}
	want := []string{
		"github:acme/app/AWS_ACCESS_KEY_ID env KEYROT_GITHUB_TOKEN",
		"gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID env GITLAB_PLATFORM_TOKEN",
		"vault:secret/ci/deploy secret arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/vault-AbCdEf",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Declared (-want +got):\n%s", diff)
	}
}

// TestResolveAWSDestinations: ssm and lambda destinations carry their
// provider's settings (the SSM KMS key) and never a rule's token.
func TestResolveAWSDestinations(t *testing.T) {
	conf := "deliver:\n  ssm:\n    kms_key_id: alias/keyrot-params\n  destinations:\n" +
		"    - to: [ssm:123456789012/eu-west-1/keyrot/ci, lambda:123456789012/eu-west-1/app, lambda:123456789012/eu-west-1/app/KEYROT_ACCESS_KEY_ID]\n" +
		"      users: [app-bot]\n      token_env: CI_TOKEN\n"
	c, probs := decode(t, []byte(conf), "aws.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	got, errs := c.Resolve("123456789012", inventory.User{Name: "app-bot"})
	// The two lambda references name the same variables: one destination.
	if len(errs) > 0 || len(got) != 2 {
		t.Fatalf("%d targets, %v", len(got), errs)
	}
	for _, tg := range got {
		if tg.Provider.Token() != (deliver.Credential{}) {
			t.Errorf("%s got the rule's token %s", tg.Ref, tg.Provider.Token())
		}
		if want := map[string]string{deliver.KindSSM: "alias/keyrot-params"}[tg.Ref.Kind]; tg.Provider.KMSKeyID != want {
			t.Errorf("%s: kms key %q, want %q", tg.Ref, tg.Provider.KMSKeyID, want)
		}
	}
	if got[0].Ref.LambdaVar() != "KEYROT_ACCESS_KEY_ID" || got[0].Ref.LambdaSecretVar() != "KEYROT_SECRET_ACCESS_KEY" {
		t.Errorf("default Lambda variables: %s %s", got[1].Ref.LambdaVar(), got[1].Ref.LambdaSecretVar())
	}
}

// TestResolveKubeOptions: a Kubernetes destination carries the settings
// of the rule that declared it; one named in a user tag has none (the
// Secret must exist, nothing is restarted).
func TestResolveKubeOptions(t *testing.T) {
	data, err := os.ReadFile("testdata/config/kube.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, probs := decode(t, data, "kube.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	got, errs := c.Resolve("123456789012", inventory.User{Name: "deploy-bot", Path: "/batch/",
		Tags: map[string]string{c.UserTag: "kubernetes:prod/ci/other"}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	type target struct {
		Ref  string
		Kube deliver.KubeOptions
	}
	var gt []target
	for _, g := range got {
		gt = append(gt, target{g.Ref.String(), g.Kube})
	}
	want := []target{
		{"kubernetes:in-cluster/batch/aws", deliver.KubeOptions{}},
		{"kubernetes:prod/ci/aws-deploy", deliver.KubeOptions{CreateSecret: true, RestartDeployments: []string{"api", "worker.v2"}}},
		{"kubernetes:prod/ci/other", deliver.KubeOptions{}},
		{"vault:secret/ci/deploy", deliver.KubeOptions{}},
	}
	if diff := cmp.Diff(want, gt); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}
	var declared []target
	for _, d := range c.Declared() {
		declared = append(declared, target{d.Ref.String(), d.Kube})
	}
	if diff := cmp.Diff([]target{want[0], want[1], want[3]}, declared); diff != "" {
		t.Errorf("Declared (-want +got):\n%s", diff)
	}
}
