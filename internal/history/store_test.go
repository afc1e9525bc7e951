package history

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 has a nanosecond fraction with trailing zeros, to prove the stored
// text keeps full precision and ordering.
var t0 = time.Date(2026, 11, 1, 10, 0, 0, 120000000, time.UTC)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "history.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	// A write makes SQLite create the -wal and -shm files.
	if _, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: t0}); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		filepath.Dir(path): 0o700 | os.ModeDir,
		path:               0o600,
		path + "-wal":      0o600,
		path + "-shm":      0o600,
	}
	got := map[string]os.FileMode{}
	for p := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		got[p] = fi.Mode()
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("file modes (-want +got):\n%s", d)
	}

	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys = %d, want 1", fk)
	}
}

func TestOpenMigratesEmptyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second Open finds nothing to do
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != len(migrations) {
			t.Errorf("Open #%d: schema version %d, want %d", i+1, v, len(migrations))
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(migrations) {
			t.Errorf("Open #%d: %d schema_version rows, want %d", i+1, n, len(migrations))
		}
		s.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	future := len(migrations) + 1
	if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, future, formatTime(t0)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a version %d file: err = %v, want ErrSchemaTooNew", future, err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "/tmp/x.db?mode=ro"} {
		t.Run(path, func(t *testing.T) {
			if _, err := Open(context.Background(), path); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open(%q) err = %v, want ErrInvalid", path, err)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name          string
		stateDir, xdg string
		home          string
		want          string
	}{
		{name: "override", stateDir: "/srv/keyrot", xdg: "/x", home: "/home/a", want: "/srv/keyrot/history.db"},
		{name: "xdg", xdg: "/x/state", home: "/home/a", want: "/x/state/keyrot/history.db"},
		{name: "relative xdg ignored", xdg: "rel", home: "/home/a", want: "/home/a/.local/state/keyrot/history.db"},
		{name: "home", home: "/home/a", want: "/home/a/.local/state/keyrot/history.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KEYROT_STATE_DIR", tt.stateDir)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultPath()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimeTextSortsChronologically(t *testing.T) {
	// RFC3339Nano trims zeros, so "…:00Z" would sort after "…:00.5Z".
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(500 * time.Millisecond)
	c := a.Add(time.Second)
	fa, fb, fc := formatTime(a), formatTime(b), formatTime(c)
	if !(fa < fb && fb < fc) {
		t.Errorf("text order broken: %q %q %q", fa, fb, fc)
	}
	got, err := parseTime(formatTime(t0.In(time.FixedZone("x", 3600))))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(t0) || got.Location() != time.UTC {
		t.Errorf("round trip = %v, want %v in UTC", got, t0)
	}
}

// TestConcurrentOpenOfNewFile: several handles opening a fresh file at once
// all succeed and the migrations run exactly once.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var rows int
	if err := stores[0].db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(migrations) {
		t.Errorf("%d schema_version rows, want %d", rows, len(migrations))
	}
}

func BenchmarkJournalAction(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	run, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: t0})
	if err != nil {
		b.Fatal(err)
	}
	a := Action{Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001", Kind: KindDeactivateKey,
		Reason: "rotated", Evidence: `{"key_age_days":97}`, Started: t0}
	for b.Loop() {
		id, err := s.BeginAction(ctx, run, a)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.EndAction(ctx, id, Outcome{Status: ActionSucceeded, Finished: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcquireReleaseLease(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.AcquireLease(ctx, "111111111111", "bench", time.Minute, t0); err != nil {
			b.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, "111111111111", "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
