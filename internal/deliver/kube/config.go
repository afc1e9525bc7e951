package kube

import (
	"fmt"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keyrot/keyrot/internal/deliver"
)

// RESTConfig returns how to reach the cluster of ref: for the context
// deliver.InCluster, the pod's service account (rest.InClusterConfig);
// otherwise the kubeconfig context ref.Context, from the files KUBECONFIG
// lists (read through getenv), else home/.kube/config. The credentials are
// the context's user (a token, a client certificate or an exec plugin
// such as aws eks get-token); none comes from keyrot.yaml. A missing file
// or context is an error wrapping deliver.ErrUnauthorized.
func RESTConfig(ref deliver.Ref, getenv func(string) string, home string) (*rest.Config, error) {
	fail := func(err error) (*rest.Config, error) {
		return nil, &deliver.Error{Ref: ref, Op: "open", Err: fmt.Errorf("%w: %v", deliver.ErrUnauthorized, err)}
	}
	if ref.Context == deliver.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return fail(fmt.Errorf("in-cluster service account: %w", err))
		}
		return cfg, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{}
	switch {
	case getenv != nil && getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		rules.Precedence = filepath.SplitList(getenv(clientcmd.RecommendedConfigPathEnvVar))
	case home != "":
		rules.Precedence = []string{filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	default:
		return fail(fmt.Errorf("no kubeconfig: set %s", clientcmd.RecommendedConfigPathEnvVar))
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: ref.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return fail(fmt.Errorf("kubeconfig %v: %w", rules.Precedence, err))
	}
	if _, ok := raw.Contexts[ref.Context]; !ok {
		return fail(fmt.Errorf("context %q is not in the kubeconfig %v", ref.Context, rules.Precedence))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return fail(fmt.Errorf("kubeconfig context %q: %w", ref.Context, err))
	}
	return cfg, nil
}
