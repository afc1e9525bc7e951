package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run modes.
const (
	ModeEnforce   = "enforce"
	ModeAuditOnly = "audit-only"
	ModeDryRun    = "dry-run"
)

// Run statuses. A run is RunRunning from StartRun until FinishRun; one that
// stays running because its process died is marked RunAbandoned by
// MarkAbandoned.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
	RunAbandoned   = "abandoned"
)

// Run is one invocation of a keyrot command (apply, audit, rollback, rotate).
type Run struct {
	// ID is assigned by StartRun.
	ID int64
	// Command is the keyrot command, e.g. "apply".
	Command string
	// Mode is ModeEnforce, ModeAuditOnly or ModeDryRun.
	Mode string
	// Host and Version identify where and which keyrot ran.
	Host    string
	Version string
	// Started is when the run began; StartRun uses the current time if zero.
	Started time.Time
	// Status is RunRunning until the run is finished or abandoned.
	Status string
	// Summary is a one-line human summary given to FinishRun.
	Summary string
	// Finished is zero while the run is running and for abandoned runs.
	Finished time.Time
	// PID is the process that ran it, on Host (0 if unknown), and
	// ProcStart when that process started (in the host's own units, 0 if
	// unknown), so that a reused PID is not taken for the run's process.
	PID       int
	ProcStart int64
	// Heartbeat is when the run last said it was alive (zero if never).
	Heartbeat time.Time
	// Notified reports whether the run's notices were handed to the
	// notifier (or it had none to send). A run that changed keys and died
	// before notifying stays false until a later run sends its notices.
	Notified bool
}

// StartRun records the start of a run and returns its ID. Only Command,
// Mode, Host, Version, PID, ProcStart, Started and Heartbeat are read from r;
// Heartbeat defaults to the current wall-clock time (liveness is judged by
// real time, whatever clock the run judges keys by).
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	if err := ValidateRunStart(r); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO runs (command, mode, host, version, started_at, status, pid, proc_start, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Command, r.Mode, r.Host, r.Version, formatTime(orNow(r.Started)), RunRunning, r.PID, r.ProcStart, formatTime(orNow(r.Heartbeat)))
	if err != nil {
		return 0, fmt.Errorf("start %s run: %w", r.Command, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("start %s run: %w", r.Command, err)
	}
	return id, nil
}

// FinishRun records the end of a running run with status RunSucceeded,
// RunFailed or RunInterrupted. finished defaults to the current time if
// zero. Finishing a run that is not running fails with ErrAlreadyFinished.
func (s *Store) FinishRun(ctx context.Context, id int64, status, summary string, finished time.Time) error {
	if err := ValidateFinish(status, summary); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	defer tx.Rollback()
	var cur string
	err = tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("finish run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	// A run another process took for dead (RunInterrupted) is still
	// finished by its own process, which knows better.
	if cur != RunRunning && cur != RunInterrupted {
		return fmt.Errorf("finish run %d: run is %s: %w", id, cur, ErrAlreadyFinished)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, summary = ?, finished_at = ? WHERE id = ?`,
		status, summary, formatTime(orNow(finished)), id); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// MarkAbandoned marks every run still RunRunning that started before
// startedBefore as RunAbandoned (its Finished stays zero: nobody knows when
// the process died) and returns how many it marked. Its actions keep their
// recorded state, so a started-but-unfinished action stays visible. Choose
// startedBefore well beyond the longest possible run, or a live run in
// another process is mislabelled.
func (s *Store) MarkAbandoned(ctx context.Context, startedBefore time.Time) (int64, error) {
	if startedBefore.IsZero() {
		return 0, fmt.Errorf("mark abandoned runs: zero cutoff: %w", ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ? WHERE status = ? AND started_at < ?`,
		RunAbandoned, RunRunning, formatTime(startedBefore))
	if err != nil {
		return 0, fmt.Errorf("mark abandoned runs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("mark abandoned runs: %w", err)
	}
	return n, nil
}

// Run returns the run with the given ID, or an error wrapping ErrNotFound.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("read run %d: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

// ListRuns returns up to limit runs, newest first. A limit of zero or less
// means no limit.
func (s *Store) ListRuns(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

const runColumns = `id, command, mode, host, version, started_at, status, summary, finished_at, pid, proc_start, heartbeat_at, notified`

func scanRuns(rows *sql.Rows) ([]Run, error) {
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started string
		var finished, heartbeat sql.NullString
		if err := rows.Scan(&r.ID, &r.Command, &r.Mode, &r.Host, &r.Version, &started, &r.Status, &r.Summary, &finished,
			&r.PID, &r.ProcStart, &heartbeat, &r.Notified); err != nil {
			return nil, err
		}
		var err error
		if r.Started, err = parseTime(started); err != nil {
			return nil, err
		}
		if r.Finished, err = parseNullTime(finished); err != nil {
			return nil, err
		}
		if r.Heartbeat, err = parseNullTime(heartbeat); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Heartbeat records that the running run id is alive at now, so that no
// other process takes it for crashed (MarkInterrupted).
func (s *Store) Heartbeat(ctx context.Context, id int64, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = ?`,
		formatTime(orNow(now)), id, RunRunning); err != nil {
		return fmt.Errorf("heartbeat of run %d: %w", id, err)
	}
	return nil
}

// Liveness tells whether the process of a run still runs: alive reports
// whether process pid, started at procStart, runs on host, and known
// whether it can tell (it can only for the local host).
type Liveness func(host string, pid int, procStart int64) (alive, known bool)

// MarkInterrupted marks as RunInterrupted every run still RunRunning whose
// process is gone: live says so (it can tell for this host), or, where it
// cannot tell, the run's heartbeat is older than staleBefore. A process
// live says is running is never taken for dead, however old its heartbeat
// (a suspended laptop, a stepped clock). It returns the
// runs it marked, with their new status. Their actions keep their recorded
// state, and their Notified flag stays as it was, so the next run can still
// send what they did not.
func (s *Store) MarkInterrupted(ctx context.Context, live Liveness, staleBefore time.Time, now time.Time) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE status = ? ORDER BY id`, RunRunning)
	if err != nil {
		return nil, fmt.Errorf("find interrupted runs: %w", err)
	}
	running, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("find interrupted runs: %w", err)
	}
	var marked []Run
	for _, r := range running {
		last := r.Heartbeat
		if last.IsZero() {
			last = r.Started
		}
		dead := last.Before(staleBefore)
		if alive, known := live(r.Host, r.PID, r.ProcStart); known && r.PID > 0 {
			dead = !alive
		}
		if !dead {
			continue
		}
		res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, summary = ?, finished_at = ? WHERE id = ? AND status = ?`,
			RunInterrupted, strings.TrimSpace(r.Summary+" interrupted: its process ended without finishing the run"), formatTime(orNow(now)), r.ID, RunRunning)
		if err != nil {
			return marked, fmt.Errorf("mark run %d interrupted: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			r.Status = RunInterrupted
			marked = append(marked, r)
		}
	}
	return marked, nil
}

// MarkNotified records that the notices of the runs ids were sent.
func (s *Store) MarkNotified(ctx context.Context, ids ...int64) error {
	for _, id := range ids {
		if _, err := s.db.ExecContext(ctx, `UPDATE runs SET notified = 1 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("mark run %d notified: %w", id, err)
		}
	}
	return nil
}

// UnnotifiedRuns returns the finished runs of command in mode whose notices
// were never sent, oldest first.
func (s *Store) UnnotifiedRuns(ctx context.Context, command, mode string) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE notified = 0 AND status != ? AND command = ? AND mode = ? ORDER BY id`,
		RunRunning, command, mode)
	if err != nil {
		return nil, fmt.Errorf("list unnotified runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list unnotified runs: %w", err)
	}
	return runs, nil
}
