// Package serve is keyrot as a long-running service: audit and apply runs
// on cron schedules, each through the same use cases as the CLI (a fresh
// app.App per run from the configuration in force, so a SIGHUP reload
// takes effect at the next run), one run at a time per organization under
// the history store's lease, and one HTTP listener for /metrics, /healthz,
// /readyz, POST /runs/{audit,apply} and the status pages mounted at /.
//
// SIGTERM (the context's cancellation) stops the schedules, lets the
// actions in flight finish within the drain timeout and returns nil;
// SIGHUP reloads keyrot.yaml, keeping the old configuration when the new
// one has problems.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/serveconf"
)

// Options configure a Server. Config, Store and AWS are required.
type Options struct {
	// ConfigFile is keyrot.yaml, read again on SIGHUP; Config is what was
	// read from it at start.
	ConfigFile string
	Config     *config.Config
	// Listen, if set, overrides serve.listen (--listen).
	Listen string
	// Listener, if set, is used instead of listening (tests).
	Listener net.Listener
	// Pages, if set, replaces the status pages (internal/statuspage) at /.
	Pages http.Handler
	// Store is the history store: run records, journal and leases.
	Store app.Store
	// AWS is the SDK configuration every run uses.
	AWS aws.Config
	// Metrics are served at /metrics; NewMetrics if nil. The caller makes
	// them first when they must also observe the AWS configuration.
	Metrics *Metrics
	Logger  *slog.Logger
	// Now is the clock ages are judged by (the app's); time.Now if nil.
	Now func() time.Time
	// Clock drives the schedules; the system clock if nil.
	Clock Clock
	// Host and Version identify this keyrot in run records and leases.
	Host, Version string
	// Getenv reads the credentials' environment variables; os.Getenv if nil.
	Getenv func(string) string
	// Configure, if set, adjusts each run's App before it runs.
	Configure func(*app.App)
	// LeasePoll is how often a run waiting for the organization lease
	// tries again; 1s if zero.
	LeasePoll time.Duration
	// LeaseRenew is how often a run renews the organization lease it
	// holds; a quarter of the lease's lifetime if zero.
	LeaseRenew time.Duration
	// Signals, if set, replaces SIGHUP as the reload trigger (tests).
	Signals <-chan os.Signal
}

// Server is a running keyrot serve.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	clock   Clock
	ln      net.Listener
	tls     *tls.Config

	cfg   atomic.Pointer[config.Config]
	creds atomic.Pointer[credentials]

	// do runs one use case; useCase, or a fake in tests.
	do func(ctx context.Context, kind string, cfg *config.Config, log *slog.Logger) (runResult, error)

	mu      sync.Mutex
	kinds   map[string]*kindState
	closing bool
	runCtx  context.Context
	wg      sync.WaitGroup
}

// kindState is what the server knows of the runs of one kind.
type kindState struct {
	running string // the ID of the run going, or ""
	// failingSince is when the first of the failing runs in a row started.
	failingSince time.Time
}

// ErrRunning means a run of that kind is already going.
var ErrRunning = errors.New("a run of this kind is already going")

// ErrClosing means the server is shutting down and starts no run.
var ErrClosing = errors.New("shutting down")

// New checks everything a start needs (auth for the listen address, TLS
// files, the listen address itself) and returns a Server listening but not
// yet serving. Its errors are *StartError naming the file, field and fix.
// AWS identity and the history store are checked by Check and the caller.
func New(opts Options) (*Server, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("serve: Config and Store are required")
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Version)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.LeasePoll <= 0 {
		opts.LeasePoll = time.Second
	}
	if opts.LeaseRenew <= 0 {
		opts.LeaseRenew = orgLeaseTTL / 4
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: opts.Metrics, clock: opts.Clock, kinds: map[string]*kindState{}}
	s.do = s.useCase
	for _, k := range serveconf.Kinds {
		s.kinds[k] = &kindState{}
	}
	s.metrics.initKinds(serveconf.Kinds)
	sc := opts.Config.Serve
	addr := s.listenAddr(sc)
	where := at(opts.Config, opts.ConfigFile)
	if opts.Listen != "" {
		if err := serveconf.CheckListen(opts.Listen); err != nil {
			return nil, &StartError{Kind: ProblemConfig, Where: "--listen", Err: err}
		}
	}
	creds, err := loadCredentials(sc.Auth, opts.Getenv)
	if err != nil {
		return nil, &StartError{Kind: ProblemConfig, Where: where("serve.auth.basic.password_env"), Err: err}
	}
	if !creds.any() && !serveconf.IsLoopback(addr) {
		return nil, &StartError{Kind: ProblemConfig, Where: where("serve.auth"),
			Err: fmt.Errorf("listening on %s, which is not loopback, needs authentication: set the environment variable %s to a bearer token (its name is serve.auth.bearer_token_env), or configure serve.auth.basic; or listen on 127.0.0.1", addr, orDefault(sc.Auth.BearerTokenEnv, serveconf.DefaultBearerTokenEnv))}
	}
	s.creds.Store(creds)
	if sc.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(sc.TLS.CertFile, sc.TLS.KeyFile)
		if err != nil {
			return nil, &StartError{Kind: ProblemConfig, Where: where("serve.tls"),
				Err: fmt.Errorf("load the certificate %s and key %s: %w: both must be PEM files, the key matching the certificate", sc.TLS.CertFile, sc.TLS.KeyFile, err)}
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.ln = opts.Listener
	if s.ln == nil {
		field := where("serve.listen")
		if opts.Listen != "" {
			field = "--listen"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, &StartError{Kind: ProblemListen, Where: field,
				Err: fmt.Errorf("cannot listen on %s: %w: choose a free port on an address of this host (another keyrot serve may be running)", addr, err)}
		}
		s.ln = ln
	}
	s.cfg.Store(opts.Config)
	s.metrics.configLoaded(true, time.Now())
	return s, nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// listenAddr is --listen, else serve.listen.
func (s *Server) listenAddr(sc *serveconf.Config) string {
	if s.opts.Listen != "" {
		return s.opts.Listen
	}
	return sc.Listen
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is cancelled, then stops the schedules, waits for
// the runs in flight (bounded by serve.drain_timeout) and returns nil, or
// an error if the runs did not finish in time or the listener failed.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, TLSConfig: s.tls,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() {
		if s.tls != nil {
			served <- srv.ServeTLS(s.ln, "", "")
			return
		}
		served <- srv.Serve(s.ln)
	}()
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	hup := s.opts.Signals
	if hup == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		hup = ch
	}
	stopSchedules := s.startSchedules(ctx)
	s.log.Info("serving", "addr", s.ln.Addr().String(), "tls", s.tls != nil, "config", s.opts.ConfigFile)
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			if s.Reload() {
				stopSchedules()
				stopSchedules = s.startSchedules(ctx)
			}
		case err := <-served:
			serveErr = fmt.Errorf("serve http: %w", err)
			break loop
		}
	}
	stopSchedules()
	drainErr := s.drain()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	s.log.Info("stopped")
	return errors.Join(serveErr, drainErr)
}

// drain refuses new runs and waits for those going, up to the drain
// timeout. Their context is already cancelled: each finishes the action in
// flight, starts no other, tells the owners and records its end.
func (s *Server) drain() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timeout := s.cfg.Load().Serve.DrainTimeout
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		s.log.Error("runs still going after the drain timeout; exiting anyway", "drain_timeout", timeout.String())
		return fmt.Errorf("runs still going after the drain timeout (serve.drain_timeout %s)", timeout)
	}
}

// Reload reads the configuration file again. A file with problems is
// rejected and the configuration in force kept; either way the result is
// logged and set in keyrot_config_last_reload_successful. It reports
// whether the new configuration is in force.
func (s *Server) Reload() bool {
	ok := s.reload()
	s.metrics.configLoaded(ok, time.Now())
	return ok
}

func (s *Server) reload() bool {
	if s.opts.ConfigFile == "" {
		s.log.Warn("config reload: no configuration file; the built-in defaults stay in force")
		return false
	}
	c, err := config.Load(s.opts.ConfigFile)
	if err != nil {
		s.log.Error("config reload rejected; the previous configuration stays in force", "file", s.opts.ConfigFile, "err", err.Error())
		return false
	}
	old := s.cfg.Load()
	addr := s.listenAddr(c.Serve)
	creds, err := loadCredentials(c.Serve.Auth, s.opts.Getenv)
	if err == nil && !creds.any() && !serveconf.IsLoopback(s.ln.Addr().String()) {
		err = fmt.Errorf("serve.auth: the listener is not on loopback and the new configuration has no credentials")
	}
	if err != nil {
		s.log.Error("config reload rejected; the previous configuration stays in force", "file", s.opts.ConfigFile, "err", err.Error())
		return false
	}
	if addr != s.listenAddr(old.Serve) || c.Serve.TLS != old.Serve.TLS {
		s.log.Warn("serve.listen and serve.tls take effect at the next start, not at a reload", "file", s.opts.ConfigFile)
	}
	s.creds.Store(creds)
	s.cfg.Store(c)
	s.log.Info("config reloaded", "file", s.opts.ConfigFile)
	return true
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config { return s.cfg.Load() }
