package deliver_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/deliver"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in         string
		want       deliver.Ref
		secretName string
	}{
		{"github:acme/AWS_ACCESS_KEY_ID", deliver.Ref{Kind: "github", Owner: "acme", Name: "AWS_ACCESS_KEY_ID"}, "AWS_SECRET_ACCESS_KEY"},
		{"github:acme/app/AWS_ACCESS_KEY_ID", deliver.Ref{Kind: "github", Owner: "acme", Repo: "app", Name: "AWS_ACCESS_KEY_ID"}, "AWS_SECRET_ACCESS_KEY"},
		{"github:acme/app.go/environments/prod-eu/PROD_ACCESS_KEY_ID", deliver.Ref{Kind: "github", Owner: "acme", Repo: "app.go", Environment: "prod-eu", Name: "PROD_ACCESS_KEY_ID"}, "PROD_SECRET_ACCESS_KEY"},
		{"vault:secret/ci/deploy", deliver.Ref{Kind: "vault", Mount: "secret", Path: "ci/deploy"}, ""},
		{"gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID", deliver.Ref{Kind: "gitlab", Project: "acme/platform/deploy", Name: "AWS_ACCESS_KEY_ID"}, "AWS_SECRET_ACCESS_KEY"},
		{"profile:work", deliver.Ref{Kind: "profile", Name: "work"}, ""},
		{"ssm:123456789012/eu-west-1/keyrot/ci/deploy", deliver.Ref{Kind: "ssm", Account: "123456789012", Region: "eu-west-1", Parameter: "/keyrot/ci/deploy"}, ""},
		{"ssm:123456789012/us-east-1/deploy-key", deliver.Ref{Kind: "ssm", Account: "123456789012", Region: "us-east-1", Parameter: "deploy-key"}, ""},
		{"lambda:123456789012/us-east-1/app-worker", deliver.Ref{Kind: "lambda", Account: "123456789012", Region: "us-east-1", Function: "app-worker"}, ""},
		{"lambda:123456789012/us-gov-west-1/app_worker/APP_ACCESS_KEY_ID", deliver.Ref{Kind: "lambda", Account: "123456789012", Region: "us-gov-west-1", Function: "app_worker", Name: "APP_ACCESS_KEY_ID"}, "APP_SECRET_ACCESS_KEY"},
		{"kubernetes:prod/ci/aws-deploy", deliver.Ref{Kind: "kubernetes", Context: "prod", Namespace: "ci", Secret: "aws-deploy"}, ""},
		{"kubernetes:in-cluster/team-a/app.aws/APP_ACCESS_KEY_ID", deliver.Ref{Kind: "kubernetes", Context: "in-cluster", Namespace: "team-a", Secret: "app.aws", Name: "APP_ACCESS_KEY_ID"}, "APP_SECRET_ACCESS_KEY"},
		{"kubernetes:kind-kind/default/s/aws.access-ACCESS_KEY_ID", deliver.Ref{Kind: "kubernetes", Context: "kind-kind", Namespace: "default", Secret: "s", Name: "aws.access-ACCESS_KEY_ID"}, "aws.access-SECRET_ACCESS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := deliver.ParseRef(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRef (-want +got):\n%s", diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
			if tt.secretName != "" && got.SecretName() != tt.secretName {
				t.Errorf("SecretName() = %q, want %q", got.SecretName(), tt.secretName)
			}
			if got.Kind == deliver.KindKube {
				id, secret := got.KubeKeys()
				wantID, wantSecret := "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"
				if tt.secretName != "" {
					wantID, wantSecret = got.Name, tt.secretName
				}
				if id != wantID || secret != wantSecret {
					t.Errorf("KubeKeys() = %q, %q, want %q, %q", id, secret, wantID, wantSecret)
				}
			}
		})
	}
}

func TestParseRefRejects(t *testing.T) {
	tests := []struct{ in, says string }{
		{"github", "want KIND:WHERE"},
		{"s3:bucket/key", "unknown kind"},
		{"github:acme/app/TOKEN", "must end in ACCESS_KEY_ID"},
		{"github:acme/app/GITHUB_ACCESS_KEY_ID", "not starting with a digit or GITHUB_"},
		{"github:acme/app/1_ACCESS_KEY_ID", "GitHub names"},
		{"github:-acme/app/AWS_ACCESS_KEY_ID", "owner"},
		{"github:acme/../AWS_ACCESS_KEY_ID", "repository"},
		{"github:acme/app/envs/prod/AWS_ACCESS_KEY_ID", "environments"},
		{"github:acme//AWS_ACCESS_KEY_ID", "empty part"},
		{"github:a/b/c/d/AWS_ACCESS_KEY_ID", "want github:OWNER"},
		{"vault:secret", "want vault:MOUNT/PATH"},
		{"vault:secret/../sys", "path part"},
		{"gitlab:acme/AWS_ACCESS_KEY_ID", "want gitlab:GROUP/PROJECT/NAME"},
		{"gitlab:acme/app/AWS-ACCESS_KEY_ID", "GitLab variable names"},
		{"profile:", "nothing after profile:"},
		{"profile:a b", "want profile:NAME"},
		{"profile:a/b", "want profile:NAME"},
		{"ssm:123456789012/us-east-1", "want ssm:ACCOUNT/REGION/..."},
		{"ssm:12345/us-east-1/x", "12-digit account ID"},
		{"ssm:123456789012/useast1/x", "not an AWS region"},
		{"ssm:123456789012/us-east-1/a b", "parameter name part"},
		{"ssm:123456789012/us-east-1/aws/x", "may not begin with aws or ssm"},
		{"ssm:123456789012/us-east-1/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "at most 15 levels"},
		{"lambda:123456789012/us-east-1/fn/AWS_ACCESS_KEY_ID", "Lambda reserves AWS_ACCESS_KEY_ID"},
		{"lambda:123456789012/us-east-1/fn/KEY_ID", "must end in ACCESS_KEY_ID"},
		{"lambda:123456789012/us-east-1/fn.v2", "Lambda function names"},
		{"lambda:123456789012/us-east-1/fn/_ACCESS_KEY_ID", "Lambda environment variable names"},
		{"lambda:123456789012/us-east-1/fn/X_ACCESS_KEY_ID/more", "want lambda:ACCOUNT/REGION/FUNCTION"},
		{"kubernetes:prod/ci", "want kubernetes:CONTEXT/NAMESPACE/SECRET"},
		{"kubernetes:prod/ci/s/AWS_ACCESS_KEY_ID/x", "want kubernetes:CONTEXT/NAMESPACE/SECRET"},
		{"kubernetes:arn:aws:eks:us-east-1:123456789012:cluster/prod/ci/s", "kubectl config rename-context"},
		{"kubernetes:pr od/ci/s", "context"},
		{"kubernetes:prod/CI/s", "namespace"},
		{"kubernetes:prod/-ci/s", "namespace"},
		{"kubernetes:prod/ci/Secret", "secret \"Secret\""},
		{"kubernetes:prod/ci/s..x", "secret"},
		{"kubernetes:prod/ci/s/TOKEN", "must end in ACCESS_KEY_ID"},
		{"kubernetes:prod/ci/s/A:ACCESS_KEY_ID", "data key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := deliver.ParseRef(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ParseRef(%q) = %v, want an error saying %q", tt.in, err, tt.says)
			}
		})
	}
}

// FuzzParseRef checks that a reference that parses prints back to itself
// and parses again to the same Ref, and that names are paired as
// documented.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"github:acme/app/AWS_ACCESS_KEY_ID", "github:acme/AWS_ACCESS_KEY_ID",
		"github:acme/app/environments/prod/AWS_ACCESS_KEY_ID", "vault:secret/a/b", "gitlab:g/s/p/X_ACCESS_KEY_ID", "profile:default", "github:", ":", "",
		"ssm:123456789012/us-east-1/keyrot/ci/deploy", "ssm:123456789012/eu-west-1/key", "lambda:123456789012/us-east-1/fn", "lambda:123456789012/us-east-1/fn/APP_ACCESS_KEY_ID",
		"kubernetes:prod/ci/aws", "kubernetes:in-cluster/a/b.c/X_ACCESS_KEY_ID"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := deliver.ParseRef(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRef(%q).String() = %q", s, r.String())
		}
		again, err := deliver.ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("reparse of %q: %+v, %v", s, again, err)
		}
		if strings.ContainsAny(s, " \t\n\r") {
			t.Fatalf("accepted whitespace: %q", s)
		}
		if (r.Kind == deliver.KindGitHub || r.Kind == deliver.KindGitLab) && (!strings.HasSuffix(r.Name, deliver.IDSuffix) || r.SecretName() == r.Name) {
			t.Fatalf("%q: name %q and secret name %q are not a pair", s, r.Name, r.SecretName())
		}
		if r.Kind == deliver.KindLambda && (deliver.LambdaReserved[r.LambdaVar()] || deliver.LambdaReserved[r.LambdaSecretVar()] || r.LambdaVar() == r.LambdaSecretVar()) {
			t.Fatalf("%q: variables %s and %s are reserved by Lambda or not a pair", s, r.LambdaVar(), r.LambdaSecretVar())
		}
		if r.Kind == deliver.KindSSM && strings.Contains(r.Parameter, "/") && !strings.HasPrefix(r.Parameter, "/") {
			t.Fatalf("%q: hierarchical parameter %q does not begin with /", s, r.Parameter)
		}
		if r.Kind == deliver.KindKube {
			id, secret := r.KubeKeys()
			if id == secret || !strings.HasSuffix(id, deliver.IDSuffix) || !strings.HasSuffix(secret, deliver.SecretSuffix) {
				t.Fatalf("%q: data keys %q and %q are not a pair", s, id, secret)
			}
		}
	})
}
