// Package history is keyrot's embedded, append-mostly record of what it did
// and why: runs, write-ahead journaled actions, the key lifecycle dates that
// AWS does not keep, leases that stop two concurrent runs acting on the same
// account, and sent notices for de-duplication.
//
// It is a single SQLite file (pure Go driver, no cgo) in WAL mode, safe to
// share between goroutines, Store handles and processes on one host. It never
// stores secret material: every text written is screened (see
// ErrSecretMaterial). All times come from the caller and are stored as UTC
// RFC 3339 text with a fixed nine-digit fraction, so text order is time order.
// The schema and the lease semantics are documented in docs/history.md.
package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Errors returned by Store wrap one of these where it
// applies, so callers test with errors.Is.
var (
	// ErrNotFound means the run, action or lease named does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSchemaTooNew means the database was written by a newer keyrot whose
	// schema this binary does not know; upgrade keyrot rather than downgrade
	// the file.
	ErrSchemaTooNew = errors.New("history database schema is newer than this keyrot")
	// ErrAlreadyFinished means FinishRun or EndAction was called twice.
	ErrAlreadyFinished = errors.New("already finished")
	// ErrInvalid means an argument failed validation.
	ErrInvalid = errors.New("invalid argument")
)

// busyTimeout is how long a connection waits for another writer's lock
// before giving up with SQLITE_BUSY. Every write transaction is short, so
// this is generous.
const busyTimeout = 10 * time.Second

// Store is an open history database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

// DefaultPath returns where the history database lives when no path is
// given: $KEYROT_STATE_DIR/history.db if KEYROT_STATE_DIR is set, else
// $XDG_STATE_HOME/keyrot/history.db if XDG_STATE_HOME is an absolute path,
// else ~/.local/state/keyrot/history.db.
func DefaultPath() (string, error) {
	if d := os.Getenv("KEYROT_STATE_DIR"); d != "" {
		return filepath.Join(d, "history.db"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "keyrot", "history.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("history default path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "keyrot", "history.db"), nil
}

// Open opens the history database at path, creating its directory (mode
// 0700) and file (mode 0600) if they do not exist, and brings the schema up
// to date. Existing directories and files keep their modes. It fails with
// ErrSchemaTooNew if the file was written by a newer keyrot.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open history: empty path: %w", ErrInvalid)
	}
	if strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("open history %s: path must be a plain file path: %w", path, ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open history: create directory: %w", err)
	}
	// Create the file ourselves so it gets 0600; SQLite gives the -wal and
	// -shm files the same mode as the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}

	// busy_timeout first (the driver orders it first anyway), then WAL so
	// readers never block the writer, foreign keys on, and every
	// database/sql transaction begins IMMEDIATE: it takes the write lock up
	// front, so read-then-write transactions (the lease) are atomic and never
	// fail half-way with a lock upgrade error.
	dsn := path + "?" +
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	return s, nil
}

// migrateRetrying is migrate, tried again while SQLite answers
// SQLITE_BUSY, for up to busyTimeout. Opens of a fresh file race to switch
// it to WAL, and SQLite answers a BEGIN that meets that switch with
// SQLITE_BUSY at once, without calling the busy handler.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	wait := 5 * time.Millisecond
	for {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (database is locked).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close closes the database. The last connection to close checkpoints the
// write-ahead log into the main file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close history: %w", err)
	}
	return nil
}

// SchemaVersion returns the schema version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrate applies the migrations the database lacks, in order, in one
// IMMEDIATE transaction, so concurrent Opens of a fresh file serialise and
// each migration runs exactly once.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("file is at schema version %d, this keyrot knows up to %d: %w", current, len(migrations), ErrSchemaTooNew)
	}
	if current == len(migrations) {
		return nil // nothing to do; the rollback ends the read
	}
	now := formatTime(time.Now()) // bookkeeping only: when the migration ran
	for i := current; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("apply schema version %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, i+1, now); err != nil {
			return fmt.Errorf("record schema version %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction. Unlike
// time.RFC3339Nano it never trims trailing zeros, so stored times of the same
// zone (always UTC here) sort correctly as text. time.RFC3339Nano parses it.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime formats t, or returns NULL for the zero time.
func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// orNow returns t, or the current time if t is zero. It is the one place the
// package reads the clock, as the documented default for a missing time.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t.UTC()
}

func nullID(id int64) sql.NullInt64 {
	if id == 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: id, Valid: true}
}

// requireText returns an ErrInvalid error if v is empty, and checks it for
// secret material.
func requireText(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is empty: %w", field, ErrInvalid)
	}
	return checkNoSecret(field, v)
}

// requireID returns an ErrInvalid error if v is empty. Account IDs and IAM
// user names are not screened for secret shapes: a user name is up to 64
// word characters and a generated one can look random, and refusing to
// journal a real user would block its rotation.
func requireID(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is empty: %w", field, ErrInvalid)
	}
	return nil
}

// oneOf returns an ErrInvalid error unless v is in allowed.
func oneOf(field, v string, allowed ...string) error {
	if err := checkNoSecret(field, v); err != nil {
		return err
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %s: %w", field, v, strings.Join(allowed, ", "), ErrInvalid)
}
