package kube

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

func mustRef(t testing.TB, s string) deliver.Ref {
	t.Helper()
	r, err := deliver.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret)}
}

func TestMerge(t *testing.T) {
	def := mustRef(t, "kubernetes:prod/ci/aws")
	named := mustRef(t, "kubernetes:prod/ci/aws/CI_ACCESS_KEY_ID")
	k := key("AKIANEW", "new-secret")
	tests := []struct {
		name        string
		ref         deliver.Ref
		data        map[string][]byte
		want        map[string][]byte
		wantChanged bool
	}{
		{"empty secret", def, nil,
			map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("new-secret")}, true},
		{"other keys kept", def, map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAOLD"), "AWS_SECRET_ACCESS_KEY": []byte("old"), "region": []byte("eu-west-1")},
			map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("new-secret"), "region": []byte("eu-west-1")}, true},
		{"already held", def, map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("new-secret")},
			map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("new-secret")}, false},
		{"same ID, other secret", def, map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("stale")},
			map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIANEW"), "AWS_SECRET_ACCESS_KEY": []byte("new-secret")}, true},
		{"named keys", named, map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAOTHER")},
			map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAOTHER"), "CI_ACCESS_KEY_ID": []byte("AKIANEW"), "CI_SECRET_ACCESS_KEY": []byte("new-secret")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string][]byte
			if tt.data != nil {
				before = map[string][]byte{}
				for k, v := range tt.data {
					before[k] = append([]byte(nil), v...)
				}
			}
			got, changed := merge(tt.data, tt.ref, k)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("merge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.data); diff != "" {
				t.Errorf("merge modified its input:\n%s", diff)
			}
			if id := heldKey(got, tt.ref); id != "AKIANEW" {
				t.Errorf("heldKey after merge = %q", id)
			}
		})
	}
	if id := heldKey(map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("AKIAX")}, def); id != "" {
		t.Errorf("an ID without its secret is held as %q", id)
	}
}

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	tests := []struct {
		name string
		err  error
		want error
		says string
	}{
		{"404", apierrors.NewNotFound(gr, "aws"), deliver.ErrNotFound, `secrets "aws" not found`},
		{"403", apierrors.NewForbidden(gr, "aws", errors.New(`User "bob" cannot get resource "secrets"`)), deliver.ErrUnauthorized, "resourceNames"},
		{"401", apierrors.NewUnauthorized("Unauthorized"), deliver.ErrUnauthorized, "expired or invalid"},
		{"409", apierrors.NewConflict(gr, "aws", errors.New("the object has been modified")), deliver.ErrConflict, "modified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if !errors.Is(got, tt.want) || !strings.Contains(got.Error(), tt.says) {
				t.Errorf("classify = %v, want %v saying %q", got, tt.want, tt.says)
			}
		})
	}
	other := apierrors.NewInternalError(errors.New("etcd is down"))
	if got := classify(other); got != other {
		t.Errorf("a 500 became %v", got)
	}
}

func TestRestartPatch(t *testing.T) {
	now := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	var got map[string]any
	if err := json.Unmarshal(restartPatch(now, "AKIANEW"), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		"kubectl.kubernetes.io/restartedAt": "2026-11-29T22:00:00Z",
		"keyrot.io/access-key-id":           "AKIANEW",
	}}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
}

func TestNeeds(t *testing.T) {
	d := &Destination{ref: mustRef(t, "kubernetes:prod/ci/aws"), opts: Options{CreateSecret: true, RestartDeployments: []string{"api"}}}
	var got []string
	for _, a := range d.needs() {
		got = append(got, a.String())
	}
	want := []string{"get secrets/aws", "update secrets/aws", "create secrets", "get deployments.apps/api", "patch deployments.apps/api"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
}

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com:6443
- name: dev
  cluster:
    server: https://dev.example.com:6443
users:
- name: ci
  user:
    token: kubeconfig-bearer-token
contexts:
- name: prod
  context: {cluster: prod, user: ci}
- name: dev
  context: {cluster: dev, user: ci}
current-context: dev
`

// TestRESTConfig reads the reference's context, not the kubeconfig's
// current one, from KUBECONFIG or ~/.kube/config; a missing context or
// file is an unauthorized open error that names the reference and no
// token.
func TestRESTConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	if err := os.WriteFile(file, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "KUBECONFIG" {
				return v
			}
			return ""
		}
	}
	cfg, err := RESTConfig(mustRef(t, "kubernetes:prod/ci/aws"), env(filepath.Join(dir, "missing")+string(filepath.ListSeparator)+file), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://prod.example.com:6443" || cfg.BearerToken != "kubeconfig-bearer-token" {
		t.Errorf("host %q, token set %v", cfg.Host, cfg.BearerToken != "")
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".kube", "config"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := RESTConfig(mustRef(t, "kubernetes:dev/ci/aws"), env(""), home); err != nil || cfg.Host != "https://dev.example.com:6443" {
		t.Errorf("from ~/.kube/config: %v, %v", cfg, err)
	}
	for _, tt := range []struct{ ref, kubeconfig, says string }{
		{"kubernetes:staging/ci/aws", file, `context "staging" is not in the kubeconfig`},
		{"kubernetes:prod/ci/aws", filepath.Join(dir, "missing"), `context "prod" is not in the kubeconfig`},
	} {
		_, err := RESTConfig(mustRef(t, tt.ref), env(tt.kubeconfig), "")
		var de *deliver.Error
		if !errors.As(err, &de) || !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), tt.ref) {
			t.Errorf("%s: %v, want an unauthorized open error saying %q", tt.ref, err, tt.says)
		}
		if err != nil && strings.Contains(err.Error(), "kubeconfig-bearer-token") {
			t.Errorf("the token leaked: %v", err)
		}
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := RESTConfig(mustRef(t, "kubernetes:in-cluster/ci/aws"), env(file), ""); !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "in-cluster") {
		t.Errorf("in-cluster outside a pod: %v", err)
	}
}
