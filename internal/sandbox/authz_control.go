package sandbox

import (
	"net/http"
)

// AuthzState is the control API's view of authorization.
type AuthzState struct {
	// Enforced is false when the sandbox runs permissive.
	Enforced bool `json:"enforced"`
	// Recording is true while the decision log records.
	Recording bool `json:"recording"`
	// Decisions is how many decisions the log holds.
	Decisions int `json:"decisions"`
}

// AuthzLog is the decision log as the control API returns it.
type AuthzLog struct {
	AuthzState
	Entries []AuthzDecision `json:"entries"`
}

// SetPermissive turns authorization off (true) or on (false).
func (s *Server) SetPermissive(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.permissive = on
}

// StartAuthzLog clears the decision log and starts recording.
func (s *Server) StartAuthzLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authz = authzLog{on: true}
}

// StopAuthzLog stops recording and returns what was recorded, keeping it
// for later reads.
func (s *Server) StopAuthzLog() []AuthzDecision {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authz.on = false
	return append([]AuthzDecision(nil), s.authz.entries...)
}

// AuthzDecisions returns the decisions recorded so far.
func (s *Server) AuthzDecisions() []AuthzDecision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthzDecision(nil), s.authz.entries...)
}

func (s *Server) authzState() AuthzState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return AuthzState{Enforced: !s.permissive, Recording: s.authz.on, Decisions: len(s.authz.entries)}
}

func ctlAuthz(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.authzState())
	return nil
}

// AuthzSettings is the body of PUT /_sandbox/authz.
type AuthzSettings struct {
	Enforced bool `json:"enforced"`
}

func ctlSetAuthz(s *Server, w http.ResponseWriter, r *http.Request) error {
	var in AuthzSettings
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	s.SetPermissive(!in.Enforced)
	writeJSON(w, http.StatusOK, s.authzState())
	return nil
}

func ctlAuthzLog(s *Server, w http.ResponseWriter, _ *http.Request) error {
	entries := s.AuthzDecisions()
	if entries == nil {
		entries = []AuthzDecision{}
	}
	writeJSON(w, http.StatusOK, AuthzLog{AuthzState: s.authzState(), Entries: entries})
	return nil
}

func ctlStartAuthzLog(s *Server, w http.ResponseWriter, _ *http.Request) error {
	s.StartAuthzLog()
	writeJSON(w, http.StatusOK, s.authzState())
	return nil
}

func ctlStopAuthzLog(s *Server, w http.ResponseWriter, _ *http.Request) error {
	entries := s.StopAuthzLog()
	if entries == nil {
		entries = []AuthzDecision{}
	}
	writeJSON(w, http.StatusOK, AuthzLog{AuthzState: s.authzState(), Entries: entries})
	return nil
}
