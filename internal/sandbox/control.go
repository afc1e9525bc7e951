package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// controlPrefix is the path under which the control API lives; no AWS
// service uses it.
const controlPrefix = "/_sandbox/"

// Redacted replaces secret access keys in state dumps.
const Redacted = "REDACTED"

// controlRoute serves one control API endpoint.
type controlRoute func(s *Server, w http.ResponseWriter, r *http.Request) error

// controlRoutes maps a path below /_sandbox/ and a method to its handler.
// docs/sandbox.md documents each.
var controlRoutes = map[string]map[string]controlRoute{
	"health":         {http.MethodGet: ctlHealth},
	"scenario":       {http.MethodPost: ctlLoadScenario},
	"clock":          {http.MethodGet: ctlClock},
	"clock/advance":  {http.MethodPost: ctlClockAdvance},
	"clock/set":      {http.MethodPost: ctlClockSet},
	"faults":         {http.MethodGet: ctlFaults, http.MethodPost: ctlAddFault, http.MethodDelete: ctlClearFaults},
	"new-key-delay":  {http.MethodGet: ctlNewKeyDelay, http.MethodPut: ctlSetNewKeyDelay},
	"emails":         {http.MethodGet: ctlEmails, http.MethodDelete: ctlClearEmails},
	"sns":            {http.MethodGet: ctlSNS, http.MethodDelete: ctlClearSNS},
	"calls":          {http.MethodGet: ctlCalls, http.MethodDelete: ctlResetCalls},
	"state":          {http.MethodGet: ctlState},
	"credentials":    {http.MethodGet: ctlCredentials},
	"ses/identities": {http.MethodPost: ctlVerifySESIdentity},
	"authz":          {http.MethodGet: ctlAuthz, http.MethodPut: ctlSetAuthz},
	"authz/log":      {http.MethodGet: ctlAuthzLog, http.MethodPost: ctlStartAuthzLog, http.MethodDelete: ctlStopAuthzLog},
}

// ctlError is a control API error with its HTTP status.
type ctlError struct {
	Status   int
	Msg      string
	Problems []Problem
}

func (e *ctlError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &ctlError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, controlPrefix), "/")
	methods := controlRoutes[path]
	var h controlRoute
	if methods == nil {
		if id, ok := strings.CutPrefix(path, "faults/"); ok && id != "" {
			methods = map[string]controlRoute{http.MethodDelete: func(s *Server, w http.ResponseWriter, r *http.Request) error {
				return ctlDeleteFault(s, w, id)
			}}
		}
	}
	if methods == nil {
		writeCtlError(w, &ctlError{Status: http.StatusNotFound, Msg: "no control endpoint " + r.URL.Path + " (see docs/sandbox.md)"})
		return
	}
	h = methods[r.Method]
	if h == nil {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeCtlError(w, &ctlError{Status: http.StatusMethodNotAllowed, Msg: fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := h(s, w, r); err != nil {
		var ce *ctlError
		if !errors.As(err, &ce) {
			var ae *apiError
			if errors.As(err, &ae) {
				ce = &ctlError{Status: ae.Status, Msg: ae.Message}
			} else {
				ce = &ctlError{Status: http.StatusInternalServerError, Msg: err.Error()}
			}
		}
		writeCtlError(w, ce)
	}
}

func writeCtlError(w http.ResponseWriter, e *ctlError) {
	body := map[string]any{"error": e.Msg}
	if len(e.Problems) > 0 {
		ps := make([]map[string]any, 0, len(e.Problems))
		for _, p := range e.Problems {
			ps = append(ps, map[string]any{"line": p.Line, "path": p.Path, "message": p.Message})
		}
		body["problems"] = ps
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeBody decodes a JSON request body strictly into v.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("missing JSON request body")
		}
		return badRequest("invalid JSON request body: %v", err)
	}
	return nil
}

// Health is the control API's health response.
type Health struct {
	Status string `json:"status"`
	StateSummary
}

// StateSummary counts what the sandbox holds.
type StateSummary struct {
	OrgID               string    `json:"org_id"`
	ManagementAccountID string    `json:"management_account_id"`
	Now                 time.Time `json:"now"`
	Accounts            int       `json:"accounts"`
	OUs                 int       `json:"ous"`
	Users               int       `json:"users"`
	AccessKeys          int       `json:"access_keys"`
	RootAccessKeys      int       `json:"root_access_keys"`
}

// Summary counts the sandbox's accounts, users and keys.
func (s *Server) Summary() StateSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	sum := StateSummary{OrgID: st.OrgID, ManagementAccountID: st.ManagementAccountID, Now: s.clock.Now(), Accounts: len(st.Accounts), OUs: len(st.OUs)}
	for _, a := range st.Accounts {
		sum.Users += len(a.Users)
		sum.RootAccessKeys += len(a.Root.Keys)
		for _, u := range a.Users {
			sum.AccessKeys += len(u.Keys)
		}
	}
	return sum
}

func ctlHealth(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, Health{Status: "ok", StateSummary: s.Summary()})
	return nil
}

// ScenarioLoaded is the response to loading a scenario.
type ScenarioLoaded struct {
	Scenario string `json:"scenario"`
	StateSummary
}

func ctlLoadScenario(s *Server, w http.ResponseWriter, r *http.Request) error {
	var (
		sc  *Scenario
		err error
	)
	if name := r.URL.Query().Get("name"); name != "" {
		if strings.ContainsAny(name, "/\\.") {
			return badRequest("name must be a built-in scenario (%s); send other scenarios as the request body", strings.Join(BuiltinScenarios(), ", "))
		}
		sc, err = LoadScenario(name)
	} else {
		body, rerr := io.ReadAll(r.Body)
		if rerr != nil {
			return badRequest("read body: %v", rerr)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return badRequest("give ?name=demo or a scenario YAML body")
		}
		file := r.URL.Query().Get("file")
		if file == "" {
			file = "scenario.yaml"
		}
		sc, err = ParseScenario(file, body)
		if err == nil {
			sc.Name = strings.TrimSuffix(file, ".yaml")
		}
	}
	if err == nil {
		err = s.ApplyScenario(sc)
	}
	if err != nil {
		ce := &ctlError{Status: http.StatusBadRequest, Msg: err.Error()}
		var se *ScenarioError
		if errors.As(err, &se) {
			ce.Problems = se.Problems
		}
		return ce
	}
	writeJSON(w, http.StatusOK, ScenarioLoaded{Scenario: sc.Name, StateSummary: s.Summary()})
	return nil
}

// ClockState is the control API's view of the sandbox clock.
type ClockState struct {
	Now time.Time `json:"now"`
	// Offset is how far the clock is ahead of wall-clock time, as a Go duration.
	Offset        string  `json:"offset"`
	OffsetSeconds float64 `json:"offset_seconds"`
}

func (s *Server) clockState() ClockState {
	off := s.clock.Offset()
	return ClockState{Now: s.clock.Now(), Offset: off.String(), OffsetSeconds: off.Seconds()}
}

func ctlClock(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.clockState())
	return nil
}

func ctlClockAdvance(s *Server, w http.ResponseWriter, r *http.Request) error {
	var req struct {
		By string `json:"by"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	d, err := parseSignedDuration(req.By)
	if err != nil {
		return badRequest("by: %v", err)
	}
	s.clock.Advance(d)
	writeJSON(w, http.StatusOK, s.clockState())
	return nil
}

// parseSignedDuration parses "30d", "-2h" and the like.
func parseSignedDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	neg := strings.HasPrefix(v, "-")
	d, err := yamlconf.ParseDuration(strings.TrimPrefix(v, "-"))
	if neg {
		d = -d
	}
	return d, err
}

func ctlClockSet(s *Server, w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Time string `json:"time"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, req.Time)
	if err != nil {
		return badRequest("time: want RFC 3339 such as 2030-01-31T12:00:00Z, got %q", req.Time)
	}
	s.clock.Set(t)
	writeJSON(w, http.StatusOK, s.clockState())
	return nil
}

func ctlFaults(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	return nil
}

func ctlAddFault(s *Server, w http.ResponseWriter, r *http.Request) error {
	var f Fault
	if err := decodeBody(r, &f); err != nil {
		return err
	}
	nf, err := s.AddFault(f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, nf)
	return nil
}

func ctlClearFaults(s *Server, w http.ResponseWriter, _ *http.Request) error {
	n := len(s.Faults())
	s.ClearFaults("")
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	return nil
}

func ctlDeleteFault(s *Server, w http.ResponseWriter, id string) error {
	for _, f := range s.Faults() {
		if f.ID == id {
			s.ClearFaults(id)
			writeJSON(w, http.StatusOK, map[string]int{"deleted": 1})
			return nil
		}
	}
	return &ctlError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no fault %q", id)}
}

// KeyDelay is the control API's view of the new-key delay.
type KeyDelay struct {
	Delay string `json:"delay"`
}

func ctlNewKeyDelay(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, KeyDelay{Delay: s.NewKeyDelay().String()})
	return nil
}

func ctlSetNewKeyDelay(s *Server, w http.ResponseWriter, r *http.Request) error {
	var req KeyDelay
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	d, err := yamlconf.ParseDuration(req.Delay)
	if err != nil {
		return badRequest("delay: %v", err)
	}
	s.SetNewKeyDelay(d)
	writeJSON(w, http.StatusOK, KeyDelay{Delay: d.String()})
	return nil
}

func ctlEmails(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"emails": s.Emails()})
	return nil
}

func ctlClearEmails(s *Server, w http.ResponseWriter, _ *http.Request) error {
	s.mu.Lock()
	n := len(s.st.Emails)
	s.st.Emails = nil
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	return nil
}

func ctlSNS(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"messages": s.SNSMessages()})
	return nil
}

func ctlClearSNS(s *Server, w http.ResponseWriter, _ *http.Request) error {
	s.mu.Lock()
	n := len(s.st.SNSMessages)
	s.st.SNSMessages = nil
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	return nil
}

// CallCounts returns how many AWS calls each account made, by
// "service:Operation" (e.g. "iam:ListUsers"), including calls that failed
// authorization or were failed by a fault.
func (s *Server) CallCounts() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCounts(s.counts)
}

// FaultedCallCounts returns how many of CallCounts' calls a fault
// answered (a throttle of a rate fault, an injected error), by account and
// "service:Operation".
func (s *Server) FaultedCallCounts() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCounts(s.faulted)
}

func copyCounts(counts map[string]map[string]int) map[string]map[string]int {
	out := make(map[string]map[string]int, len(counts))
	for a, m := range counts {
		out[a] = maps.Clone(m)
	}
	return out
}

// ResetCallCounts forgets all call counts and spans.
func (s *Server) ResetCallCounts() {
	s.mu.Lock()
	s.counts = map[string]map[string]int{}
	s.faulted = nil
	s.spans = nil
	s.mu.Unlock()
}

// CallSpan is when an account's first and last counted calls arrived
// (wall-clock time, not the sandbox clock).
type CallSpan struct {
	First, Last time.Time
}

// CallSpans returns each account's span of calls since the last
// ResetCallCounts: how long it was worked on.
func (s *Server) CallSpans() map[string]CallSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]CallSpan, len(s.spans))
	for a, sp := range s.spans {
		out[a] = *sp
	}
	return out
}

// Calls is the control API's call-count response.
type Calls struct {
	// Accounts maps account ID to "service:Operation" to count.
	Accounts map[string]map[string]int `json:"accounts"`
	Total    int                       `json:"total"`
}

func ctlCalls(s *Server, w http.ResponseWriter, _ *http.Request) error {
	c := Calls{Accounts: s.CallCounts()}
	for _, m := range c.Accounts {
		for _, n := range m {
			c.Total += n
		}
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func ctlResetCalls(s *Server, w http.ResponseWriter, _ *http.Request) error {
	s.ResetCallCounts()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DumpState returns the whole State as JSON. Secret access keys read
// "REDACTED" unless withSecrets is true.
func (s *Server) DumpState(withSecrets bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !withSecrets {
		var saved []string
		var keys []*AccessKey
		for _, a := range s.st.Accounts {
			keys = append(keys, a.Root.Keys...)
			for _, u := range a.Users {
				keys = append(keys, u.Keys...)
			}
		}
		for _, k := range keys {
			saved = append(saved, k.Secret)
			k.Secret = Redacted
		}
		defer func() {
			for i, k := range keys {
				k.Secret = saved[i]
			}
		}()
	}
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return b, nil
}

func ctlState(s *Server, w http.ResponseWriter, r *http.Request) error {
	secrets := r.URL.Query().Get("secrets")
	if secrets != "" && secrets != "true" && secrets != "false" {
		return badRequest("secrets must be true or false")
	}
	b, err := s.DumpState(secrets == "true")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// UserKey is an IAM user's active access key, for simulated applications.
type UserKey struct {
	AccountID       string `json:"account_id"`
	UserName        string `json:"user_name"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// ErrNotFound is returned for an unknown account, user or key.
var ErrNotFound = errors.New("not found")

// ActiveKey returns the newest active access key of a user. account is an
// account ID or name.
func (s *Server) ActiveKey(account, user string) (UserKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var acct *Account
	if a := s.st.Accounts[account]; a != nil {
		acct = a
	} else {
		for _, a := range s.st.Accounts {
			if strings.EqualFold(a.Name, account) {
				acct = a
			}
		}
	}
	if acct == nil {
		return UserKey{}, fmt.Errorf("account %q: %w", account, ErrNotFound)
	}
	u := acct.user(user)
	if u == nil {
		return UserKey{}, fmt.Errorf("user %q in account %s: %w", user, acct.ID, ErrNotFound)
	}
	var best *AccessKey
	for _, k := range u.Keys {
		if k.Status == "Active" && (best == nil || k.CreateDate.After(best.CreateDate)) {
			best = k
		}
	}
	if best == nil {
		return UserKey{}, fmt.Errorf("active access key of %s in account %s: %w", u.Name, acct.ID, ErrNotFound)
	}
	return UserKey{AccountID: acct.ID, UserName: u.Name, AccessKeyID: best.ID, SecretAccessKey: best.Secret}, nil
}

func ctlCredentials(s *Server, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	account, user := q.Get("account"), q.Get("user")
	if account == "" || user == "" {
		return badRequest("give account (ID or name) and user")
	}
	k, err := s.ActiveKey(account, user)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return &ctlError{Status: http.StatusNotFound, Msg: err.Error()}
		}
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}
