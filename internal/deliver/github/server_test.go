package github_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// fakeGitHub implements the parts of GitHub's REST API that the destination
// uses, as documented:
//   - Actions secrets: https://docs.github.com/en/rest/actions/secrets
//     (get a repository/organization/environment public key, get and
//     create or update a secret: PUT with encrypted_value and key_id,
//     201 when created, 204 when updated; an organization secret needs
//     visibility; environment secrets addressed by repository ID as
//     /repositories/{repository_id}/environments/{environment_name}/...)
//   - Actions variables: https://docs.github.com/en/rest/actions/variables
//     (GET returns name, value, created_at, updated_at; POST creates, 201,
//     409 when the name exists; PATCH updates, 204)
//   - Repositories: https://docs.github.com/en/rest/repos/repos#get-a-repository
//   - Errors: 401 {"message":"Bad credentials"}, 404 {"message":"Not Found"},
//     https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
//
// Secrets are stored decrypted: the server opens each sealed box with the
// scope's private key, as GitHub does, so a test reads what a workflow
// would get.
type fakeGitHub struct {
	t     *testing.T
	token string

	mu     sync.Mutex
	repos  map[string]int64 // owner/repo -> ID
	envs   map[string]bool  // owner/repo/env
	orgs   map[string]bool
	scopes map[string]*scope
	calls  []string // "METHOD path"
}

type scope struct {
	pub, priv  *[32]byte
	keyID      string
	secrets    map[string]string // name -> decrypted value
	visibility map[string]string // organization secrets
	vars       map[string]string
}

func newFakeGitHub(t *testing.T, token string) (*fakeGitHub, *httptest.Server) {
	f := &fakeGitHub{t: t, token: token, repos: map[string]int64{}, envs: map[string]bool{}, orgs: map[string]bool{}, scopes: map[string]*scope{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGitHub) addRepo(owner, repo string, envs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repos[owner+"/"+repo] = int64(1000 + len(f.repos))
	for _, e := range envs {
		f.envs[owner+"/"+repo+"/"+e] = true
	}
}

func (f *fakeGitHub) scope(key string) *scope {
	s := f.scopes[key]
	if s == nil {
		pub, priv, err := box.GenerateKey(rand.Reader)
		if err != nil {
			f.t.Fatal(err)
		}
		s = &scope{pub: pub, priv: priv, keyID: fmt.Sprintf("568250167242549%03d", len(f.scopes)),
			secrets: map[string]string{}, visibility: map[string]string{}, vars: map[string]string{}}
		f.scopes[key] = s
	}
	return s
}

// secret returns the decrypted secret name in scope key ("" if absent).
func (f *fakeGitHub) secret(key, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scope(key).secrets[name]
}

func (f *fakeGitHub) variable(key, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scope(key).vars[name]
}

func (f *fakeGitHub) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if len(c) > len(method) && c[:len(method)+1] == method+" " {
			n++
		}
	}
	return n
}

var (
	repoRE       = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)$`)
	repoScopeRE  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/actions/(secrets|variables)(?:/([^/]+))?$`)
	orgScopeRE   = regexp.MustCompile(`^/orgs/([^/]+)/actions/(secrets|variables)(?:/([^/]+))?$`)
	envSecretRE  = regexp.MustCompile(`^/repositories/(\d+)/environments/([^/]+)/(secrets)(?:/([^/]+))?$`)
	envVarRE     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/environments/([^/]+)/(variables)(?:/([^/]+))?$`)
	ghNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	timestampNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ghError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	p := r.URL.Path
	if m := repoRE.FindStringSubmatch(p); m != nil && r.Method == http.MethodGet {
		id, ok := f.repos[m[1]+"/"+m[2]]
		if !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": m[2], "full_name": m[1] + "/" + m[2]})
		return
	}
	var key, kind, name string
	org := false
	switch {
	case repoScopeRE.MatchString(p):
		m := repoScopeRE.FindStringSubmatch(p)
		if _, ok := f.repos[m[1]+"/"+m[2]]; !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		key, kind, name = "repo:"+m[1]+"/"+m[2], m[3], m[4]
	case orgScopeRE.MatchString(p):
		m := orgScopeRE.FindStringSubmatch(p)
		if !f.orgs[m[1]] {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		key, kind, name, org = "org:"+m[1], m[2], m[3], true
	case envSecretRE.MatchString(p):
		m := envSecretRE.FindStringSubmatch(p)
		id, _ := strconv.ParseInt(m[1], 10, 64)
		full := ""
		for k, v := range f.repos {
			if v == id {
				full = k
			}
		}
		if full == "" || !f.envs[full+"/"+m[2]] {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		key, kind, name = "env:"+full+"/"+m[2], m[3], m[4]
	case envVarRE.MatchString(p):
		m := envVarRE.FindStringSubmatch(p)
		full := m[1] + "/" + m[2]
		if !f.envs[full+"/"+m[3]] {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		key, kind, name = "env:"+full+"/"+m[3], m[4], m[5]
	default:
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	s := f.scope(key)
	switch {
	case kind == "secrets" && name == "public-key" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"key_id": s.keyID, "key": base64.StdEncoding.EncodeToString(s.pub[:])})
	case kind == "secrets" && name != "" && r.Method == http.MethodGet:
		if _, ok := s.secrets[name]; !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		out := map[string]any{"name": name, "created_at": timestampNow, "updated_at": timestampNow}
		if org {
			out["visibility"] = s.visibility[name]
		}
		writeJSON(w, http.StatusOK, out)
	case kind == "secrets" && name != "" && r.Method == http.MethodPut:
		var body struct {
			EncryptedValue string  `json:"encrypted_value"`
			KeyID          string  `json:"key_id"`
			Visibility     string  `json:"visibility"`
			Selected       []int64 `json:"selected_repository_ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !ghNameRE.MatchString(name) {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request")
			return
		}
		if body.KeyID != s.keyID {
			ghError(w, http.StatusUnprocessableEntity, "key_id does not match the public key")
			return
		}
		if org && body.Visibility != "all" && body.Visibility != "private" && body.Visibility != "selected" {
			ghError(w, http.StatusUnprocessableEntity, "visibility is required")
			return
		}
		sealed, err := base64.StdEncoding.DecodeString(body.EncryptedValue)
		if err != nil {
			ghError(w, http.StatusUnprocessableEntity, "encrypted_value is not base64")
			return
		}
		plain, ok := box.OpenAnonymous(nil, sealed, s.pub, s.priv)
		if !ok {
			ghError(w, http.StatusUnprocessableEntity, "encrypted_value cannot be decrypted")
			return
		}
		_, existed := s.secrets[name]
		s.secrets[name] = string(plain)
		if org {
			s.visibility[name] = body.Visibility
		}
		if existed {
			w.WriteHeader(http.StatusNoContent)
		} else {
			writeJSON(w, http.StatusCreated, map[string]any{})
		}
	case kind == "variables" && name != "" && r.Method == http.MethodGet:
		v, ok := s.vars[name]
		if !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		out := map[string]any{"name": name, "value": v, "created_at": timestampNow, "updated_at": timestampNow}
		if org {
			out["visibility"] = "private"
		}
		writeJSON(w, http.StatusOK, out)
	case kind == "variables" && name == "" && r.Method == http.MethodPost:
		var body struct {
			Name       string `json:"name"`
			Value      string `json:"value"`
			Visibility string `json:"visibility"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !ghNameRE.MatchString(body.Name) || (org && body.Visibility == "") {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request")
			return
		}
		if _, ok := s.vars[body.Name]; ok {
			ghError(w, http.StatusConflict, "Already exists")
			return
		}
		s.vars[body.Name] = body.Value
		writeJSON(w, http.StatusCreated, map[string]any{})
	case kind == "variables" && name != "" && r.Method == http.MethodPatch:
		var body struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request")
			return
		}
		if _, ok := s.vars[name]; !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		if body.Name != "" && body.Name != name {
			delete(s.vars, name)
			name = body.Name
		}
		s.vars[name] = body.Value
		w.WriteHeader(http.StatusNoContent)
	default:
		ghError(w, http.StatusNotFound, "Not Found")
	}
}
