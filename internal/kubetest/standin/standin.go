// Package standin is a local stand-in for the few Kubernetes API calls
// keyrot's kubernetes destination makes, for tests and demos where no real
// API server runs. It speaks the API's documented protocol for them
// (https://kubernetes.io/docs/reference/using-api/api-concepts/): JSON
// objects under /api/v1 and /apis/GROUP/VERSION, a resourceVersion that
// changes with every write, an update carrying a stale resourceVersion
// refused with 409 Conflict, and every failure as a Status object with
// its reason and code.
//
// Served: Secrets (create, get, update, delete; stringData is merged
// into data on write and never stored, as the API server does; an
// immutable Secret's data cannot change), Deployments (create, get,
// update, merge and strategic merge patches without lists; the
// generation grows when the spec changes) and SelfSubjectAccessReviews
// (answered by Server.Allow; everything is allowed by default). There is
// no authentication, RBAC, admission, watch or list. Objects are kept as
// JSON, not decoded with client-go's types, so that the stand-in checks
// the wire format independently of the client.
package standin

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Attributes are what a SelfSubjectAccessReview asks about.
type Attributes struct {
	Namespace, Verb, Group, Resource, Name string
}

// Server is a running stand-in.
type Server struct {
	// URL is the server's address, for rest.Config.Host.
	URL string
	// Allow answers SelfSubjectAccessReviews; nil allows everything.
	// Set it before the first request.
	Allow func(Attributes) bool

	http *httptest.Server
	mu   sync.Mutex
	rv   int64
	objs map[string]map[string]any // "resource/namespace/name" -> object
	now  func() time.Time
}

// New starts a stand-in on a loopback port. Close it when done.
func New() *Server {
	s := &Server{objs: map[string]map[string]any{}, now: time.Now}
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// WriteKubeconfig writes a kubeconfig file at path whose context name
// reaches the stand-in (no credentials: it has no authentication), so
// that a kubernetes:NAME/NAMESPACE/SECRET destination opened with
// KUBECONFIG=path writes to it.
func (s *Server) WriteKubeconfig(path, name string) error {
	q := strconv.Quote
	conf := "apiVersion: v1\nkind: Config\nclusters:\n- name: " + q(name) + "\n  cluster:\n    server: " + q(s.URL) +
		"\nusers:\n- name: " + q(name) + "\n  user: {}\ncontexts:\n- name: " + q(name) + "\n  context:\n    cluster: " + q(name) +
		"\n    user: " + q(name) + "\ncurrent-context: " + q(name) + "\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// kinds the stand-in serves, by the path's group/version and resource.
var kinds = map[string]struct{ apiVersion, kind string }{
	"v1/secrets":          {"v1", "Secret"},
	"apps/v1/deployments": {"apps/v1", "Deployment"},
}

// ServeHTTP routes /api/v1/namespaces/NS/RESOURCE[/NAME] and
// /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME], and the
// SelfSubjectAccessReview endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
		s.accessReview(w, r)
		return
	}
	var gv string
	switch {
	case len(parts) >= 2 && parts[0] == "api" && parts[1] == "v1":
		gv, parts = "v1", parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		gv, parts = parts[1]+"/"+parts[2], parts[3:]
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "namespaces" {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	ns, resource := parts[1], parts[2]
	k, ok := kinds[gv+"/"+resource]
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	if r.URL.Query().Get("dryRun") != "" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "dryRun is not supported by this stand-in", nil)
		return
	}
	req := request{s: s, w: w, r: r, ns: ns, resource: resource, apiVersion: k.apiVersion, kind: k.kind}
	if len(parts) == 3 {
		if r.Method != http.MethodPost {
			writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("the server does not allow this method on the requested resource (%s %s)", r.Method, resource), nil)
			return
		}
		req.create()
		return
	}
	req.name = parts[3]
	switch r.Method {
	case http.MethodGet:
		req.get()
	case http.MethodPut:
		req.update()
	case http.MethodPatch:
		req.patch()
	case http.MethodDelete:
		req.delete()
	default:
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("the server does not allow this method on the requested resource (%s %s)", r.Method, resource), nil)
	}
}

type request struct {
	s                  *Server
	w                  http.ResponseWriter
	r                  *http.Request
	ns, resource, name string
	apiVersion, kind   string
}

func (q *request) key(name string) string { return q.resource + "/" + q.ns + "/" + name }

func (q *request) details(name string) map[string]any {
	group := ""
	if i := strings.Index(q.apiVersion, "/"); i >= 0 {
		group = q.apiVersion[:i]
	}
	d := map[string]any{"name": name, "kind": q.resource}
	if group != "" {
		d["group"] = group
	}
	return d
}

func (q *request) qualified() string {
	if i := strings.Index(q.apiVersion, "/"); i >= 0 {
		return q.resource + "." + q.apiVersion[:i]
	}
	return q.resource
}

func (q *request) notFound(name string) {
	writeStatus(q.w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", q.qualified(), name), q.details(name))
}

func (q *request) conflict(name string) {
	writeStatus(q.w, http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", q.qualified(), name), q.details(name))
}

func (q *request) invalid(name, field, msg string) {
	d := q.details(name)
	d["causes"] = []any{map[string]any{"reason": "FieldValueInvalid", "message": msg, "field": field}}
	writeStatus(q.w, http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("%s %q is invalid: %s: %s", q.kind, name, field, msg), d)
}

// body decodes the request's JSON object.
func (q *request) body() (map[string]any, bool) {
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if q.r.Method != http.MethodPatch && ct != "application/json" {
		writeStatus(q.w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json (got %q)", ct), nil)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(q.r.Body, 3<<20))
	if err != nil {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
		return nil, false
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the object provided is unrecognized: %v", err), nil)
		return nil, false
	}
	return obj, true
}

// checkObject checks the object's kind and namespace against the path's.
func (q *request) checkObject(obj map[string]any) (map[string]any, bool) {
	if v, _ := obj["apiVersion"].(string); v != "" && v != q.apiVersion {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", v, q.apiVersion), nil)
		return nil, false
	}
	if k, _ := obj["kind"].(string); k != "" && k != q.kind {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", k, q.kind), nil)
		return nil, false
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	if ns, _ := meta["namespace"].(string); ns != "" && ns != q.ns {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", nil)
		return nil, false
	}
	meta["namespace"] = q.ns
	obj["apiVersion"], obj["kind"] = q.apiVersion, q.kind
	return meta, true
}

// nameRE is a DNS-1123 subdomain, the name of a Secret or Deployment.
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// secretKeyRE is a Secret's data key.
var secretKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// prepare applies the API server's write-time rules to obj: for a Secret,
// stringData merged into data (it wins) and dropped, keys and values
// checked, the default type; for a Deployment, a status. old is the stored
// object on an update, nil on a create. It reports a problem as an
// Invalid Status and returns false.
func (q *request) prepare(obj, old map[string]any) bool {
	name := q.name
	if q.kind != "Secret" {
		if _, ok := obj["status"]; !ok {
			obj["status"] = map[string]any{}
		}
		return true
	}
	data, _ := obj["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range data {
		str, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(str); !ok || err != nil {
			writeStatus(q.w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[%s]", k), nil)
			return false
		}
	}
	if sd, ok := obj["stringData"].(map[string]any); ok {
		for k, v := range sd {
			str, _ := v.(string)
			data[k] = base64.StdEncoding.EncodeToString([]byte(str))
		}
	}
	delete(obj, "stringData")
	for k := range data {
		if len(k) > 253 || !secretKeyRE.MatchString(k) {
			q.invalid(name, "data["+k+"]", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
			return false
		}
	}
	if len(data) > 0 {
		obj["data"] = data
	} else {
		delete(obj, "data")
	}
	if t, _ := obj["type"].(string); t == "" {
		obj["type"] = "Opaque"
	}
	if old != nil {
		if im, _ := old["immutable"].(bool); im {
			if !reflect.DeepEqual(old["data"], obj["data"]) {
				q.invalid(name, "data", "field is immutable when `immutable` is set")
				return false
			}
			if v, ok := obj["immutable"].(bool); !ok || !v {
				q.invalid(name, "immutable", "field is immutable when `immutable` is set")
				return false
			}
		}
		if old["type"] != obj["type"] {
			q.invalid(name, "type", "field is immutable")
			return false
		}
	}
	return true
}

func (q *request) create() {
	obj, ok := q.body()
	if !ok {
		return
	}
	meta, ok := q.checkObject(obj)
	if !ok {
		return
	}
	name, _ := meta["name"].(string)
	if name == "" {
		q.invalid("", "metadata.name", "name or generateName is required")
		return
	}
	q.name = name
	if len(name) > 253 || !nameRE.MatchString(name) {
		q.invalid(name, "metadata.name", "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")
		return
	}
	if rv, _ := meta["resourceVersion"].(string); rv != "" {
		writeStatus(q.w, http.StatusInternalServerError, "InternalError", "resourceVersion should not be set on objects to be created", nil)
		return
	}
	if !q.prepare(obj, nil) {
		return
	}
	s := q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.objs[q.key(name)]; exists {
		writeStatus(q.w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", q.qualified(), name), q.details(name))
		return
	}
	meta["uid"] = newUID(s.rv + 1)
	meta["creationTimestamp"] = s.now().UTC().Format(time.RFC3339)
	if q.kind == "Deployment" {
		meta["generation"] = float64(1)
	}
	q.store(name, obj)
	writeJSON(q.w, http.StatusCreated, obj)
}

// store saves obj under a new resourceVersion; s.mu is held.
func (q *request) store(name string, obj map[string]any) {
	s := q.s
	s.rv++
	obj["metadata"].(map[string]any)["resourceVersion"] = strconv.FormatInt(s.rv, 10)
	s.objs[q.key(name)] = obj
}

func (q *request) get() {
	q.s.mu.Lock()
	obj, ok := q.s.objs[q.key(q.name)]
	q.s.mu.Unlock()
	if !ok {
		q.notFound(q.name)
		return
	}
	writeJSON(q.w, http.StatusOK, obj)
}

func (q *request) delete() {
	q.s.mu.Lock()
	obj, ok := q.s.objs[q.key(q.name)]
	delete(q.s.objs, q.key(q.name))
	q.s.mu.Unlock()
	if !ok {
		q.notFound(q.name)
		return
	}
	writeJSON(q.w, http.StatusOK, obj)
}

func (q *request) update() {
	obj, ok := q.body()
	if !ok {
		return
	}
	meta, ok := q.checkObject(obj)
	if !ok {
		return
	}
	if n, _ := meta["name"].(string); n != q.name {
		writeStatus(q.w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", n, q.name), nil)
		return
	}
	s := q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.objs[q.key(q.name)]
	if !exists {
		q.notFound(q.name)
		return
	}
	q.replace(old, obj)
}

// replace stores obj in place of old, after the optimistic concurrency
// check: a resourceVersion given must be the stored one (none given is an
// unconditional update, which Secrets and Deployments allow). s.mu is held.
func (q *request) replace(old, obj map[string]any) {
	meta := obj["metadata"].(map[string]any)
	oldMeta := old["metadata"].(map[string]any)
	if rv, _ := meta["resourceVersion"].(string); rv != "" && rv != oldMeta["resourceVersion"] {
		q.conflict(q.name)
		return
	}
	if !q.prepare(obj, old) {
		return
	}
	for _, k := range []string{"uid", "creationTimestamp", "generation"} {
		if v, ok := oldMeta[k]; ok {
			meta[k] = v
		} else {
			delete(meta, k)
		}
	}
	if q.kind == "Deployment" {
		obj["status"] = old["status"]
		if !reflect.DeepEqual(old["spec"], obj["spec"]) {
			g, _ := oldMeta["generation"].(float64)
			meta["generation"] = g + 1
		}
	}
	if reflect.DeepEqual(withoutRV(old), withoutRV(obj)) {
		// A no-op update keeps the resourceVersion, as the API server does.
		writeJSON(q.w, http.StatusOK, old)
		return
	}
	q.store(q.name, obj)
	writeJSON(q.w, http.StatusOK, obj)
}

func withoutRV(obj map[string]any) map[string]any {
	c := deepCopy(obj).(map[string]any)
	delete(c["metadata"].(map[string]any), "resourceVersion")
	return c
}

func (q *request) patch() {
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	switch ct {
	case "application/merge-patch+json", "application/strategic-merge-patch+json":
	default:
		writeStatus(q.w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (this stand-in; got %q)", ct), nil)
		return
	}
	patch, ok := q.body()
	if !ok {
		return
	}
	if ct == "application/strategic-merge-patch+json" && hasList(patch) {
		writeStatus(q.w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "this stand-in applies strategic merge patches without lists only", nil)
		return
	}
	s := q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.objs[q.key(q.name)]
	if !exists {
		q.notFound(q.name)
		return
	}
	obj, _ := mergePatch(deepCopy(old), patch).(map[string]any)
	if obj == nil {
		writeStatus(q.w, http.StatusUnprocessableEntity, "Invalid", "the patch does not leave an object", nil)
		return
	}
	meta, ok := q.checkObject(obj)
	if !ok {
		return
	}
	if n, _ := meta["name"].(string); n != q.name {
		q.invalid(q.name, "metadata.name", "field is immutable")
		return
	}
	q.replace(old, obj)
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func hasList(v any) bool {
	switch v := v.(type) {
	case []any:
		return true
	case map[string]any:
		for _, x := range v {
			if hasList(x) {
				return true
			}
		}
	}
	return false
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

func (s *Server) accessReview(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
		return
	}
	var rev struct {
		Spec struct {
			ResourceAttributes *struct {
				Namespace, Verb, Group, Resource, Name string
			} `json:"resourceAttributes"`
		} `json:"spec"`
	}
	var raw map[string]any
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(data, &rev)
	}
	if err == nil {
		err = json.Unmarshal(data, &raw)
	}
	if err != nil || rev.Spec.ResourceAttributes == nil {
		writeStatus(w, http.StatusUnprocessableEntity, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified", nil)
		return
	}
	a := rev.Spec.ResourceAttributes
	allowed := s.Allow == nil || s.Allow(Attributes{Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Name: a.Name})
	raw["apiVersion"], raw["kind"] = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
	status := map[string]any{"allowed": allowed}
	if !allowed {
		status["reason"] = "denied by the stand-in's Allow"
	}
	raw["status"] = status
	writeJSON(w, http.StatusCreated, raw)
}

func newUID(n int64) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus writes a failure as the API server does: a Status object
// with its reason and code.
func writeStatus(w http.ResponseWriter, code int, reason, msg string, details map[string]any) {
	st := map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	}
	if details != nil {
		st["details"] = details
	}
	writeJSON(w, code, st)
}
