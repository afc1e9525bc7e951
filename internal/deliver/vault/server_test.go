package vault_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeVault implements the Vault HTTP API that the destination uses, as
// documented:
//   - KV v2 read and create/update:
//     https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2
//     GET /v1/:mount/data/:path returns {"data":{"data":{...},"metadata":
//     {"created_time","custom_metadata","deletion_time","destroyed",
//     "version"}}}; 404 with {"errors":[]} when there is no version, and
//     404 with data null and the metadata when the latest version is
//     deleted. POST /v1/:mount/data/:path takes {"options":{"cas":N},
//     "data":{...}}: with cas 0 the write succeeds only if the key does
//     not exist, with cas N only if the current version is N, else 400
//     "check-and-set parameter did not match the current version".
//   - POST /v1/sys/capabilities-self:
//     https://developer.hashicorp.com/vault/api-docs/system/capabilities-self
//   - GET /v1/sys/internal/ui/mounts/:path, what the vault CLI asks
//     before kv commands: {"data":{"path":"secret/","type":"kv",
//     "options":{"version":"2"}}}; for a path no engine is mounted at it
//     answers an error (this server: 403, which the destination, like the
//     vault CLI, treats as "cannot tell"). sys/internal/ui/mounts is in
//     Vault's default policy.
//   - A token Vault does not know: 403 {"errors":["permission denied"]};
//     a path no engine is mounted at: 404 "no handler for route".
//     https://developer.hashicorp.com/vault/api-docs#http-status-codes
type fakeVault struct {
	mu     sync.Mutex
	mounts map[string]bool
	// kvVersion is each mount's KV version ("2" when absent).
	kvVersion map[string]string
	tokens    map[string]map[string][]string // token -> path -> capabilities
	secrets   map[string]*kvSecret           // mount/path
	// beforeWrite, when set, runs before each write is applied (a
	// concurrent writer).
	beforeWrite func(s *kvSecret)
	writes      int
}

type kvSecret struct {
	versions []map[string]any // index version-1
	deleted  bool             // the latest version is deleted
}

func (s *kvSecret) put(data map[string]any) { s.versions = append(s.versions, data); s.deleted = false }

func newFakeVault(t *testing.T) (*fakeVault, *httptest.Server) {
	f := &fakeVault{mounts: map[string]bool{}, kvVersion: map[string]string{}, tokens: map[string]map[string][]string{}, secrets: map[string]*kvSecret{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeVault) secret(p string) *kvSecret {
	s := f.secrets[p]
	if s == nil {
		s = &kvSecret{}
		f.secrets[p] = s
	}
	return s
}

func vaultJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func vaultErrors(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	vaultJSON(w, status, map[string]any{"errors": errs})
}

func (f *fakeVault) caps(token, path string) []string {
	pol := f.tokens[token]
	if c, ok := pol[path]; ok {
		return c
	}
	if c, ok := pol["*"]; ok {
		return c
	}
	return []string{"deny"}
}

func allowed(caps []string, want string) bool {
	for _, c := range caps {
		if c == want || c == "root" {
			return true
		}
	}
	return false
}

func metadata(version int, deleted bool) map[string]any {
	del := ""
	if deleted {
		del = "2026-11-29T12:00:00Z"
	}
	return map[string]any{"created_time": "2026-11-29T11:00:00Z", "custom_metadata": nil, "deletion_time": del, "destroyed": false, "version": version}
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	token := r.Header.Get("X-Vault-Token")
	if token == "" {
		vaultErrors(w, http.StatusBadRequest, "missing client token")
		return
	}
	if _, ok := f.tokens[token]; !ok {
		vaultErrors(w, http.StatusForbidden, "permission denied")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	if p == "sys/capabilities-self" && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		var body struct {
			Path  string   `json:"path"`
			Paths []string `json:"paths"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c := f.caps(token, body.Path)
		vaultJSON(w, http.StatusOK, map[string]any{"capabilities": c, body.Path: c, "data": map[string]any{"capabilities": c, body.Path: c}})
		return
	}
	if ui, ok := strings.CutPrefix(p, "sys/internal/ui/mounts/"); ok && r.Method == http.MethodGet {
		m, _, _ := strings.Cut(ui, "/")
		if !f.mounts[m] {
			vaultErrors(w, http.StatusForbidden, "preflight capability check returned 403, please ensure client's policies grant access to path \""+ui+"/\"")
			return
		}
		v := f.kvVersion[m]
		if v == "" {
			v = "2"
		}
		vaultJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"path": m + "/", "type": "kv", "options": map[string]any{"version": v}}})
		return
	}
	mount, rest, _ := strings.Cut(p, "/")
	sub, path, _ := strings.Cut(rest, "/")
	if !f.mounts[mount] || sub != "data" || path == "" {
		vaultErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	c := f.caps(token, p)
	s := f.secret(mount + "/" + path)
	switch r.Method {
	case http.MethodGet:
		if !allowed(c, "read") {
			vaultErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
			return
		}
		n := len(s.versions)
		switch {
		case n == 0:
			vaultErrors(w, http.StatusNotFound)
		case s.deleted:
			vaultJSON(w, http.StatusNotFound, map[string]any{"data": map[string]any{"data": nil, "metadata": metadata(n, true)}})
		default:
			vaultJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"data": s.versions[n-1], "metadata": metadata(n, false)}})
		}
	case http.MethodPost, http.MethodPut:
		need := "update"
		if len(s.versions) == 0 {
			need = "create"
		}
		if !allowed(c, need) {
			vaultErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
			return
		}
		var body struct {
			Options map[string]any `json:"options"`
			Data    map[string]any `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data == nil {
			vaultErrors(w, http.StatusBadRequest, "no data provided")
			return
		}
		f.writes++
		if f.beforeWrite != nil {
			f.beforeWrite(s)
		}
		if cas, ok := body.Options["cas"]; ok {
			n, _ := cas.(float64)
			if int(n) != len(s.versions) {
				vaultErrors(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
				return
			}
		}
		s.put(body.Data)
		vaultJSON(w, http.StatusOK, map[string]any{"data": metadata(len(s.versions), false), "request_id": fmt.Sprint(time.Now().UnixNano())})
	default:
		vaultErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}
