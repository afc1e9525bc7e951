package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/keyrot/keyrot/internal/history"
)

// finishTimeout bounds the history writes that close a run, which are made
// even when the run was cancelled.
const finishTimeout = 30 * time.Second

// run is the record of one use case's run in the history: started before
// anything is read, kept alive by a heartbeat, finished whatever happens.
type run struct {
	app  *App
	id   int64
	stop context.CancelFunc
	done chan struct{}
}

// beginRun marks earlier runs whose process died as interrupted, then
// records this run's start and keeps its heartbeat going until finish.
func (r *App) beginRun(ctx context.Context, command, mode string) (*run, error) {
	if r.History == nil {
		return nil, errors.New("no history store configured")
	}
	wall := time.Now()
	marked, err := r.History.MarkInterrupted(ctx, r.liveness, wall.Add(-staleAfter), r.now())
	if err != nil {
		r.log().Warn("mark interrupted runs", "err", err)
	}
	for _, m := range marked {
		r.log().Warn("an earlier run ended without finishing; marked interrupted", "run", m.ID, "command", m.Command, "host", m.Host, "pid", m.PID)
	}
	id, err := r.History.StartRun(ctx, history.Run{Command: command, Mode: mode, Host: r.Host, Version: r.Version,
		PID: os.Getpid(), Started: r.now(), Heartbeat: wall})
	if err != nil {
		return nil, fmt.Errorf("record %s run: %w", command, err)
	}
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	rn := &run{app: r, id: id, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(rn.done)
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case now := <-t.C:
				if err := r.History.Heartbeat(hctx, id, now); err != nil {
					r.log().Warn("run heartbeat", "run", id, "err", err)
				}
			}
		}
	}()
	return rn, nil
}

// finish records how the run ended. It is made with a context detached
// from ctx (a cancelled run is still recorded) but bounded in time.
func (rn *run) finish(ctx context.Context, status, summary string) {
	rn.stop()
	<-rn.done
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err := rn.app.History.FinishRun(fctx, rn.id, status, summary, rn.app.now()); err != nil {
		rn.app.log().Error("record run end", "run", rn.id, "status", status, "err", err)
	}
}

// liveness tells whether a run's process is alive; it can tell only for
// runs of this host.
func (r *App) liveness(host string, pid int) (alive, known bool) {
	if host != r.Host || pid <= 0 {
		return false, false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), true
}
