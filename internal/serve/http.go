package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/serveconf"
	"github.com/keyrot/keyrot/internal/statuspage"
)

// pinger is the part of the history store /readyz checks.
type pinger interface {
	SchemaVersion(ctx context.Context) (int, error)
}

// Handler returns the server's HTTP API: /healthz and /readyz open to all;
// /metrics, POST /runs/audit, POST /runs/apply and the pages at / behind
// the configured credentials.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.auth(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))
	for _, kind := range serveconf.Kinds {
		mux.Handle("POST /runs/"+kind, s.auth(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { s.postRun(w, kind) })))
	}
	pages := s.opts.Pages
	if pages == nil {
		pages = statuspage.Handler(pageSource{s}, statuspage.Options{Logger: s.opts.Logger})
	}
	mux.Handle("/", s.auth(pages))
	return mux
}

// auth lets through requests with valid credentials (or any request when
// none are configured, which only a loopback listener allows).
func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.creds.Load().allows(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="keyrot", Basic realm="keyrot", charset="UTF-8"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong credentials"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RunStarted is the answer to POST /runs/{kind}.
type RunStarted struct {
	RunID string `json:"run_id"`
	Kind  string `json:"kind"`
}

func (s *Server) postRun(w http.ResponseWriter, kind string) {
	id, err := s.StartRun(kind, "http")
	switch {
	case errors.Is(err, ErrRunning):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case errors.Is(err, ErrClosing):
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "shutting down"})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusAccepted, RunStarted{RunID: id, Kind: kind})
	}
}

// readyz answers 200 when the configuration is loaded, the store answers
// and no kind of run has been failing for longer than the threshold;
// otherwise 503 with the reasons.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	var why []string
	cfg := s.cfg.Load()
	if cfg == nil {
		why = append(why, "no configuration loaded")
	}
	if p, ok := s.opts.Store.(pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		if _, err := p.SchemaVersion(ctx); err != nil {
			why = append(why, "history store: "+err.Error())
		}
		cancel()
	}
	if cfg != nil {
		now := s.clock.Now()
		s.mu.Lock()
		for _, kind := range serveconf.Kinds {
			since := s.kinds[kind].failingSince
			if !since.IsZero() && now.Sub(since) > cfg.Serve.ReadinessThreshold {
				why = append(why, fmt.Sprintf("%s runs failing since %s, longer than serve.readiness_threshold %s", kind, since.UTC().Format(time.RFC3339), cfg.Serve.ReadinessThreshold))
			}
		}
		s.mu.Unlock()
	}
	if len(why) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reasons": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// pageSource gives the status pages an App built from the configuration in
// force, so that a SIGHUP reload shows at the next page view.
type pageSource struct{ s *Server }

func (p pageSource) app() *app.App { return p.s.newApp(p.s.cfg.Load(), p.s.opts.Logger) }

// Status implements statuspage.Source.
func (p pageSource) Status(ctx context.Context, req app.StatusRequest) (*app.Status, error) {
	return p.app().Status(ctx, req)
}

// AuditOfRun implements statuspage.Source.
func (p pageSource) AuditOfRun(ctx context.Context, id int64) (*app.StoredAudit, error) {
	return p.app().AuditOfRun(ctx, id)
}
