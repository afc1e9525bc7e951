package kubetest

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// TestServer starts the API server and uses it as the Kubernetes Secret
// delivery will: a Secret written and read back with StringData converted,
// a stale resourceVersion refused with a conflict, and a user whom RBAC
// grants one named Secret refused another.
func TestServer(t *testing.T) {
	srv := Shared(t)
	ctx := context.Background()
	cs := srv.Clientset(t)
	ns := srv.Namespace(t, nil)
	if !strings.HasPrefix(ns, "testserver-") {
		t.Errorf("namespace %q, want the test's name as prefix", ns)
	}

	sec, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "aws"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Secret: %v", err)
	}
	if got := string(sec.Data["AWS_ACCESS_KEY_ID"]); got != "AKIAEXAMPLE" {
		t.Errorf("StringData not converted to Data: %q", got)
	}
	stale := sec.DeepCopy()
	sec.Data["AWS_ACCESS_KEY_ID"] = []byte("AKIANEWER")
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update Secret: %v", err)
	}
	stale.Data["AWS_ACCESS_KEY_ID"] = []byte("AKIASTALE")
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: err %v, want a conflict", err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A user allowed to get and update only the Secret "aws".
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "keyrot-delivery"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"aws"}, Verbs: []string{"get", "update"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "keyrot-delivery"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "keyrot-delivery"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "keyrot"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := srv.UserConfig("keyrot")
	if err != nil {
		t.Fatal(err)
	}
	user, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := user.CoreV1().Secrets(ns).Get(ctx, "aws", metav1.GetOptions{})
	if err != nil || string(got.Data["AWS_ACCESS_KEY_ID"]) != "AKIANEWER" {
		t.Errorf("the user's get of its Secret: %v, %q", err, got.Data["AWS_ACCESS_KEY_ID"])
	}
	if _, err := user.CoreV1().Secrets(ns).Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the user's get of another Secret: err %v, want forbidden", err)
	}
	if _, err := user.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the user's list of Secrets: err %v, want forbidden", err)
	}
}

// TestSkipsWithoutFlag: without KEYROT_KUBE the helper skips rather than
// failing or building anything.
func TestSkipsWithoutFlag(t *testing.T) {
	if Enabled() {
		t.Skip("KEYROT_KUBE is set")
	}
	ran := t.Run("inner", func(t *testing.T) {
		Shared(t)
		t.Error("Shared returned without KEYROT_KUBE")
	})
	if !ran {
		t.Error("the inner test failed instead of skipping")
	}
}

func TestNamespacePrefix(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"TestHelmChartServerDryRun/serve", "testhelmchartserverdryrun-serve-"},
		{"Test_A__B", "test-a-b-"},
		{"___", "test-"},
		{strings.Repeat("x", 80), strings.Repeat("x", 40) + "-"},
	} {
		if got := namespacePrefix(tt.in); got != tt.want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
