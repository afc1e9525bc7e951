// Package backends turns a resolved deliver.Target into a live
// deliver.Destination of the right backend, reading its token, and checks
// every declared destination (keyrot config validate --check-destinations).
// It is the one package that imports every backend; deliver itself
// imports none.
package backends

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/github"
	"github.com/keyrot/keyrot/internal/deliver/gitlab"
	"github.com/keyrot/keyrot/internal/deliver/kube"
	"github.com/keyrot/keyrot/internal/deliver/lambdaenv"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/deliver/ssmparam"
	"github.com/keyrot/keyrot/internal/deliver/vault"
)

// AccountConfigs gives the AWS configuration that acts in an account:
// keyrot's own in its account, the assumed member role elsewhere
// (awsaccess.Accounts). ssm and lambda destinations are reached this way.
type AccountConfigs interface {
	Config(ctx context.Context, account string) (aws.Config, error)
}

var _ AccountConfigs = (*awsaccess.Accounts)(nil)

// Env is what opening a destination may use besides its Target.
type Env struct {
	// Getenv reads environment variables (os.Getenv).
	Getenv func(string) string
	// Secrets reads token_secret references; nil when none is configured.
	Secrets deliver.SecretSource
	// HTTPClient is used for every provider API but Kubernetes' (whose
	// transport the kubeconfig sets); nil for the default.
	HTTPClient *http.Client
	// Home is the user's home directory, for the default credentials file
	// and kubeconfig (~/.kube/config).
	Home string
	// AWS reaches the accounts of ssm and lambda destinations; nil when
	// none is configured.
	AWS AccountConfigs
}

// Open returns the destination t names, with its token read.
func Open(ctx context.Context, t deliver.Target, env Env) (deliver.Destination, error) {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch t.Ref.Kind {
	case deliver.KindProfile:
		file := t.Provider.File
		switch {
		case file == "":
			file = profile.DefaultFile(getenv, env.Home)
		case strings.HasPrefix(file, "~/") && env.Home != "":
			file = filepath.Join(env.Home, file[2:])
		}
		return profile.New(t.Ref, file)
	case deliver.KindSSM, deliver.KindLambda:
		return openAWS(ctx, t, env)
	case deliver.KindKube:
		cfg, err := kube.RESTConfig(t.Ref, getenv, env.Home)
		if err != nil {
			return nil, err
		}
		return kube.New(t.Ref, cfg, kube.Options{CreateSecret: t.Kube.CreateSecret, RestartDeployments: t.Kube.RestartDeployments})
	case deliver.KindGitHub, deliver.KindVault, deliver.KindGitLab:
	default:
		return nil, fmt.Errorf("destination %s: unknown kind", t.Ref)
	}
	tok, err := t.Provider.Token().Resolve(ctx, getenv, env.Secrets)
	if err != nil {
		return nil, &deliver.Error{Ref: t.Ref, Op: "open", Err: err}
	}
	switch t.Ref.Kind {
	case deliver.KindGitHub:
		return github.New(t.Ref, tok, t.Provider.URL, env.HTTPClient)
	case deliver.KindGitLab:
		return gitlab.New(t.Ref, tok, t.Provider.URL, env.HTTPClient)
	default:
		addr := t.Provider.URL
		if addr == "" {
			addr = getenv("VAULT_ADDR")
		}
		return vault.New(t.Ref, addr, t.Provider.Namespace, tok, env.HTTPClient)
	}
}

// Result is the outcome of checking one destination.
type Result struct {
	Target deliver.Target
	Err    error
}

// CheckAll opens and checks each target in turn and returns one Result per
// target, in order, and the errors joined.
func CheckAll(ctx context.Context, targets []deliver.Target, env Env) ([]Result, error) {
	var res []Result
	var errs []error
	for _, t := range targets {
		d, err := Open(ctx, t, env)
		if err == nil {
			err = d.Check(ctx)
		}
		res = append(res, Result{Target: t, Err: err})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// openAWS opens an ssm or lambda destination with a client acting in the
// destination's account and region.
func openAWS(ctx context.Context, t deliver.Target, env Env) (deliver.Destination, error) {
	if env.AWS == nil {
		return nil, &deliver.Error{Ref: t.Ref, Op: "open", Err: errors.New("no AWS access configured")}
	}
	cfg, err := env.AWS.Config(ctx, t.Ref.Account)
	if err != nil {
		return nil, &deliver.Error{Ref: t.Ref, Op: "open", Err: deliver.AWSError(err, false)}
	}
	cfg.Region = t.Ref.Region
	if t.Ref.Kind == deliver.KindSSM {
		return ssmparam.New(t.Ref, ssm.NewFromConfig(cfg), t.Provider.KMSKeyID)
	}
	return lambdaenv.New(t.Ref, lambda.NewFromConfig(cfg))
}
