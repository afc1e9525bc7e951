package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

// StartRun records the start of a run and returns its ID. Only Command,
// Mode, Host, Version and Started are read from r.
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	if err := requireText("command", r.Command); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	if err := oneOf("mode", r.Mode, ModeEnforce, ModeAuditOnly, ModeDryRun); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	for _, f := range []struct{ name, v string }{{"host", r.Host}, {"version", r.Version}} {
		if err := checkNoSecret(f.name, f.v); err != nil {
			return 0, fmt.Errorf("start run: %w", err)
		}
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO runs (command, mode, host, version, started_at, status) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Command, r.Mode, r.Host, r.Version, formatTime(orNow(r.Started)), RunRunning)
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
	if err := oneOf("status", status, RunSucceeded, RunFailed, RunInterrupted); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	if err := checkNoSecret("summary", summary); err != nil {
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
	if cur != RunRunning {
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

const runColumns = `id, command, mode, host, version, started_at, status, summary, finished_at`

func scanRuns(rows *sql.Rows) ([]Run, error) {
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started string
		var finished sql.NullString
		if err := rows.Scan(&r.ID, &r.Command, &r.Mode, &r.Host, &r.Version, &started, &r.Status, &r.Summary, &finished); err != nil {
			return nil, err
		}
		var err error
		if r.Started, err = parseTime(started); err != nil {
			return nil, err
		}
		if r.Finished, err = parseNullTime(finished); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
