package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/serveconf"
)

// OrgLeaseScope is the lease every run of keyrot serve holds: one run at a
// time per organization, across every serve sharing the history store.
const OrgLeaseScope = "org"

// orgLeaseTTL is how long the organization lease lasts between renewals:
// a serve that dies frees the organization after it.
const orgLeaseTTL = 2 * time.Minute

// leaser is the part of the history store that holds leases.
type leaser interface {
	AcquireLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error)
	RenewLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error)
	ReleaseLease(ctx context.Context, scope, owner string) error
}

// StartRun starts a run of kind ("audit" or "apply") now and returns its
// ID. It fails with ErrRunning when a run of that kind is already going,
// and with ErrClosing once the server is shutting down.
func (s *Server) StartRun(kind, trigger string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.kinds[kind]
	switch {
	case !ok:
		return "", fmt.Errorf("unknown kind of run %q", kind)
	case s.closing:
		return "", ErrClosing
	case st.running != "":
		return "", fmt.Errorf("%w: %s", ErrRunning, st.running)
	}
	id := newRunID(kind, s.clock.Now())
	st.running = id
	ctx := s.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	s.wg.Add(1)
	s.metrics.runStarted(kind)
	go func() {
		defer s.wg.Done()
		s.run(ctx, kind, id, trigger)
	}()
	return id, nil
}

// newRunID names a run: its kind, start time and a random suffix.
func newRunID(kind string, now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return kind + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// run carries out one run with the configuration in force and records its
// outcome in the metrics, the readiness state and one log line.
func (s *Server) run(ctx context.Context, kind, id, trigger string) {
	cfg := s.cfg.Load()
	sc := cfg.Serve.Schedules[kind]
	log := s.log.With("run_id", id)
	start := time.Now()
	rctx, cancel := context.WithTimeoutCause(ctx, sc.Deadline,
		fmt.Errorf("the run reached its deadline (serve.schedules.%s.deadline %s): %w", kind, sc.Deadline, context.DeadlineExceeded))
	defer cancel()
	var res runResult
	err := s.withOrgLease(rctx, id, log, func(lctx context.Context) error {
		var err error
		res, err = s.do(lctx, kind, cfg, log)
		return err
	})
	historyRun, detail := res.historyRun, res.detail
	outcome := classify(ctx, rctx, err)
	d := time.Since(start)
	s.finished(kind, outcome, start, d)
	attrs := []any{"run_id", id, "kind", kind, "trigger", trigger, "outcome", outcome, "duration", d.Round(time.Millisecond).String()}
	if historyRun != 0 {
		attrs = append(attrs, "history_run", historyRun)
	}
	if detail != "" {
		attrs = append(attrs, "summary", detail)
	}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	lvl := slog.LevelInfo
	if outcome == OutcomeFailed || outcome == OutcomeDeadline {
		lvl = slog.LevelError
	}
	s.log.Log(context.Background(), lvl, "run", attrs...)
}

// runResult is what a run reports besides its error.
type runResult struct {
	// historyRun is the run's record in the history, if it has one.
	historyRun int64
	detail     string
}

// useCase runs the use case of kind with a fresh App built from cfg, and
// records its results in the metrics.
func (s *Server) useCase(ctx context.Context, kind string, cfg *config.Config, log *slog.Logger) (runResult, error) {
	a := s.newApp(cfg, log)
	if kind == serveconf.KindAudit {
		res, err := a.Audit(ctx, app.AuditRequest{})
		if res == nil {
			return runResult{}, err
		}
		s.metrics.observeAudit(res.Result)
		if perr := app.Partial(res.Snapshot); perr != nil && err == nil {
			err = perr
		}
		return runResult{detail: fmt.Sprintf("%d findings", len(res.Findings))}, err
	}
	// An unattended scheduled apply: the request keyrot apply --yes builds,
	// with the policy's scope and guardrails.
	res, err := a.Apply(ctx, app.ApplyRequest{})
	if res == nil {
		return runResult{}, err
	}
	s.metrics.observeApply(res)
	return runResult{historyRun: res.RunID, detail: res.Summary}, err
}

// classify names a run's outcome. Changes blocked until a person acts, and
// new keys not yet verified, are a run that did its job: the blocked
// rotations metric and the next run take them up.
func classify(parent, rctx context.Context, err error) string {
	switch {
	case err == nil, errors.Is(err, app.ErrBlocked) && !errors.Is(err, app.ErrChangesFailed) && !errors.Is(err, app.ErrDenied),
		errors.Is(err, app.ErrPending) && !errors.Is(err, app.ErrChangesFailed) && !errors.Is(err, app.ErrDenied):
		return OutcomeSucceeded
	case parent.Err() != nil:
		return OutcomeInterrupted
	case rctx.Err() != nil:
		return OutcomeDeadline
	case errors.Is(err, app.ErrPartial):
		return OutcomePartial
	}
	return OutcomeFailed
}

// finished records a run's end: metrics and the readiness streak.
func (s *Server) finished(kind, outcome string, start time.Time, d time.Duration) {
	s.metrics.runFinished(kind, outcome, start, d)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.kinds[kind]
	st.running = ""
	switch outcome {
	case OutcomeFailed, OutcomeDeadline:
		if st.failingSince.IsZero() {
			st.failingSince = s.clock.Now().Add(-d)
		}
	case OutcomeSucceeded, OutcomePartial:
		st.failingSince = time.Time{}
	}
}

// newApp builds a run's App from the configuration in force.
func (s *Server) newApp(cfg *config.Config, log *slog.Logger) *app.App {
	a := &app.App{Policy: cfg.Policy, Notify: cfg.Notify, AWS: s.opts.AWS, History: s.opts.Store, Logger: log,
		Now: s.opts.Now, Host: s.opts.Host, Version: s.opts.Version, Retention: time.Duration(cfg.History.Retention), Deliver: cfg.Deliver}
	if s.opts.Configure != nil {
		s.opts.Configure(a)
	}
	return a
}

// withOrgLease runs fn holding the organization lease, waiting for it
// while another run (of this serve or another on the same store) holds it,
// and renewing it while fn runs. Waiting ends with ctx. Should the lease
// be lost (it expired while renewals failed, and another run took it), the
// context fn gets is cancelled, so that the run stops between actions
// rather than act beside the new holder.
func (s *Server) withOrgLease(ctx context.Context, id string, log *slog.Logger, fn func(context.Context) error) error {
	l, ok := s.opts.Store.(leaser)
	if !ok {
		return fn(ctx)
	}
	owner := "serve-" + id + "@" + orDefault(s.opts.Host, "localhost")
	waiting := false
	for {
		_, err := l.AcquireLease(ctx, OrgLeaseScope, owner, orgLeaseTTL, time.Time{})
		if err == nil {
			break
		}
		var held *history.LeaseHeldError
		if !errors.As(err, &held) {
			return fmt.Errorf("take the organization lease: %w", err)
		}
		if !waiting {
			log.Info("waiting for the organization lease", "holder", held.Holder, "expires", held.Expires.UTC().Format(time.RFC3339))
			waiting = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the organization lease held by %s: %w", held.Holder, context.Cause(ctx))
		case <-time.After(s.opts.LeasePoll):
		}
	}
	fctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(s.opts.LeaseRenew)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				_, err := l.RenewLease(rctx, OrgLeaseScope, owner, orgLeaseTTL, time.Time{})
				switch {
				case errors.Is(err, history.ErrLeaseNotHeld):
					log.Error("organization lease lost; stopping the run between actions", "err", err.Error())
					lost(fmt.Errorf("the organization lease was lost: %w", err))
					return
				case err != nil:
					// The lease lasts four renewals: a passing store
					// error is retried at the next tick.
					log.Warn("renew the organization lease", "err", err.Error())
				}
			}
		}
	}()
	defer func() {
		stop()
		<-renewed
		rel, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := l.ReleaseLease(rel, OrgLeaseScope, owner); err != nil {
			log.Warn("release the organization lease", "err", err.Error())
		}
	}()
	return fn(fctx)
}
