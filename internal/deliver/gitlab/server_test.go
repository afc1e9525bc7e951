package gitlab_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeGitLab implements GitLab's REST API v4 as the destination uses it,
// following GitLab's documentation:
//   - Project-level CI/CD variables, https://docs.gitlab.com/api/project_level_variables/
//     GET /projects/:id/variables/:key (404 "404 Variable Not Found"),
//     POST /projects/:id/variables (201; 400 when the key is taken),
//     PUT /projects/:id/variables/:key (200); a variable is
//     {variable_type, key, value, protected, masked, hidden, raw,
//     environment_scope, description}; masked values must be at least 8
//     characters of the Base64 alphabet and @:.~. Variables need the
//     Maintainer role (403 otherwise).
//   - Projects, https://docs.gitlab.com/api/projects/#get-a-single-project
//     (:id is the ID or the URL-encoded path, group%2Fproject).
//   - Authentication with the PRIVATE-TOKEN header; a bad token is 401
//     {"message":"401 Unauthorized"}, https://docs.gitlab.com/api/rest/troubleshooting/
type fakeGitLab struct {
	mu       sync.Mutex
	projects map[string]*project // path -> project
	tokens   map[string]int      // token -> access level on every project (40 Maintainer, 30 Developer)
	writes   int
}

type project struct {
	id   int
	vars map[string]*variable
}

type variable struct {
	VariableType     string  `json:"variable_type"`
	Key              string  `json:"key"`
	Value            string  `json:"value"`
	Protected        bool    `json:"protected"`
	Masked           bool    `json:"masked"`
	Hidden           bool    `json:"hidden"`
	Raw              bool    `json:"raw"`
	EnvironmentScope string  `json:"environment_scope"`
	Description      *string `json:"description"`
}

func newFakeGitLab(t *testing.T) (*fakeGitLab, *httptest.Server) {
	f := &fakeGitLab{projects: map[string]*project{}, tokens: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGitLab) addProject(path string) *project {
	p := &project{id: 100 + len(f.projects), vars: map[string]*variable{}}
	f.projects[path] = p
	return p
}

var (
	projectRE  = regexp.MustCompile(`^/api/v4/projects/([^/]+)$`)
	varsRE     = regexp.MustCompile(`^/api/v4/projects/([^/]+)/variables(?:/([^/]+))?$`)
	varKeyRE   = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)
	maskableRE = regexp.MustCompile(`^[A-Za-z0-9+/=@:.~-]{8,}$`)
)

func glJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func glMessage(w http.ResponseWriter, status int, msg any) {
	glJSON(w, status, map[string]any{"message": msg})
}

// body decodes a JSON or form request body into a map of strings.
func body(r *http.Request) map[string]string {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case bool:
				out[k] = map[bool]string{true: "true", false: "false"}[v]
			case map[string]any:
				for k2, v2 := range v {
					if s, ok := v2.(string); ok {
						out[k+"["+k2+"]"] = s
					}
				}
			}
		}
		return out
	}
	_ = r.ParseForm()
	for k := range r.PostForm {
		out[k] = r.PostForm.Get(k)
	}
	return out
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	level, ok := f.tokens[r.Header.Get("PRIVATE-TOKEN")]
	if !ok {
		glMessage(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	path := r.URL.EscapedPath()
	lookup := func(id string) *project {
		p, _ := url.PathUnescape(id)
		return f.projects[p]
	}
	if m := projectRE.FindStringSubmatch(path); m != nil && r.Method == http.MethodGet {
		p := lookup(m[1])
		if p == nil {
			glMessage(w, http.StatusNotFound, "404 Project Not Found")
			return
		}
		name, _ := url.PathUnescape(m[1])
		glJSON(w, http.StatusOK, map[string]any{"id": p.id, "path_with_namespace": name})
		return
	}
	m := varsRE.FindStringSubmatch(path)
	if m == nil {
		glMessage(w, http.StatusNotFound, "404 Not Found")
		return
	}
	p := lookup(m[1])
	if p == nil {
		glMessage(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	if level < 40 {
		glMessage(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	key := m[2]
	switch {
	case r.Method == http.MethodGet && key != "":
		v, ok := p.vars[key]
		if !ok {
			glMessage(w, http.StatusNotFound, "404 Variable Not Found")
			return
		}
		glJSON(w, http.StatusOK, v)
	case r.Method == http.MethodPost && key == "":
		b := body(r)
		v := &variable{VariableType: "env_var", Key: b["key"], Value: b["value"], Masked: b["masked"] == "true",
			Protected: b["protected"] == "true", Raw: b["raw"] == "true", EnvironmentScope: "*"}
		if b["variable_type"] != "" {
			v.VariableType = b["variable_type"]
		}
		if !varKeyRE.MatchString(v.Key) {
			glMessage(w, http.StatusBadRequest, map[string][]string{"key": {"can contain only letters, digits and '_'."}})
			return
		}
		if _, taken := p.vars[v.Key]; taken {
			glMessage(w, http.StatusBadRequest, map[string][]string{"key": {"(" + v.Key + ") has already been taken"}})
			return
		}
		if v.Masked && !maskableRE.MatchString(v.Value) {
			glMessage(w, http.StatusBadRequest, map[string][]string{"value": {"is invalid"}})
			return
		}
		f.writes++
		p.vars[v.Key] = v
		glJSON(w, http.StatusCreated, v)
	case r.Method == http.MethodPut && key != "":
		v, ok := p.vars[key]
		if !ok {
			glMessage(w, http.StatusNotFound, "404 Variable Not Found")
			return
		}
		b := body(r)
		if val, ok := b["value"]; ok {
			if v.Masked && !maskableRE.MatchString(val) {
				glMessage(w, http.StatusBadRequest, map[string][]string{"value": {"is invalid"}})
				return
			}
			v.Value = val
		}
		if s, ok := b["protected"]; ok {
			v.Protected = s == "true"
		}
		f.writes++
		glJSON(w, http.StatusOK, v)
	default:
		glMessage(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
}
