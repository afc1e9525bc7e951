package serve

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/serveconf"
)

// Clock is the time the schedules run by: the system's, or a fake in tests.
type Clock interface {
	Now() time.Time
	// After is time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// startSchedules starts one scheduler per kind of run with the schedules
// in force, and returns the function that stops them all.
func (s *Server) startSchedules(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, kind := range serveconf.Kinds {
		sc := s.cfg.Load().Serve.Schedules[kind]
		if sc.Disabled || sc.Next == nil {
			s.log.Info("schedule disabled", "kind", kind)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.schedule(ctx, kind, sc)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// schedule starts a run of kind at every time sc gives, until ctx ends. A
// start that finds the previous run of the kind still going is skipped.
func (s *Server) schedule(ctx context.Context, kind string, sc serveconf.Schedule) {
	for {
		now := s.clock.Now()
		next := sc.Next.Next(now)
		if next.IsZero() {
			s.log.Warn("schedule has no next start", "kind", kind, "cron", sc.Cron)
			return
		}
		s.log.Debug("next scheduled run", "kind", kind, "at", next.Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(next.Sub(now)):
		}
		if _, err := s.StartRun(kind, "schedule"); err != nil {
			if errors.Is(err, ErrClosing) {
				return
			}
			s.log.Warn("scheduled run skipped", "kind", kind, "reason", err.Error())
		}
	}
}
