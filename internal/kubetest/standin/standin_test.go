package standin_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/keyrot/keyrot/internal/kubetest"
	"github.com/keyrot/keyrot/internal/kubetest/standin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Stop()
	os.Exit(code)
}

// doer sends one raw request and returns the status code and the decoded
// JSON body.
type doer func(t *testing.T, method, path, contentType string, body any) (int, map[string]any)

func httpDoer(base string, hc *http.Client) doer {
	return func(t *testing.T, method, path, contentType string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
		}
		return resp.StatusCode, out
	}
}

func TestStandinProtocol(t *testing.T) {
	srv := standin.New()
	defer srv.Close()
	exchange(t, httpDoer(srv.URL, http.DefaultClient), "test")
}

// TestRealProtocol runs the same exchange against a real kube-apiserver
// (KEYROT_KUBE=1): what the stand-in is checked for is what the API server
// does.
func TestRealProtocol(t *testing.T) {
	srv := kubetest.Shared(t)
	hc, err := rest.HTTPClientFor(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, httpDoer(srv.URL, hc), srv.Namespace(t, nil))
}

func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// exchange is the sequence of calls keyrot's kubernetes destination makes
// and the answers it relies on, checked field by field.
func exchange(t *testing.T, do doer, ns string) {
	const js = "application/json"
	secrets := "/api/v1/namespaces/" + ns + "/secrets"
	status := func(what string, code int, body map[string]any, wantCode int, reason, msg, name, kind string) {
		t.Helper()
		if code != wantCode || body["kind"] != "Status" || body["status"] != "Failure" || body["reason"] != reason ||
			body["code"] != float64(wantCode) || (msg != "" && body["message"] != msg) ||
			get(body, "details", "name") != name || get(body, "details", "kind") != kind {
			t.Errorf("%s: %d %v, want a %d %s Status for %s %q saying %q", what, code, body, wantCode, reason, kind, name, msg)
		}
	}

	// Create with stringData: stored as data, stringData not kept.
	code, s := do(t, "POST", secrets, js, map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s"}, "stringData": map[string]any{"a": "x"}})
	if code != http.StatusCreated || get(s, "data", "a") != b64("x") || s["stringData"] != nil || s["type"] != "Opaque" ||
		get(s, "metadata", "resourceVersion") == "" || get(s, "metadata", "namespace") != ns {
		t.Fatalf("create: %d %v", code, s)
	}
	rv1 := get(s, "metadata", "resourceVersion")
	code, body := do(t, "POST", secrets, js, map[string]any{"metadata": map[string]any{"name": "s"}})
	status("create again", code, body, http.StatusConflict, "AlreadyExists", `secrets "s" already exists`, "s", "secrets")

	code, body = do(t, "GET", secrets+"/missing", "", nil)
	status("get missing", code, body, http.StatusNotFound, "NotFound", `secrets "missing" not found`, "missing", "secrets")
	code, body = do(t, "PUT", secrets+"/missing", js, map[string]any{"metadata": map[string]any{"name": "missing", "resourceVersion": rv1}})
	status("update missing", code, body, http.StatusNotFound, "NotFound", `secrets "missing" not found`, "missing", "secrets")

	// Update with the version read; stringData merged over data.
	code, s = do(t, "PUT", secrets+"/s", js, map[string]any{"metadata": map[string]any{"name": "s", "resourceVersion": rv1},
		"data": map[string]any{"a": b64("y"), "b": b64("z")}, "stringData": map[string]any{"b": "w"}})
	rv2 := get(s, "metadata", "resourceVersion")
	if code != http.StatusOK || get(s, "data", "a") != b64("y") || get(s, "data", "b") != b64("w") || s["stringData"] != nil || rv2 == rv1 {
		t.Errorf("update: %d %v", code, s)
	}
	// The version read before that update is stale now.
	code, body = do(t, "PUT", secrets+"/s", js, map[string]any{"metadata": map[string]any{"name": "s", "resourceVersion": rv1},
		"data": map[string]any{"a": b64("stale")}})
	status("stale update", code, body, http.StatusConflict, "Conflict",
		`Operation cannot be fulfilled on secrets "s": the object has been modified; please apply your changes to the latest version and try again`, "s", "secrets")
	// The same content again keeps the resourceVersion.
	code, s = do(t, "PUT", secrets+"/s", js, map[string]any{"metadata": map[string]any{"name": "s", "resourceVersion": rv2},
		"type": "Opaque", "data": map[string]any{"a": b64("y"), "b": b64("w")}})
	if code != http.StatusOK || get(s, "metadata", "resourceVersion") != rv2 {
		t.Errorf("no-op update: %d, resourceVersion %v, want %v", code, get(s, "metadata", "resourceVersion"), rv2)
	}
	code, s = do(t, "GET", secrets+"/s", "", nil)
	if code != http.StatusOK || get(s, "data", "a") != b64("y") || get(s, "metadata", "resourceVersion") != rv2 {
		t.Errorf("get: %d %v", code, s)
	}

	// An immutable Secret's data cannot change.
	code, _ = do(t, "POST", secrets, js, map[string]any{"metadata": map[string]any{"name": "frozen"}, "immutable": true, "data": map[string]any{"a": b64("x")}})
	if code != http.StatusCreated {
		t.Fatalf("create immutable: %d", code)
	}
	code, body = do(t, "PUT", secrets+"/frozen", js, map[string]any{"metadata": map[string]any{"name": "frozen"}, "immutable": true, "data": map[string]any{"a": b64("y")}})
	if code != http.StatusUnprocessableEntity || body["reason"] != "Invalid" || get(body, "details", "name") != "frozen" {
		t.Errorf("update immutable: %d %v", code, body)
	}

	// A Deployment: a strategic merge patch of pod template annotations
	// bumps the generation; the same patch again changes nothing.
	deps := "/apis/apps/v1/namespaces/" + ns + "/deployments"
	labels := map[string]any{"app": "api"}
	code, d := do(t, "POST", deps, js, map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "api"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": labels}, "template": map[string]any{
			"metadata": map[string]any{"labels": labels},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.k8s.io/pause:3.10"}}},
		}}})
	if code != http.StatusCreated || get(d, "metadata", "generation") != float64(1) {
		t.Fatalf("create deployment: %d %v", code, d)
	}
	patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		"kubectl.kubernetes.io/restartedAt": "2026-11-29T22:30:00Z"}}}}}
	code, d = do(t, "PATCH", deps+"/api", "application/strategic-merge-patch+json", patch)
	if code != http.StatusOK || get(d, "metadata", "generation") != float64(2) ||
		get(d, "spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt") != "2026-11-29T22:30:00Z" ||
		get(d, "spec", "template", "metadata", "labels", "app") != "api" {
		t.Errorf("patch: %d %v", code, d)
	}
	rv := get(d, "metadata", "resourceVersion")
	code, d = do(t, "PATCH", deps+"/api", "application/strategic-merge-patch+json", patch)
	if code != http.StatusOK || get(d, "metadata", "generation") != float64(2) || get(d, "metadata", "resourceVersion") != rv {
		t.Errorf("same patch again: %d generation %v resourceVersion %v (was %v)", code, get(d, "metadata", "generation"), get(d, "metadata", "resourceVersion"), rv)
	}
	code, body = do(t, "PATCH", deps+"/gone", "application/strategic-merge-patch+json", patch)
	status("patch missing", code, body, http.StatusNotFound, "NotFound", `deployments.apps "gone" not found`, "gone", "deployments")
	if get(body, "details", "group") != "apps" {
		t.Errorf("patch missing: details %v, want group apps", body["details"])
	}

	// An access review answers about the attributes asked.
	code, rev := do(t, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", js, map[string]any{
		"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"namespace": ns, "verb": "update", "resource": "secrets", "name": "s"}}})
	if code != http.StatusCreated || get(rev, "status", "allowed") != true || get(rev, "spec", "resourceAttributes", "name") != "s" {
		t.Errorf("access review: %d %v", code, rev)
	}
}
