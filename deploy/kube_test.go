package deploy

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/keyrot/keyrot/internal/kubetest"
)

// TestHelmChartServerDryRun sends the rendered chart, in both modes, to a
// real kube-apiserver with a server-side dry run and strict field
// validation, in a namespace that enforces the "restricted" Pod Security
// Standard; then dry-runs the pod each mode would create, which the
// PodSecurity admission refuses unless the security context is restricted.
// A manifest with a field Kubernetes does not know is refused, so the
// check can fail. Needs KEYROT_KUBE=1 (internal/kubetest).
func TestHelmChartServerDryRun(t *testing.T) {
	srv := kubetest.Shared(t)
	cfg := srv.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	cs := srv.Clientset(t)
	ctx := context.Background()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}

	create := func(t *testing.T, ns string, obj *unstructured.Unstructured, opts metav1.CreateOptions) error {
		t.Helper()
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		_, err = dyn.Resource(m.Resource).Namespace(ns).Create(ctx, obj, opts)
		return err
	}

	for _, tt := range []struct{ name, values string }{
		{"serve", "values-serve.yaml"},
		{"cronjob", "values-cronjob.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := srv.Namespace(t, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
			objs := renderChart(t, tt.values)
			var podSpec *corev1.PodSpec
			var sa *unstructured.Unstructured
			for _, obj := range objs {
				if err := create(t, ns, obj, dry); err != nil {
					t.Errorf("dry-run create %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
				switch obj.GetKind() {
				case "ServiceAccount":
					sa = obj
				case "Deployment":
					var d appsv1.Deployment
					typed(t, obj, &d)
					podSpec = &d.Spec.Template.Spec
				case "CronJob":
					var cj batchv1.CronJob
					typed(t, obj, &cj)
					podSpec = &cj.Spec.JobTemplate.Spec.Template.Spec
				}
			}
			// The dry run stored nothing.
			if list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=keyrot"}); err != nil || len(list.Items) != 0 {
				t.Errorf("after a dry run the namespace holds %d keyrot ConfigMaps (err %v)", len(list.Items), err)
			}
			if podSpec == nil || sa == nil {
				t.Fatal("no workload or ServiceAccount rendered")
			}
			// The pod the controller would create: the ServiceAccount must
			// exist for the pod's admission, so it is created for real.
			if err := create(t, ns, sa, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create ServiceAccount: %v", err)
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "keyrot-" + tt.name}, Spec: *podSpec}
			if pod.Spec.RestartPolicy == "" {
				pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
			}
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, dry); err != nil {
				t.Errorf("dry-run pod in a restricted namespace: %v", err)
			}
			// The same pod with privilege escalation allowed is refused: the
			// namespace really enforces the restricted profile.
			bad := pod.DeepCopy()
			allow := true
			bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &allow
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, bad, dry); err == nil || !strings.Contains(err.Error(), "restricted") {
				t.Errorf("a pod allowing privilege escalation: err %v, want a PodSecurity refusal", err)
			}
		})
	}

	t.Run("unknown field refused", func(t *testing.T) {
		ns := srv.Namespace(t, nil)
		for _, obj := range renderChart(t, "values-serve.yaml") {
			if obj.GetKind() != "Deployment" {
				continue
			}
			if err := unstructured.SetNestedField(obj.Object, true, "spec", "template", "spec", "readOnlyRootFilesystem"); err != nil {
				t.Fatal(err)
			}
			err := create(t, ns, obj, dry)
			if err == nil || !strings.Contains(err.Error(), "readOnlyRootFilesystem") {
				t.Errorf("a Deployment with readOnlyRootFilesystem at pod level: err %v, want a strict-validation refusal", err)
			}
		}
	})
}
