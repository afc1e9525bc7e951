package kube_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/kube"
	"github.com/keyrot/keyrot/internal/kubetest"
	"github.com/keyrot/keyrot/internal/kubetest/standin"
	"github.com/keyrot/keyrot/internal/secretstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Stop()
	os.Exit(code)
}

// cluster is an API server and a namespace of the test's own.
type cluster struct {
	// cfg reaches the API server as a cluster administrator.
	cfg   *rest.Config
	admin kubernetes.Interface
	ns    string
	// user returns the configuration of a user with no permission
	// beyond what RBAC grants it.
	user func(t *testing.T, name string) *rest.Config
}

// realCluster is the real kube-apiserver of internal/kubetest
// (KEYROT_KUBE=1), with a new namespace.
func realCluster(t *testing.T) cluster {
	srv := kubetest.Shared(t)
	return cluster{
		cfg:   srv.Config(),
		admin: srv.Clientset(t),
		ns:    srv.Namespace(t, nil),
		user: func(t *testing.T, name string) *rest.Config {
			cfg, err := srv.UserConfig(name)
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		},
	}
}

// standinCluster is the local stand-in of internal/kubetest/standin,
// which needs no flag: the same tests run against it, so that it is
// checked against the real API server and CI runs them without one.
func standinCluster(t *testing.T) cluster {
	srv := standin.New()
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL, QPS: 100, Burst: 200, ContentConfig: rest.ContentConfig{ContentType: "application/json"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cluster{cfg: cfg, admin: cs, ns: "test"}
}

var ctx = context.Background()

func ref(t *testing.T, c cluster, secret string) deliver.Ref {
	t.Helper()
	r, err := deliver.ParseRef("kubernetes:test/" + c.ns + "/" + secret)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newDest(t *testing.T, r deliver.Ref, cfg *rest.Config, o kube.Options) *kube.Destination {
	t.Helper()
	d, err := kube.New(r, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret)}
}

func (c cluster) createSecret(t *testing.T, s *corev1.Secret) *corev1.Secret {
	t.Helper()
	s, err := c.admin.CoreV1().Secrets(c.ns).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (c cluster) getSecret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s, err := c.admin.CoreV1().Secrets(c.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func strData(s *corev1.Secret) map[string]string {
	m := map[string]string{}
	for k, v := range s.Data {
		m[k] = string(v)
	}
	return m
}

func current(t *testing.T, d *kube.Destination) string {
	t.Helper()
	id, err := d.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestKubeWriteReadBack(t *testing.T)    { testWriteReadBack(t, realCluster(t)) }
func TestStandinWriteReadBack(t *testing.T) { testWriteReadBack(t, standinCluster(t)) }

// testWriteReadBack: a Secret created with stringData (which the API
// server stores as data) is written, read back, kept apart from its other
// keys, and written again without an update.
func testWriteReadBack(t *testing.T, c cluster) {
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws"}, StringData: map[string]string{"region": "eu-west-1"}})
	d := newDest(t, ref(t, c, "aws"), c.cfg, kube.Options{})
	if id := current(t, d); id != "" {
		t.Errorf("Current before a write = %q", id)
	}
	if err := d.Write(ctx, key("AKIAFIRST", "first-secret")); err != nil {
		t.Fatal(err)
	}
	s := c.getSecret(t, "aws")
	want := map[string]string{"region": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIAFIRST", "AWS_SECRET_ACCESS_KEY": "first-secret"}
	if diff := cmp.Diff(want, strData(s)); diff != "" {
		t.Errorf("secret data (-want +got):\n%s", diff)
	}
	if id := current(t, d); id != "AKIAFIRST" {
		t.Errorf("Current = %q", id)
	}
	// The same key again: no update (the resourceVersion stays).
	if err := d.Write(ctx, key("AKIAFIRST", "first-secret")); err != nil {
		t.Fatal(err)
	}
	if again := c.getSecret(t, "aws"); again.ResourceVersion != s.ResourceVersion {
		t.Errorf("rewriting the same key updated the secret (resourceVersion %s -> %s)", s.ResourceVersion, again.ResourceVersion)
	}
	if err := d.Write(ctx, key("AKIASECOND", "second-secret")); err != nil {
		t.Fatal(err)
	}
	if id := current(t, d); id != "AKIASECOND" {
		t.Errorf("Current after the second key = %q", id)
	}
	if got := strData(c.getSecret(t, "aws")); got["AWS_SECRET_ACCESS_KEY"] != "second-secret" || got["region"] != "eu-west-1" {
		t.Errorf("after the second key: %v", got)
	}

	// A Secret whose key was put in by stringData is read from data: the
	// destination holds the key and writing it changes nothing.
	pre := c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pre"},
		StringData: map[string]string{"CI_ACCESS_KEY_ID": "AKIAPRE", "CI_SECRET_ACCESS_KEY": "pre-secret"}})
	named, err := deliver.ParseRef("kubernetes:test/" + c.ns + "/pre/CI_ACCESS_KEY_ID")
	if err != nil {
		t.Fatal(err)
	}
	dp := newDest(t, named, c.cfg, kube.Options{})
	if id := current(t, dp); id != "AKIAPRE" {
		t.Errorf("Current of a secret written with stringData = %q", id)
	}
	if err := dp.Write(ctx, key("AKIAPRE", "pre-secret")); err != nil {
		t.Fatal(err)
	}
	if again := c.getSecret(t, "pre"); again.ResourceVersion != pre.ResourceVersion {
		t.Errorf("writing the key the stringData put in updated the secret")
	}
}

func TestKubeMissingSecret(t *testing.T)    { testMissingSecret(t, realCluster(t)) }
func TestStandinMissingSecret(t *testing.T) { testMissingSecret(t, standinCluster(t)) }

// testMissingSecret: by default a missing Secret fails Check and Write
// with ErrNotFound and is not created; with CreateSecret, Write creates
// it and Check passes before.
func testMissingSecret(t *testing.T, c cluster) {
	d := newDest(t, ref(t, c, "absent"), c.cfg, kube.Options{})
	if err := d.Check(ctx); !errors.Is(err, deliver.ErrNotFound) || !strings.Contains(err.Error(), "create_secret") {
		t.Errorf("Check of a missing secret: %v", err)
	}
	if err := d.Write(ctx, key("AKIAX", "x-secret")); !errors.Is(err, deliver.ErrNotFound) {
		t.Errorf("Write to a missing secret: %v", err)
	}
	if _, err := c.admin.CoreV1().Secrets(c.ns).Get(ctx, "absent", metav1.GetOptions{}); err == nil {
		t.Error("Write created the secret without create_secret")
	}
	dc := newDest(t, ref(t, c, "absent"), c.cfg, kube.Options{CreateSecret: true})
	if err := dc.Check(ctx); err != nil {
		t.Errorf("Check with create_secret: %v", err)
	}
	if err := dc.Write(ctx, key("AKIAX", "x-secret")); err != nil {
		t.Fatal(err)
	}
	s := c.getSecret(t, "absent")
	if s.Type != corev1.SecretTypeOpaque || s.Labels["app.kubernetes.io/managed-by"] != "keyrot" || strData(s)["AWS_SECRET_ACCESS_KEY"] != "x-secret" {
		t.Errorf("created secret: type %s labels %v keys %d", s.Type, s.Labels, len(s.Data))
	}
	if id := current(t, d); id != "AKIAX" {
		t.Errorf("Current = %q", id)
	}
}

// conflictTransport makes another writer change the Secret just before
// each of the first n updates keyrot sends (PUT .../secrets/NAME), so
// that the update carries a stale resourceVersion; it counts the PUTs and
// the 409 answers.
type conflictTransport struct {
	rt        http.RoundTripper
	interfere func(i int)
	n         int
	mu        sync.Mutex
	puts      int
	conflicts atomic.Int32
}

func (c *conflictTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/secrets/") {
		c.mu.Lock()
		c.puts++
		i := c.puts
		c.mu.Unlock()
		if c.n < 0 || i <= c.n {
			c.interfere(i)
		}
	}
	resp, err := c.rt.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusConflict {
		c.conflicts.Add(1)
	}
	return resp, err
}

func TestKubeConflictRetried(t *testing.T)    { testConflictRetried(t, realCluster(t)) }
func TestStandinConflictRetried(t *testing.T) { testConflictRetried(t, standinCluster(t)) }

// testConflictRetried: another writer updates the Secret between keyrot's
// get and update, twice; the API server answers 409 Conflict to the
// stale resourceVersion, keyrot reads again and converges with both
// writers' changes kept. When the other writer never stops, Write gives
// up with ErrConflict after MaxAttempts updates.
func testConflictRetried(t *testing.T, c cluster) {
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "busy"}, Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAOLD"), "AWS_SECRET_ACCESS_KEY": []byte("old")}})
	interfere := func(t *testing.T) func(int) {
		return func(i int) {
			s := c.getSecret(t, "busy")
			s.Data["other-writer"] = []byte(time.Duration(i).String())
			if _, err := c.admin.CoreV1().Secrets(c.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				t.Errorf("the other writer's update: %v", err)
			}
		}
	}
	ct := &conflictTransport{n: 2, interfere: interfere(t)}
	cfg := rest.CopyConfig(c.cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct.rt = rt; return ct }
	d := newDest(t, ref(t, c, "busy"), cfg, kube.Options{})
	if err := d.Write(ctx, key("AKIANEW", "new-secret")); err != nil {
		t.Fatalf("write with two concurrent changes: %v", err)
	}
	if ct.puts != 3 || ct.conflicts.Load() != 2 {
		t.Errorf("%d updates and %d conflicts, want 3 and 2", ct.puts, ct.conflicts.Load())
	}
	got := strData(c.getSecret(t, "busy"))
	if got["AWS_ACCESS_KEY_ID"] != "AKIANEW" || got["AWS_SECRET_ACCESS_KEY"] != "new-secret" || got["other-writer"] != time.Duration(2).String() {
		t.Errorf("after the retries: %v", got)
	}

	ct2 := &conflictTransport{n: -1, interfere: interfere(t)}
	cfg2 := rest.CopyConfig(c.cfg)
	cfg2.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct2.rt = rt; return ct2 }
	d2 := newDest(t, ref(t, c, "busy"), cfg2, kube.Options{})
	err := d2.Write(ctx, key("AKIANEWER", "newer-secret"))
	if !errors.Is(err, deliver.ErrConflict) || ct2.puts != kube.MaxAttempts || int(ct2.conflicts.Load()) != kube.MaxAttempts {
		t.Errorf("a writer that never stops: %v after %d updates and %d conflicts, want ErrConflict after %d", err, ct2.puts, ct2.conflicts.Load(), kube.MaxAttempts)
	}
	if err != nil && strings.Contains(err.Error(), "newer-secret") {
		t.Errorf("the error holds the secret: %v", err)
	}
	if got := strData(c.getSecret(t, "busy")); got["AWS_ACCESS_KEY_ID"] != "AKIANEW" {
		t.Errorf("a refused write changed the key to %q", got["AWS_ACCESS_KEY_ID"])
	}
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.k8s.io/pause:3.10",
					EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "aws"}}}},
				}}},
			},
		},
	}
}

func (c cluster) createDeployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := c.admin.AppsV1().Deployments(c.ns).Create(ctx, deployment(name), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c cluster) getDeployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := c.admin.AppsV1().Deployments(c.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestKubeRolloutRestart(t *testing.T)    { testRolloutRestart(t, realCluster(t)) }
func TestStandinRolloutRestart(t *testing.T) { testRolloutRestart(t, standinCluster(t)) }

// testRolloutRestart: after a write that changes the key, the named
// Deployment's pod template gets kubectl's restartedAt annotation (a new
// generation: its pods roll) and the key ID; a Deployment not named is
// untouched; the same key again restarts nothing; Current names the key
// only once the Deployment was restarted for it.
func testRolloutRestart(t *testing.T, c cluster) {
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws"}})
	api := c.createDeployment(t, "api")
	other := c.createDeployment(t, "other")
	now := time.Date(2026, 11, 29, 22, 30, 0, 0, time.UTC)
	d := newDest(t, ref(t, c, "aws"), c.cfg, kube.Options{RestartDeployments: []string{"api"}, Now: func() time.Time { return now }})
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := d.Write(ctx, key("AKIAONE", "one-secret")); err != nil {
		t.Fatal(err)
	}
	got := c.getDeployment(t, "api")
	if a := got.Spec.Template.Annotations; a[kube.AnnotationRestartedAt] != "2026-11-29T22:30:00Z" || a[kube.AnnotationAccessKeyID] != "AKIAONE" {
		t.Errorf("pod template annotations %v", a)
	}
	if got.Generation <= api.Generation {
		t.Errorf("generation %d -> %d: the pod template did not change", api.Generation, got.Generation)
	}
	if o := c.getDeployment(t, "other"); o.ResourceVersion != other.ResourceVersion {
		t.Error("a Deployment not named was changed")
	}
	if id := current(t, d); id != "AKIAONE" {
		t.Errorf("Current = %q", id)
	}
	now = now.Add(time.Hour)
	if err := d.Write(ctx, key("AKIAONE", "one-secret")); err != nil {
		t.Fatal(err)
	}
	if again := c.getDeployment(t, "api"); again.ResourceVersion != got.ResourceVersion {
		t.Error("writing the same key restarted the Deployment again")
	}
	// The Secret gets a new key but the restart has not happened (a run
	// stopped in between): Current does not claim the key, and the next
	// write, with nothing to change in the Secret, restarts.
	s := c.getSecret(t, "aws")
	s.Data = map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIATWO"), "AWS_SECRET_ACCESS_KEY": []byte("two-secret")}
	if _, err := c.admin.CoreV1().Secrets(c.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if id := current(t, d); id != "" {
		t.Errorf("Current before the restart = %q, want none", id)
	}
	if err := d.Write(ctx, key("AKIATWO", "two-secret")); err != nil {
		t.Fatal(err)
	}
	if a := c.getDeployment(t, "api").Spec.Template.Annotations; a[kube.AnnotationRestartedAt] != "2026-11-29T23:30:00Z" || a[kube.AnnotationAccessKeyID] != "AKIATWO" {
		t.Errorf("after the rerun: %v", a)
	}
	if id := current(t, d); id != "AKIATWO" {
		t.Errorf("Current after the restart = %q", id)
	}

	// A Deployment that does not exist: the Secret is written, the
	// restart fails with ErrNotFound, and Check says so before.
	dm := newDest(t, ref(t, c, "aws"), c.cfg, kube.Options{RestartDeployments: []string{"gone"}})
	if err := dm.Check(ctx); !errors.Is(err, deliver.ErrNotFound) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("Check with a missing Deployment: %v", err)
	}
	if err := dm.Write(ctx, key("AKIATHREE", "three-secret")); !errors.Is(err, deliver.ErrNotFound) {
		t.Errorf("Write with a missing Deployment: %v", err)
	}
}

// docsRBAC returns the Role and RoleBinding docs/delivery.md shows, moved
// to namespace ns.
func docsRBAC(t *testing.T, ns string) (*rbacv1.Role, *rbacv1.RoleBinding) {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/delivery.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		block = block[:strings.Index(block, "```")]
		if !strings.Contains(block, "kind: Role\n") {
			continue
		}
		parts := strings.Split(block, "\n---\n")
		if len(parts) != 2 {
			t.Fatalf("the Role block of docs/delivery.md has %d documents, want a Role and a RoleBinding", len(parts))
		}
		var role rbacv1.Role
		var binding rbacv1.RoleBinding
		if err := sigsyaml.UnmarshalStrict([]byte(parts[0]), &role); err != nil {
			t.Fatalf("docs/delivery.md Role: %v", err)
		}
		if err := sigsyaml.UnmarshalStrict([]byte(parts[1]), &binding); err != nil {
			t.Fatalf("docs/delivery.md RoleBinding: %v", err)
		}
		role.Namespace, binding.Namespace = ns, ns
		return &role, &binding
	}
	t.Fatal("docs/delivery.md shows no Role")
	return nil, nil
}

// TestKubeRBAC creates the Role and RoleBinding docs/delivery.md shows
// (limited by resourceNames to Secret aws-deploy and Deployments api and
// worker, bound to ServiceAccount keyrot/keyrot) and acts as that service
// account: that destination checks, writes and restarts; another Secret
// in the same namespace is Forbidden, which Check reports as
// ErrUnauthorized from a SelfSubjectAccessReview and Write from the API's
// 403.
func TestKubeRBAC(t *testing.T) {
	c := realCluster(t)
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-deploy"}})
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-other"}, Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAKEEP")}})
	c.createDeployment(t, "api")
	role, binding := docsRBAC(t, c.ns)
	if _, err := c.admin.RbacV1().Roles(c.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.RbacV1().RoleBindings(c.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server names a service account's requests so.
	user := c.user(t, "system:serviceaccount:keyrot:keyrot")
	opts := kube.Options{RestartDeployments: []string{"api"}}

	ok := newDest(t, ref(t, c, "aws-deploy"), user, opts)
	if err := ok.Check(ctx); err != nil {
		t.Errorf("Check of the Role's secret: %v", err)
	}
	if err := ok.Write(ctx, key("AKIAGOOD", "good-secret")); err != nil {
		t.Errorf("Write to the Role's secret: %v", err)
	}
	if id := current(t, ok); id != "AKIAGOOD" {
		t.Errorf("Current = %q", id)
	}

	denied := newDest(t, ref(t, c, "aws-other"), user, opts)
	err := denied.Check(ctx)
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "get secrets/aws-other, update secrets/aws-other") {
		t.Errorf("Check of another secret: %v, want ErrUnauthorized naming get and update", err)
	}
	err = denied.Write(ctx, key("AKIABAD", "bad-secret"))
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "forbidden") || strings.Contains(err.Error(), "bad-secret") {
		t.Errorf("Write to another secret: %v, want the API's Forbidden", err)
	}
	if got := strData(c.getSecret(t, "aws-other")); got["AWS_ACCESS_KEY_ID"] != "AKIAKEEP" {
		t.Errorf("the other secret changed: %v", got)
	}
	// create_secret needs create on secrets in the namespace, which a
	// Role cannot limit by name: Check says it is missing.
	create := newDest(t, ref(t, c, "aws-deploy"), user, kube.Options{CreateSecret: true})
	if err := create.Check(ctx); !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "create secrets") {
		t.Errorf("Check with create_secret: %v", err)
	}
}

func TestKubeCheckImmutable(t *testing.T)    { testCheckImmutable(t, realCluster(t)) }
func TestStandinCheckImmutable(t *testing.T) { testCheckImmutable(t, standinCluster(t)) }

func testCheckImmutable(t *testing.T, c cluster) {
	yes := true
	c.createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "frozen"}, Immutable: &yes})
	d := newDest(t, ref(t, c, "frozen"), c.cfg, kube.Options{})
	if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("Check of an immutable secret: %v", err)
	}
	if err := d.Write(ctx, key("AKIAX", "x-secret")); err == nil {
		t.Error("Write to an immutable secret succeeded")
	}
}

// TestStandinCheckDenied: a permission the stand-in's access review
// denies is reported by Check as ErrUnauthorized, naming it.
func TestStandinCheckDenied(t *testing.T) {
	srv := standin.New()
	defer srv.Close()
	srv.Allow = func(a standin.Attributes) bool { return !(a.Verb == "patch" && a.Resource == "deployments") }
	c := cluster{cfg: &rest.Config{Host: srv.URL}, ns: "test"}
	d := newDest(t, ref(t, c, "aws"), c.cfg, kube.Options{RestartDeployments: []string{"api"}})
	if err := d.Check(ctx); !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "may not patch deployments.apps/api in namespace test") {
		t.Errorf("Check: %v", err)
	}
}
