package standin_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/kubetest/standin"
)

// FuzzRequest sends arbitrary bodies to every write the stand-in serves,
// on top of a stored Secret and Deployment: it never panics, and every
// answer is a JSON object, a Status for every failure.
func FuzzRequest(f *testing.F) {
	f.Add(uint8(0), `{"metadata":{"name":"s"},"stringData":{"a":"x"}}`)
	f.Add(uint8(1), `{"metadata":{"name":"s","resourceVersion":"1"},"data":{"a":"eA=="}}`)
	f.Add(uint8(2), `{"spec":{"template":{"metadata":{"annotations":{"a":"b"}}}}}`)
	f.Add(uint8(3), `{"metadata":null}`)
	f.Add(uint8(4), `{"spec":{"resourceAttributes":{"verb":"get"}}}`)
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		srv := standin.New()
		defer srv.Close()
		send := func(method, path, ct, body string) {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %s: %d, not a JSON object: %q", method, path, rec.Code, rec.Body.String())
			}
			if rec.Code >= 400 && (out["kind"] != "Status" || out["code"] != float64(rec.Code)) {
				t.Fatalf("%s %s: %d without a Status: %v", method, path, rec.Code, out)
			}
		}
		send("POST", "/api/v1/namespaces/n/secrets", "application/json", `{"metadata":{"name":"s"},"data":{"a":"eA=="}}`)
		send("POST", "/apis/apps/v1/namespaces/n/deployments", "application/json", `{"metadata":{"name":"d"},"spec":{"replicas":1}}`)
		switch op % 5 {
		case 0:
			send("POST", "/api/v1/namespaces/n/secrets", "application/json", body)
		case 1:
			send("PUT", "/api/v1/namespaces/n/secrets/s", "application/json", body)
		case 2:
			send("PATCH", "/apis/apps/v1/namespaces/n/deployments/d", "application/strategic-merge-patch+json", body)
		case 3:
			send("PATCH", "/api/v1/namespaces/n/secrets/s", "application/merge-patch+json", body)
		case 4:
			send("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "application/json", body)
		}
		send("GET", "/api/v1/namespaces/n/secrets/s", "", "")
		send("GET", "/apis/apps/v1/namespaces/n/deployments/d", "", "")
	})
}
