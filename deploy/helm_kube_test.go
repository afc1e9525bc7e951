package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/kube"
	"github.com/keyrot/keyrot/internal/kubetest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// deliveryRBAC returns the Roles and RoleBindings among objs, by
// namespace.
func deliveryRBAC(t *testing.T, objs []*unstructured.Unstructured) (map[string]rbacv1.Role, map[string]rbacv1.RoleBinding) {
	t.Helper()
	roles, bindings := map[string]rbacv1.Role{}, map[string]rbacv1.RoleBinding{}
	for _, o := range objs {
		switch o.GetKind() {
		case "Role":
			var r rbacv1.Role
			typed(t, o, &r)
			roles[r.Namespace] = r
		case "RoleBinding":
			var b rbacv1.RoleBinding
			typed(t, o, &b)
			bindings[b.Namespace] = b
		}
	}
	return roles, bindings
}

// TestHelmTemplateKubeDelivery: kubernetesDelivery renders one Role per
// Secret in its namespace, limited by resourceNames to the Secret and the
// Deployments to restart (create only with createSecret), bound to
// keyrot's ServiceAccount, and mounts the API token; the keyrot.yaml that
// goes with it is valid.
func TestHelmTemplateKubeDelivery(t *testing.T) {
	objs := renderChart(t, "values-kube-delivery.yaml")
	roles, bindings := deliveryRBAC(t, objs)
	want := map[string][]rbacv1.PolicyRule{
		"ci": {
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"aws-deploy"}, Verbs: []string{"get", "update"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"api", "worker"}, Verbs: []string{"get", "patch"}},
		},
		"batch": {
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"aws"}, Verbs: []string{"get", "update"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		},
	}
	if len(roles) != 2 || len(bindings) != 2 {
		t.Fatalf("%d Roles and %d RoleBindings, want 2 and 2", len(roles), len(bindings))
	}
	var sa corev1.ServiceAccount
	var dep appsv1.Deployment
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			typed(t, o, &sa)
		case "Deployment":
			typed(t, o, &dep)
		case "ConfigMap":
			var cm corev1.ConfigMap
			typed(t, o, &cm)
			checkConfigValid(t, cm.Data["keyrot.yaml"])
		}
	}
	for ns, rules := range want {
		r := roles[ns]
		if diff := cmp.Diff(rules, r.Rules); diff != "" {
			t.Errorf("Role in %s (-want +got):\n%s", ns, diff)
		}
		b := bindings[ns]
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: "keyrot"}}
		if b.RoleRef.Name != r.Name || b.RoleRef.Kind != "Role" || !cmp.Equal(wantSubjects, b.Subjects) {
			t.Errorf("RoleBinding in %s: roleRef %+v subjects %+v", ns, b.RoleRef, b.Subjects)
		}
	}
	if sa.AutomountServiceAccountToken == nil || !*sa.AutomountServiceAccountToken ||
		dep.Spec.Template.Spec.AutomountServiceAccountToken == nil || !*dep.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Error("the API token is not mounted, but keyrot calls the API to deliver")
	}
	out, err := helm(t, "template", "keyrot", chartDir(t), "--kube-version", kubeVersion, "--set", "kubernetesDelivery.secrets[0].name=aws")
	if err == nil || !strings.Contains(out, "kubernetesDelivery.secrets[0]: namespace and name are required") {
		t.Errorf("a Secret without a namespace: err %v, output %q", err, out)
	}
}

// TestHelmKubeDeliveryRBAC creates the chart's Role and RoleBinding in a
// real kube-apiserver (KEYROT_KUBE=1) and delivers a key as keyrot's
// ServiceAccount: the Role is enough for the kubernetes destination's
// check, write and restart, and refuses another Secret.
func TestHelmKubeDeliveryRBAC(t *testing.T) {
	srv := kubetest.Shared(t)
	ns := srv.Namespace(t, nil)
	cs := srv.Clientset(t)
	ctx := context.Background()
	objs := renderChart(t, "", "kubernetesDelivery.secrets[0].namespace="+ns, "kubernetesDelivery.secrets[0].name=aws-deploy",
		"kubernetesDelivery.secrets[0].restartDeployments={api}")
	roles, bindings := deliveryRBAC(t, objs)
	role, binding := roles[ns], bindings[ns]
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"aws-deploy", "aws-other"} {
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{"app": "api"}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The release's ServiceAccount, as the API server names it.
	user, err := srv.UserConfig("system:serviceaccount:keyrot:keyrot", "system:serviceaccounts", "system:serviceaccounts:keyrot")
	if err != nil {
		t.Fatal(err)
	}
	open := func(secret string) *kube.Destination {
		ref, err := deliver.ParseRef("kubernetes:in-cluster/" + ns + "/" + secret)
		if err != nil {
			t.Fatal(err)
		}
		d, err := kube.New(ref, user, kube.Options{RestartDeployments: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	key := deliver.Key{AccessKeyID: "AKIACHART", SecretAccessKey: secretstore.NewSecret("chart-secret")}
	d := open("aws-deploy")
	if err := d.Check(ctx); err != nil {
		t.Errorf("Check with the chart's Role: %v", err)
	}
	if err := d.Write(ctx, key); err != nil {
		t.Errorf("Write with the chart's Role: %v", err)
	}
	if id, err := d.Current(ctx); err != nil || id != "AKIACHART" {
		t.Errorf("Current = %q, %v", id, err)
	}
	other := open("aws-other")
	if err := other.Check(ctx); !errors.Is(err, deliver.ErrUnauthorized) {
		t.Errorf("Check of a Secret the Role does not name: %v", err)
	}
	if err := other.Write(ctx, key); !errors.Is(err, deliver.ErrUnauthorized) {
		t.Errorf("Write to a Secret the Role does not name: %v", err)
	}
}
