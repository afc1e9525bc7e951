package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keyrot/keyrot/internal/kubetest"
	"github.com/keyrot/keyrot/internal/kubetest/standin"
)

// writeKubeConfig writes a keyrot.yaml declaring the kubernetes
// destinations refs for user alice, and returns its path.
func writeKubeConfig(t *testing.T, refs ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	conf := "version: 1\ndeliver:\n  destinations:\n    - to: [" + strings.Join(refs, ", ") + "]\n      users: [alice]\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigValidateCheckKubeNoContext: a kubernetes destination whose
// context is not in the kubeconfig fails the check with the context named.
func TestConfigValidateCheckKubeNoContext(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncontexts: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	path := writeKubeConfig(t, "kubernetes:prod/ci/aws")
	code, _, stderr := runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError || !strings.Contains(stderr, `kubernetes:prod/ci/aws (destinations[0]): open kubernetes:prod/ci/aws: unauthorized: context "prod" is not in the kubeconfig`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestConfigValidateCheckKube runs config validate --check-destinations
// against a real kube-apiserver (KEYROT_KUBE=1) with a kubeconfig whose
// user has a Role limited to one Secret: that destination passes, another
// Secret is unauthorized, a missing one is not found.
func TestConfigValidateCheckKube(t *testing.T) {
	srv := kubetest.Shared(t)
	ns := srv.Namespace(t, nil)
	cs := srv.Clientset(t)
	ctx := context.Background()
	for _, name := range []string{"aws-deploy", "aws-other"} {
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "keyrot"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
			ResourceNames: []string{"aws-deploy", "aws-missing"}, Verbs: []string{"get", "update"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "keyrot"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "keyrot"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "keyrot"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc, err := srv.WriteKubeconfig(filepath.Join(t.TempDir(), "config"), "test", "keyrot")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	path := writeKubeConfig(t, "kubernetes:test/"+ns+"/aws-deploy", "kubernetes:test/"+ns+"/aws-other", "kubernetes:test/"+ns+"/aws-missing")
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if !strings.Contains(stdout, "kubernetes:test/"+ns+"/aws-deploy: ok") {
		t.Errorf("stdout %q should pass aws-deploy", stdout)
	}
	if !strings.Contains(stderr, "kubernetes:test/"+ns+"/aws-other (destinations[0]): check kubernetes:test/"+ns+"/aws-other: unauthorized: the credentials may not get secrets/aws-other, update secrets/aws-other") {
		t.Errorf("stderr %q should say aws-other is unauthorized", stderr)
	}
	if !strings.Contains(stderr, "kubernetes:test/"+ns+"/aws-missing (destinations[0]): check kubernetes:test/"+ns+"/aws-missing: not found: secret aws-missing does not exist") ||
		!strings.Contains(stderr, "2 of 3 destination(s) failed") {
		t.Errorf("stderr %q should say aws-missing is not found", stderr)
	}
}

// TestConfigValidateCheckKubeStandin checks kubernetes destinations through
// a kubeconfig that points at the local stand-in (no flag needed): the
// Secret that exists passes, a missing one is not found, and a Deployment
// the stand-in's access review refuses to patch is unauthorized.
func TestConfigValidateCheckKubeStandin(t *testing.T) {
	srv := standin.New()
	defer srv.Close()
	srv.Allow = func(a standin.Attributes) bool { return a.Resource != "deployments" }
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("ci").Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "config")
	if err := srv.WriteKubeconfig(kc, "local"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	cfg := "version: 1\ndeliver:\n  destinations:\n" +
		"    - to: [kubernetes:local/ci/aws, kubernetes:local/ci/absent]\n      users: [alice]\n" +
		"    - to: [kubernetes:local/ci/aws/APP_ACCESS_KEY_ID]\n      users: [bob]\n      kubernetes:\n        restart_deployments: [api]\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "config", "validate", "-f", path, "--check-destinations")
	if code != ExitError || !strings.Contains(stdout, "kubernetes:local/ci/aws: ok") ||
		!strings.Contains(stderr, "kubernetes:local/ci/absent (destinations[0]): check kubernetes:local/ci/absent: not found: secret absent does not exist in namespace ci") ||
		!strings.Contains(stderr, "kubernetes:local/ci/aws/APP_ACCESS_KEY_ID (destinations[1]): check kubernetes:local/ci/aws/APP_ACCESS_KEY_ID: unauthorized: the credentials may not get deployments.apps/api, patch deployments.apps/api") ||
		!strings.Contains(stderr, "2 of 3 destination(s) failed") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}
