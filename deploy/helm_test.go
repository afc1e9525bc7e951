package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// helmBinary finds helm: KEYROT_HELM, else helm on PATH. Without it the
// test skips, unless KEYROT_REQUIRE_HELM is set (CI builds helm with go
// install and sets it).
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEYROT_HELM"); p != "" {
		return p
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		if os.Getenv("KEYROT_REQUIRE_HELM") != "" {
			t.Fatalf("helm not found and KEYROT_REQUIRE_HELM is set: %v (.ci/run installs it with go install helm.sh/helm/v3/cmd/helm)", err)
		}
		t.Skip("helm not found (set KEYROT_HELM or put helm on PATH; .ci/run installs it): the chart is not linted or rendered")
	}
	return p
}

func chartDir(t *testing.T) string { return filepath.Join(repoRoot(t), "deploy", "helm", "keyrot") }

// kubeVersion is the Kubernetes version helm renders for: a helm built with
// go install assumes v1.20.0, older than the chart's kubeVersion.
const kubeVersion = "v1.33.0"

// helm runs helm with its own empty home, so that no user configuration or
// repository cache is read or written.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), fmt.Errorf("helm %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// renderChart runs helm template with a values file from testdata (none for
// "") and extra --set flags, and returns the objects it renders.
func renderChart(t *testing.T, values string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "keyrot", chartDir(t), "--namespace", "keyrot", "--kube-version", kubeVersion}
	if values != "" {
		args = append(args, "-f", filepath.Join("testdata", values))
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return decodeManifests(t, out)
}

func decodeManifests(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decode rendered manifests: %v\n%s", err, manifests)
		}
		if m == nil {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// byKind indexes objects by kind; the chart renders at most one of each.
func byKind(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if m[o.GetKind()] != nil {
			t.Errorf("two %s objects rendered", o.GetKind())
		}
		m[o.GetKind()] = o
	}
	return m
}

// typed decodes obj strictly into out: a field the Kubernetes type does not
// have (a typo in a template) fails the test.
func typed(t *testing.T, obj *unstructured.Unstructured, out any) {
	t.Helper()
	data, err := sigsyaml.Marshal(obj.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}

// TestHelmLint lints the chart in both modes, with the defaults and with
// the test values.
func TestHelmLint(t *testing.T) {
	for _, tt := range []struct{ name, values string }{
		{"defaults", ""},
		{"serve", "values-serve.yaml"},
		{"cronjob", "values-cronjob.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir(t)}
			if tt.values != "" {
				args = append(args, "-f", filepath.Join("testdata", tt.values))
			}
			if out, err := helm(t, args...); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}

// checkPod checks what both modes share: the restricted security context,
// the service account, writable paths only on the state volume and /tmp,
// the config mounted where --config points, and every credential the
// config names (password_env, url_env, secret_env) coming from a Secret.
func checkPod(t *testing.T, spec corev1.PodSpec, saName, config string) corev1.Container {
	t.Helper()
	if spec.ServiceAccountName != saName {
		t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, saName)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.FSGroup == nil || *psc.FSGroup != 65532 || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, runAsUser and fsGroup 65532 (the image's user), seccomp RuntimeDefault", psc)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, capabilities drop [ALL]", sc)
	}

	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
		if !m.ReadOnly && m.MountPath != stateDir && m.MountPath != "/tmp" {
			t.Errorf("writable mount %s: keyrot writes only to %s and /tmp", m.MountPath, stateDir)
		}
	}
	if m, ok := mounts["/etc/keyrot"]; !ok || !m.ReadOnly || vols[m.Name].ConfigMap == nil {
		t.Errorf("/etc/keyrot: want the ConfigMap mounted read-only (mounts %+v)", c.VolumeMounts)
	}
	if _, ok := mounts[stateDir]; !ok {
		t.Errorf("no volume at %s", stateDir)
	}
	if m, ok := mounts["/tmp"]; !ok || vols[m.Name].EmptyDir == nil {
		t.Errorf("/tmp: want an emptyDir")
	}
	// --config and --state-dir point at the mounts.
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, "--config /etc/keyrot/keyrot.yaml") || !strings.Contains(args, "--state-dir "+stateDir) {
		t.Errorf("args %q: want --config /etc/keyrot/keyrot.yaml and --state-dir %s", c.Args, stateDir)
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["KEYROT_STATE_DIR"].Value != stateDir || env["TMPDIR"].Value != "/tmp" {
		t.Errorf("env KEYROT_STATE_DIR=%q TMPDIR=%q", env["KEYROT_STATE_DIR"].Value, env["TMPDIR"].Value)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:password|url|secret)_env:\s*(\S+)`).FindAllStringSubmatch(config, -1) {
		e, ok := env[m[1]]
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "" {
			t.Errorf("keyrot.yaml names %s, but the container's %s is not from a Secret: %+v", m[1], m[1], e)
		}
	}
	return c
}

// TestHelmTemplateServe renders the chart in serve mode and checks the
// objects: IRSA on the ServiceAccount, the config a valid keyrot.yaml, the
// Deployment's pod (security, mounts, probes on /healthz and /readyz, the
// token and notification credentials from Secrets), the Service, the scrape
// annotations, and a command line whose flags the real keyrot serve has.
func TestHelmTemplateServe(t *testing.T) {
	objs := byKind(t, renderChart(t, "values-serve.yaml"))
	for _, k := range []string{"ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment", "Service"} {
		if objs[k] == nil {
			t.Errorf("no %s rendered", k)
		}
	}
	if objs["CronJob"] != nil {
		t.Error("a CronJob rendered in serve mode")
	}
	if t.Failed() {
		t.FailNow()
	}
	var sa corev1.ServiceAccount
	typed(t, objs["ServiceAccount"], &sa)
	if got := sa.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/keyrot" {
		t.Errorf("ServiceAccount role-arn annotation %q", got)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("ServiceAccount mounts an API token keyrot does not use")
	}
	var cm corev1.ConfigMap
	typed(t, objs["ConfigMap"], &cm)
	config := cm.Data["keyrot.yaml"]
	checkConfigValid(t, config)

	var secret corev1.Secret
	typed(t, objs["Secret"], &secret)
	if len(secret.Data["token"]) < 32 {
		t.Errorf("generated serve token is %d bytes, want at least 32", len(secret.Data["token"]))
	}

	var d appsv1.Deployment
	typed(t, objs["Deployment"], &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment replicas %v strategy %q: want one pod, Recreate (one writer of the history)", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	c := checkPod(t, d.Spec.Template.Spec, sa.Name, config)
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v: want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 9090 {
		t.Errorf("ports %+v: want http 9090", c.Ports)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if ref := env["KEYROT_SERVE_TOKEN"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != secret.Name || ref.SecretKeyRef.Key != "token" {
		t.Errorf("KEYROT_SERVE_TOKEN %+v: want the Secret %s key token", env["KEYROT_SERVE_TOKEN"], secret.Name)
	}
	if env["AWS_REGION"].Value != "eu-west-1" {
		t.Errorf("AWS_REGION %q", env["AWS_REGION"].Value)
	}
	wantArgs := []string{"serve", "--config", "/etc/keyrot/keyrot.yaml", "--state-dir", stateDir, "--listen", "0.0.0.0:9090"}
	if strings.Join(c.Args, " ") != strings.Join(wantArgs, " ") {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	_, bin := releaseBinary(t)
	if commandFlags(t, bin, "serve") == nil {
		t.Logf("this build has no serve command yet: the Deployment's flags %q are not checked against it", c.Args)
	} else {
		checkArgs(t, bin, c.Args)
	}

	var svc corev1.Service
	typed(t, objs["Service"], &svc)
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service selects %s=%s, the pod has %q", k, v, d.Spec.Template.Labels[k])
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v: want target http", svc.Spec.Ports)
	}
	for what, ann := range map[string]map[string]string{"Service": svc.Annotations, "pod": d.Spec.Template.Annotations} {
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9090" || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s annotations %v: want prometheus.io scrape, port 9090, path /metrics", what, ann)
		}
	}
}

// TestHelmTemplateCronJob renders the chart in CronJob mode: a CronJob
// running an unattended keyrot apply whose flags the real binary has, never
// two at once, not retried by Kubernetes; no Deployment, Service or token.
func TestHelmTemplateCronJob(t *testing.T) {
	objs := byKind(t, renderChart(t, "values-cronjob.yaml"))
	for _, k := range []string{"Deployment", "Service", "Secret", "PersistentVolumeClaim"} {
		if objs[k] != nil {
			t.Errorf("%s rendered in cronjob mode without persistence", k)
		}
	}
	if objs["CronJob"] == nil || objs["ServiceAccount"] == nil || objs["ConfigMap"] == nil {
		t.Fatalf("rendered %v: want CronJob, ServiceAccount, ConfigMap", keysOf(objs))
	}
	var sa corev1.ServiceAccount
	typed(t, objs["ServiceAccount"], &sa)
	var cj batchv1.CronJob
	typed(t, objs["CronJob"], &cj)
	if cj.Spec.Schedule != "30 5 * * 1-5" || cj.Spec.TimeZone == nil || *cj.Spec.TimeZone != "Europe/Paris" {
		t.Errorf("schedule %q time zone %v", cj.Spec.Schedule, cj.Spec.TimeZone)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 || job.ActiveDeadlineSeconds == nil || *job.ActiveDeadlineSeconds <= 3*3600 {
		t.Errorf("backoffLimit %v activeDeadlineSeconds %v: want 0 and more than keyrot's 3h --timeout", job.BackoffLimit, job.ActiveDeadlineSeconds)
	}
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	var cm corev1.ConfigMap
	typed(t, objs["ConfigMap"], &cm)
	c := checkPod(t, pod, sa.Name, cm.Data["keyrot.yaml"])
	for _, v := range pod.Volumes {
		if v.Name == "state" && v.EmptyDir == nil {
			t.Errorf("persistence.enabled=false: state volume %+v, want an emptyDir", v)
		}
	}
	if c.LivenessProbe != nil || c.ReadinessProbe != nil || len(c.Ports) != 0 {
		t.Error("a one-shot apply has probes or ports")
	}
	for _, e := range c.Env {
		if e.Name == "KEYROT_SERVE_TOKEN" {
			t.Error("KEYROT_SERVE_TOKEN set in cronjob mode")
		}
	}
	wantArgs := []string{"apply", "--config", "/etc/keyrot/keyrot.yaml", "--state-dir", stateDir, "--yes", "--allow-partial"}
	if strings.Join(c.Args, " ") != strings.Join(wantArgs, " ") {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	_, bin := releaseBinary(t)
	checkArgs(t, bin, c.Args)
	checkConfigValid(t, cm.Data["keyrot.yaml"])
}

// TestHelmRefusesBadValues: an unknown mode and a writable root filesystem
// fail at render time with a message.
func TestHelmRefusesBadValues(t *testing.T) {
	for _, tt := range []struct{ set, want string }{
		{"mode=daemon", "mode must be serve or cronjob"},
		{"securityContext.readOnlyRootFilesystem=false", "readOnlyRootFilesystem must stay true"},
		{"secretEnv[0].name=X", "secretName is required"},
	} {
		out, err := helm(t, "template", "keyrot", chartDir(t), "--kube-version", kubeVersion, "--set", tt.set)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("--set %s: err %v, output %q; want a failure saying %q", tt.set, err, out, tt.want)
		}
	}
}

// checkConfigValid runs the real keyrot config validate on the config the
// chart ships.
func checkConfigValid(t *testing.T, config string) {
	t.Helper()
	_, bin := releaseBinary(t)
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "config", "validate", "-c", path).CombinedOutput(); err != nil {
		t.Errorf("keyrot config validate of the chart's keyrot.yaml: %v\n%s\n%s", err, out, config)
	}
}

func keysOf(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
