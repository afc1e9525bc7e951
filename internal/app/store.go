package app

import (
	"context"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/notify"
)

// Store is what the use cases need of the history: run records, the
// executor's journal and leases, the notifier's record of notices, and the
// story of a user's keys. history.Store (SQLite) is one implementation.
type Store interface {
	execute.History
	notify.History
	StartRun(ctx context.Context, r history.Run) (int64, error)
	FinishRun(ctx context.Context, id int64, status, summary string, finished time.Time) error
	Heartbeat(ctx context.Context, id int64, now time.Time) error
	MarkInterrupted(ctx context.Context, live history.Liveness, staleBefore, now time.Time) ([]history.Run, error)
	MarkNotified(ctx context.Context, ids ...int64) error
	UnnotifiedRuns(ctx context.Context, command, mode string) ([]history.Run, error)
	ActionsInRun(ctx context.Context, runID int64) ([]history.Action, error)
	ActionsFor(ctx context.Context, account, user string) ([]history.Action, error)
	KeyEvents(ctx context.Context, account, user string) ([]history.KeyEvent, error)
	ListRuns(ctx context.Context, limit int) ([]history.Run, error)
}

var _ Store = (*history.Store)(nil)
