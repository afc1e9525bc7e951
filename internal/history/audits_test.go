package history

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testDay = 24 * time.Hour

func auditRun(t *testing.T, s *Store, started time.Time) int64 {
	t.Helper()
	id, err := s.StartRun(context.Background(), Run{Command: "audit", Mode: ModeAuditOnly, Host: "h", Started: started})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(context.Background(), id, RunSucceeded, "ok", started.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	return id
}

func sampleAudit(id int64, at time.Time) Audit {
	return Audit{RunID: id, GeneratedAt: at,
		Summary: AuditSummary{AccountsAudited: 1, Findings: 1, Exempt: 1, BySeverity: map[string]int{"high": 1}, KeysActive: 3, KeysPast90: 1,
			Controls: []ControlCompliance{{Framework: "security_hub", Control: "IAM.3", Evaluated: 3, Failing: 1}}},
		Findings: []AuditFinding{
			{ID: "access-key-age/111111111111/app/AKIAEXAMPLEEXAMPLE01", Rule: "access-key-age", Severity: "high", Account: "111111111111", User: "app",
				KeyID: "AKIAEXAMPLEEXAMPLE01", Title: "Access key not rotated"},
			{ID: "access-key-age/111111111111/vendor/AKIAEXAMPLEEXAMPLE02", Rule: "access-key-age", Severity: "medium", Account: "111111111111", User: "vendor",
				KeyID: "AKIAEXAMPLEEXAMPLE02", Title: "Access key not rotated", Exempt: true, ExemptionMatch: "user:vendor",
				ExemptionReason: "ticket SEC-42", ExemptionExpires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		// A generated user name that looks random is kept; names are not screened.
		WriteReport: reportOf(sampleReport),
	}
}

// sampleReport is sampleAudit's report.
const sampleReport = `{"result":{"findings":[]},"snapshot":{"accounts":[{"id":"111111111111","users":[{"name":"TerraformDeployUser2024ProductionAccount","keys":[]}]}]}}`

// reportOf is an Audit.WriteReport that writes doc.
func reportOf(doc string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, doc)
		return err
	}
}

func TestAuditRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	id1 := auditRun(t, s, t0)
	id2 := auditRun(t, s, t0.Add(testDay))
	want := sampleAudit(id1, t0)
	if err := s.SaveAudit(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAudit(ctx, sampleAudit(id2, t0.Add(testDay))); err != nil {
		t.Fatal(err)
	}
	got, err := s.Audit(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	saved := want
	saved.Report, saved.WriteReport = []byte(sampleReport), nil
	if d := cmp.Diff(saved, got); d != "" {
		t.Errorf("audit read back (-saved +read):\n%s", d)
	}
	if err := s.SaveAudit(ctx, want); err == nil {
		t.Error("a second audit for the same run was accepted")
	}
	list, err := s.Audits(ctx, t0.Add(time.Hour), time.Time{})
	if err != nil || len(list) != 1 || list[0].RunID != id2 || list[0].Summary.KeysPast90 != 1 {
		t.Errorf("Audits from t0+1h: %+v, %v", list, err)
	}
	latest, ok, err := s.LatestAudit(ctx, t0.Add(time.Hour))
	if err != nil || !ok || latest.RunID != id1 || !latest.GeneratedAt.Equal(t0) || latest.Summary.KeysPast90 != 1 {
		t.Errorf("LatestAudit before t0+1h: %+v %v %v", latest, ok, err)
	}
	if _, ok, _ := s.LatestAudit(ctx, t0); ok {
		t.Error("LatestAudit before the first audit found one")
	}
	if _, err := s.Audit(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Audit of an unknown run: %v", err)
	}
}

// TestAuditRefusesSecrets: a secret in a finding's text or anywhere in the
// report (but a name) is refused, the error does not repeat it, and no
// byte of it reaches the files.
func TestAuditRefusesSecrets(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	id := auditRun(t, s, t0)
	for name, mutate := range map[string]func(*Audit){
		"title":            func(a *Audit) { a.Findings[0].Title = "key " + fakeSecret },
		"exemption reason": func(a *Audit) { a.Findings[1].ExemptionReason = fakeSecret },
		"report detail": func(a *Audit) {
			a.WriteReport = reportOf(`{"result":{"findings":[{"evidence":{"detail":"` + fakeSecret + `"}}]}}`)
		},
		"report token": func(a *Audit) { a.WriteReport = reportOf(`{"x":"` + fakeSessionToken + `"}`) },
		"report array under a name's object": func(a *Audit) {
			a.WriteReport = reportOf(`{"users":[{"name":"x","tags":{"note":["a","` + fakeSecret + `"]}}]}`)
		},
	} {
		a := sampleAudit(id, t0)
		mutate(&a)
		err := s.SaveAudit(ctx, a)
		if !errors.Is(err, ErrSecretMaterial) {
			t.Errorf("%s: err = %v, want ErrSecretMaterial", name, err)
		}
		if err != nil && (strings.Contains(err.Error(), fakeSecret) || strings.Contains(err.Error(), fakeSessionToken)) {
			t.Errorf("%s: the error repeats the secret", name)
		}
	}
	if err := s.SavePlanItems(ctx, id, []PlanItem{{Item: PlanBlocked, Kind: "deactivate-key", Account: "111111111111", User: "u", Reason: fakeSecret}}); !errors.Is(err, ErrSecretMaterial) {
		t.Errorf("plan item reason: err = %v", err)
	}
	if _, err := s.Audit(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused audit was stored: %v", err)
	}
	s.Close()
	grepDir(t, filepath.Dir(path), fakeSecret, false)
}

// TestUpgradeFromVersion2: a database written by the previous keyrot
// (schema version 2, with a run and its journal) opens at the current
// version with its rows intact, and takes audits.
func TestUpgradeFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`, migrations[0], migrations[1],
		`INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000000000Z'), (2, '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO runs (command, mode, started_at, status, finished_at) VALUES ('apply', 'enforce', '2026-01-02T00:00:00.000000000Z', 'succeeded', '2026-01-02T00:01:00.000000000Z')`,
		`INSERT INTO actions (run_id, account, user_name, key_id, kind, started_at, status) VALUES (1, '111111111111', 'app', 'AKIAEXAMPLEEXAMPLE01', 'create-key', '2026-01-02T00:00:10.000000000Z', 'started')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) || v < 3 {
		t.Fatalf("schema version %d after upgrade, want %d", v, len(migrations))
	}
	r, err := s.Run(ctx, 1)
	if err != nil || r.Command != "apply" || r.Status != RunSucceeded {
		t.Errorf("the old run: %+v %v", r, err)
	}
	if acts, err := s.UnfinishedActions(ctx); err != nil || len(acts) != 1 || acts[0].KeyID != "AKIAEXAMPLEEXAMPLE01" {
		t.Errorf("the old journal: %+v %v", acts, err)
	}
	id := auditRun(t, s, t0)
	if err := s.SaveAudit(ctx, sampleAudit(id, t0)); err != nil {
		t.Fatalf("audit after upgrade: %v", err)
	}
	if list, err := s.Audits(ctx, time.Time{}, time.Time{}); err != nil || len(list) != 1 {
		t.Errorf("audits after upgrade: %+v %v", list, err)
	}
}

// TestPruneKeepsJournal: retention removes old audits (summaries, findings,
// reports), their runs and old plan items, and keeps newer audits and the
// whole journal, even of an old run whose rotation never finished.
func TestPruneKeepsJournal(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	old := t0.Add(-500 * testDay)
	oldAudit := auditRun(t, s, old)
	newAudit := auditRun(t, s, t0.Add(-10*testDay))
	for _, a := range []Audit{sampleAudit(oldAudit, old), sampleAudit(newAudit, t0.Add(-10*testDay))} {
		if err := s.SaveAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	apply, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: old})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginAction(ctx, apply, Action{Account: "111111111111", User: "app", KeyID: "AKIAEXAMPLEEXAMPLE01", Kind: KindCreateKey, Started: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordKeyEvent(ctx, KeyEvent{Account: "111111111111", User: "app", KeyID: "AKIAEXAMPLEEXAMPLE01", Event: EventCreated, At: old, RunID: apply}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePlanItems(ctx, apply, []PlanItem{{Item: PlanBlocked, Kind: "deactivate-key", Account: "111111111111", User: "pair", Reason: "two keys"}}); err != nil {
		t.Fatal(err)
	}
	// An old audit run still running (a live process) is not removed.
	running, err := s.StartRun(ctx, Run{Command: "audit", Mode: ModeAuditOnly, Started: old})
	if err != nil {
		t.Fatal(err)
	}

	p, err := s.Prune(ctx, t0.Add(-400*testDay))
	if err != nil {
		t.Fatal(err)
	}
	if p != (Pruned{Audits: 1, Runs: 1, PlanItems: 1}) {
		t.Errorf("pruned %+v, want 1 audit, 1 run, 1 plan item", p)
	}
	if _, err := s.Audit(ctx, oldAudit); !errors.Is(err, ErrNotFound) {
		t.Errorf("old audit: %v", err)
	}
	if _, err := s.Run(ctx, oldAudit); !errors.Is(err, ErrNotFound) {
		t.Errorf("old audit run: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_findings WHERE run_id = ?`, oldAudit).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d findings of the pruned audit left (%v)", n, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_report_chunks WHERE run_id = ?`, oldAudit).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d report chunks of the pruned audit left (%v)", n, err)
	}
	if a, err := s.Audit(ctx, newAudit); err != nil || len(a.Findings) != 2 {
		t.Errorf("recent audit: %+v %v", a, err)
	}
	for _, id := range []int64{apply, running} {
		if _, err := s.Run(ctx, id); err != nil {
			t.Errorf("run %d: %v", id, err)
		}
	}
	if acts, err := s.UnfinishedActions(ctx); err != nil || len(acts) != 1 {
		t.Errorf("the unfinished rotation's journal: %+v %v", acts, err)
	}
	if evs, err := s.KeyEvents(ctx, "111111111111", "app"); err != nil || len(evs) != 1 {
		t.Errorf("key events: %+v %v", evs, err)
	}
	if _, err := s.Prune(ctx, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero cutoff: %v", err)
	}
}

// TestCheckReport: the report is screened token by token with the member
// names as the whole-document walk saw them: names (and arrays of them)
// pass, any other string shaped like a secret is refused, and anything
// but one JSON value is invalid.
func TestCheckReport(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want error
	}{
		{`{"users":[{"name":"` + fakeSecret + `","groups":["` + fakeSecret + `"]}]}`, nil},
		{`{"arn":{"note":"` + fakeSecret + `"}}`, ErrSecretMaterial},
		{`{"groups":[["ok"],{"detail":"` + fakeSecret + `"}]}`, ErrSecretMaterial},
		{`{"id":"` + fakeSecret + `","x":[1,true,null,{"y":"z"}],"detail":"` + fakeSecret + `"}`, ErrSecretMaterial},
		{`["` + fakeSessionToken + `"]`, ErrSecretMaterial},
		{`{"a":1,"b":[{},[]],"c":"plain text"}`, nil},
		{`{"a":1}{"b":2}`, ErrInvalid},
		{`{"a":[1,2}`, ErrInvalid},
		{`{"a":1`, ErrInvalid},
		{``, ErrInvalid},
	} {
		err := checkReport(strings.NewReader(c.doc))
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("checkReport(%.60q) = %v, want %v", c.doc, err, c.want)
		}
	}
}

// bigReport writes a JSON report of n numbers (numbers are not screened),
// then tail as the value of its last member.
func bigReport(n int, tail string) func(io.Writer) error {
	return func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString(`{"numbers":[`)
		x := uint64(88172645463325252)
		for i := range n {
			if i > 0 {
				bw.WriteByte(',')
			}
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			bw.WriteString(strconv.FormatUint(x, 10))
		}
		bw.WriteString(`],"detail":"` + tail + `"}`)
		return bw.Flush()
	}
}

// TestAuditReportInChunks: a report larger than a chunk is kept in several
// and read back whole; one whose secret comes after the first chunks were
// made, or that is not one JSON value, or whose writing fails (with the
// writer's own error), leaves nothing of the audit; a report kept whole by
// an earlier release (audits.report) still reads back.
func TestAuditReportInChunks(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	chunks := func(id int64) (n int) {
		t.Helper()
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_report_chunks WHERE run_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const numbers = 400_000 // about 8 MB of digits, 3 or more chunks compressed
	id := auditRun(t, s, t0)
	a := sampleAudit(id, t0)
	a.WriteReport = bigReport(numbers, "plain words")
	if err := s.SaveAudit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if n := chunks(id); n < 3 {
		t.Errorf("the report is kept in %d chunks, want 3 or more", n)
	}
	got, err := s.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	bigReport(numbers, "plain words")(&want)
	if !bytes.Equal(got.Report, want.Bytes()) {
		t.Errorf("report read back: %d bytes, want the %d written", len(got.Report), want.Len())
	}

	broke := errors.New("encoder broke")
	for name, c := range map[string]struct {
		write func(io.Writer) error
		want  error
	}{
		"late secret": {bigReport(numbers, fakeSecret), ErrSecretMaterial},
		"write fails at the end": {func(w io.Writer) error {
			if err := bigReport(numbers, "x")(w); err != nil {
				return err
			}
			return broke
		}, broke},
		"write fails half-way": {func(w io.Writer) error {
			io.WriteString(w, `{"numbers":[1,2,`)
			return broke
		}, broke},
		"two values": {func(w io.Writer) error {
			if err := bigReport(numbers, "x")(w); err != nil {
				return err
			}
			_, err := io.WriteString(w, `{}`)
			return err
		}, ErrInvalid},
	} {
		id := auditRun(t, s, t0.Add(testDay))
		a := sampleAudit(id, t0.Add(testDay))
		a.WriteReport = c.write
		if err := s.SaveAudit(ctx, a); !errors.Is(err, c.want) {
			t.Errorf("%s: SaveAudit = %v, want %v", name, err, c.want)
		}
		if _, err := s.Audit(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: the audit was kept: %v", name, err)
		}
		if n := chunks(id); n != 0 {
			t.Errorf("%s: %d report chunks kept", name, n)
		}
	}

	// An audit kept by an earlier release, its report whole in audits.report.
	old := auditRun(t, s, t0.Add(2*testDay))
	var blob bytes.Buffer
	zw := gzip.NewWriter(&blob)
	zw.Write([]byte(sampleReport))
	zw.Close()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO audits (run_id, generated_at, summary, report) VALUES (?, ?, '{}', ?)`,
		old, formatTime(t0.Add(2*testDay)), blob.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Audit(ctx, old); err != nil || string(got.Report) != sampleReport {
		t.Errorf("report kept whole: %q, %v", got.Report, err)
	}
}

// TestAuditReportWrittenUnlocked: the report is made before the history's
// write lock is taken, so another process's writes (a heartbeat, a lease)
// are not held up while an organization's report is written.
func TestAuditReportWrittenUnlocked(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	id := auditRun(t, s, t0)
	a := sampleAudit(id, t0)
	a.WriteReport = func(w io.Writer) error {
		if _, err := io.WriteString(w, sampleReport); err != nil {
			return err
		}
		start := time.Now()
		if _, err := other.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Started: t0}); err != nil {
			return fmt.Errorf("another writer while the report is written: %w", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			return fmt.Errorf("another writer waited %v for the report", d)
		}
		return nil
	}
	if err := s.SaveAudit(ctx, a); err != nil {
		t.Fatal(err)
	}
}
