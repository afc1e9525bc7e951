package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
		PID: os.Getpid(), ProcStart: processStart(os.Getpid()), Started: r.now(), Heartbeat: wall})
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
// runs of this host. Where the process start time is known (Linux), a PID
// now used by another process is not the run's.
func (r *App) liveness(host string, pid int, procStart int64) (alive, known bool) {
	if host != r.Host || pid <= 0 {
		return false, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false, true
	}
	if procStart != 0 {
		if now := processStart(pid); now != 0 && now != procStart {
			return false, true // the PID was reused
		}
	}
	return true, true
}

// processStart returns when process pid started, in clock ticks since
// boot (field 22 of /proc/PID/stat), or 0 where that cannot be read.
func processStart(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0
	}
	v, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}
