package history

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"
)

// Audit is what one audit run leaves in the history: its summary (for
// trends), its findings (for what changed between two audits) and its whole
// report (an opaque JSON document the caller can render again).
type Audit struct {
	// RunID is the audit's run (command "audit").
	RunID int64
	// GeneratedAt is the time the audit judged the keys by.
	GeneratedAt time.Time
	Summary     AuditSummary
	Findings    []AuditFinding
	// EachFinding, when set, gives SaveAudit the findings instead of
	// Findings, one at a time: an organization's need not be copied into a
	// slice to be kept.
	EachFinding iter.Seq[AuditFinding]
	// Report is the audit's full result as JSON, as Audit reads it back;
	// empty when none was kept.
	Report []byte
	// WriteReport writes the report SaveAudit keeps (nil: none): JSON,
	// stored compressed, every string in it screened for secret material.
	// It is written piece by piece, so an organization's report is never
	// whole in memory: only its compressed form is.
	WriteReport func(io.Writer) error
}

// AuditSummary is the part of an audit drawn over time.
type AuditSummary struct {
	AccountsAudited int `json:"accounts_audited"`
	AccountsFailed  int `json:"accounts_failed"`
	// Findings counts the findings that are not exempt; Exempt the others.
	Findings int `json:"findings"`
	Exempt   int `json:"exempt"`
	// BySeverity counts the findings that are not exempt by severity name.
	BySeverity map[string]int `json:"by_severity,omitempty"`
	// KeysActive counts the active access keys audited; KeysPast90 those
	// created more than 90 days before GeneratedAt.
	KeysActive int `json:"keys_active"`
	KeysPast90 int `json:"keys_past_90"`
	// Controls is the compliance per control.
	Controls []ControlCompliance `json:"controls"`
	// ByKind counts credentials and findings by credential kind (access
	// keys, ACM certificates, secrets, trust anchors, ...); absent from
	// audits recorded before it was kept.
	ByKind map[string]KindSummary `json:"by_kind,omitempty"`
}

// KindSummary is one credential kind's share of an audit.
type KindSummary struct {
	// Credentials counts the kind's credentials (the inventory's rows).
	Credentials int `json:"credentials"`
	// Findings counts its findings that are not exempt, Severe those of
	// them that are critical or high, Exempt the exempt ones.
	Findings int `json:"findings"`
	Severe   int `json:"severe"`
	Exempt   int `json:"exempt"`
}

// ControlCompliance is one control's result in one audit.
type ControlCompliance struct {
	Framework string `json:"framework"`
	Control   string `json:"control"`
	Evaluated int    `json:"evaluated"`
	Failing   int    `json:"failing"`
}

// AuditFinding is one finding of an audit, as kept in the history.
type AuditFinding struct {
	// ID is stable across audits for the same rule and credential.
	ID       string
	Rule     string
	Severity string
	Account  string
	User     string
	KeyID    string
	Title    string
	Exempt   bool
	// ExemptionMatch, ExemptionReason and ExemptionExpires describe the
	// exemption that covered it (empty and zero when none).
	ExemptionMatch   string
	ExemptionReason  string
	ExemptionExpires time.Time
}

// SaveAudit records the audit of run a.RunID. Text is screened for secret
// material (ErrSecretMaterial): the findings' titles and exemption reasons,
// and every string of the report except the names of users, groups and
// their ARNs and paths (a generated user name can look random).
func (s *Store) SaveAudit(ctx context.Context, a Audit) error {
	if a.RunID <= 0 {
		return fmt.Errorf("save audit: run ID %d: %w", a.RunID, ErrInvalid)
	}
	summary, err := json.Marshal(a.Summary)
	if err != nil {
		return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
	}
	var report [][]byte
	if a.WriteReport != nil {
		if report, err = compressReport(a.WriteReport); err != nil {
			return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audits (run_id, generated_at, summary) VALUES (?, ?, ?)`,
		a.RunID, formatTime(orNow(a.GeneratedAt)), string(summary)); err != nil {
		return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO audit_findings (run_id, finding_id, rule, severity, account, user_name, key_id, title,
		exempt, exemption_match, exemption_reason, exemption_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
	}
	defer st.Close()
	findings := a.EachFinding
	if findings == nil {
		findings = slices.Values(a.Findings)
	}
	for f := range findings {
		if err := checkFinding(f); err != nil {
			return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
		}
		if _, err := st.ExecContext(ctx, a.RunID, f.ID, f.Rule, f.Severity, f.Account, f.User, f.KeyID, f.Title,
			f.Exempt, f.ExemptionMatch, f.ExemptionReason, nullTime(f.ExemptionExpires)); err != nil {
			return fmt.Errorf("save audit of run %d: finding %s: %w", a.RunID, f.ID, err)
		}
	}
	for seq, chunk := range report {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_report_chunks (run_id, seq, data) VALUES (?, ?, ?)`, a.RunID, seq, chunk); err != nil {
			return fmt.Errorf("save audit of run %d: report: %w", a.RunID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save audit of run %d: %w", a.RunID, err)
	}
	return nil
}

// checkFinding refuses a finding without ID, rule or account, or whose text
// looks like secret material.
func checkFinding(f AuditFinding) error {
	if f.ID == "" || f.Rule == "" || f.Account == "" {
		return fmt.Errorf("finding without ID, rule or account: %w", ErrInvalid)
	}
	for _, v := range []struct{ name, v string }{{"finding title", f.Title}, {"exemption reason", f.ExemptionReason},
		{"exemption match", f.ExemptionMatch}, {"key ID", f.KeyID}, {"finding ID", f.ID}} {
		if v.name == "finding ID" && f.User != "" {
			continue // the ID holds the user name
		}
		if err := checkNoSecret(v.name, v.v); err != nil {
			return err
		}
	}
	return nil
}

// reportChunk is the size of the pieces a compressed report is kept in.
const reportChunk = 1 << 20

// compressReport returns the report write writes, compressed, in pieces
// of reportChunk, once it has been screened: it is read as it is written
// and refused if it is not one JSON value or holds a string shaped like a
// secret. The report is never whole in memory, and its compressed form is
// never copied to grow: an organization's is hundreds of MB uncompressed.
// It runs before the history's write lock is taken, and nothing of a
// refused report reaches the database.
func compressReport(write func(io.Writer) error) ([][]byte, error) {
	var cw chunkWriter
	pr, pw := io.Pipe()
	checked := make(chan error, 1)
	go func() {
		err := checkReport(pr)
		pr.CloseWithError(cmp.Or(err, errors.New("report goes on after its JSON value")))
		checked <- err
	}()
	zw := gzip.NewWriter(&cw)
	werr := write(io.MultiWriter(pw, zw))
	if werr == nil {
		werr = zw.Close()
	}
	pw.CloseWithError(werr) // nil: the checker reads the end
	cerr := <-checked
	switch {
	case werr != nil && (errors.Is(werr, ErrSecretMaterial) || errors.Is(werr, ErrInvalid)):
		return nil, werr // the checker's refusal, as the writer met it
	case werr != nil:
		return nil, fmt.Errorf("write report: %w", werr)
	case cerr != nil:
		return nil, cerr
	}
	return cw.chunks, nil
}

// chunkWriter keeps what is written in pieces of reportChunk.
type chunkWriter struct {
	chunks [][]byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		last := len(w.chunks) - 1
		if last < 0 || len(w.chunks[last]) == reportChunk {
			w.chunks = append(w.chunks, make([]byte, 0, reportChunk))
			last++
		}
		k := min(len(p), reportChunk-len(w.chunks[last]))
		w.chunks[last], p = append(w.chunks[last], p[:k]...), p[k:]
	}
	return n, nil
}

// reportChunks returns the compressed report of run runID, its chunks
// joined (nil when none was kept).
func (s *Store) reportChunks(ctx context.Context, runID int64) ([]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM audit_report_chunks WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, rows.Err()
}

// AuditRun is an audit as listed: its run and summary, without findings.
type AuditRun struct {
	RunID       int64
	GeneratedAt time.Time
	Summary     AuditSummary
}

// Audits returns the audits generated in [from, to), oldest first. A zero
// from or to leaves that end open.
func (s *Store) Audits(ctx context.Context, from, to time.Time) ([]AuditRun, error) {
	q := `SELECT run_id, generated_at, summary FROM audits WHERE 1=1`
	var args []any
	if !from.IsZero() {
		q += ` AND generated_at >= ?`
		args = append(args, formatTime(from))
	}
	if !to.IsZero() {
		q += ` AND generated_at < ?`
		args = append(args, formatTime(to))
	}
	return s.auditRuns(ctx, "list audits", q+` ORDER BY generated_at, run_id`, args...)
}

// auditRuns returns the audits query q selects (run_id, generated_at,
// summary), without their findings and reports; op names the failure.
func (s *Store) auditRuns(ctx context.Context, op, q string, args ...any) ([]AuditRun, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []AuditRun
	for rows.Next() {
		var a AuditRun
		var gen, sum string
		if err := rows.Scan(&a.RunID, &gen, &sum); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if a.GeneratedAt, err = parseTime(gen); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := json.Unmarshal([]byte(sum), &a.Summary); err != nil {
			return nil, fmt.Errorf("%s: run %d: summary: %w", op, a.RunID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// LatestAudit returns the latest audit generated before before (any, if
// before is zero), and false if there is none. It reads the summary alone:
// an organization's report and findings are tens of MB.
func (s *Store) LatestAudit(ctx context.Context, before time.Time) (AuditRun, bool, error) {
	q, args := `SELECT run_id, generated_at, summary FROM audits`, []any{}
	if !before.IsZero() {
		q += ` WHERE generated_at < ?`
		args = append(args, formatTime(before))
	}
	runs, err := s.auditRuns(ctx, "latest audit", q+` ORDER BY generated_at DESC, run_id DESC LIMIT 1`, args...)
	if err != nil || len(runs) == 0 {
		return AuditRun{}, false, err
	}
	return runs[0], true, nil
}

// Audit returns the audit of run runID with its findings and report, or an
// error wrapping ErrNotFound.
func (s *Store) Audit(ctx context.Context, runID int64) (Audit, error) {
	var a Audit
	var gen, sum string
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT run_id, generated_at, summary, report FROM audits WHERE run_id = ?`, runID).Scan(&a.RunID, &gen, &sum, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return Audit{}, fmt.Errorf("read audit of run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return Audit{}, fmt.Errorf("read audit of run %d: %w", runID, err)
	}
	if a.GeneratedAt, err = parseTime(gen); err != nil {
		return Audit{}, fmt.Errorf("read audit of run %d: %w", runID, err)
	}
	if err := json.Unmarshal([]byte(sum), &a.Summary); err != nil {
		return Audit{}, fmt.Errorf("read audit of run %d: summary: %w", runID, err)
	}
	if len(blob) == 0 {
		if blob, err = s.reportChunks(ctx, runID); err != nil {
			return Audit{}, fmt.Errorf("read audit of run %d: report: %w", runID, err)
		}
	}
	if len(blob) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			return Audit{}, fmt.Errorf("read audit of run %d: report: %w", runID, err)
		}
		if a.Report, err = io.ReadAll(zr); err != nil {
			return Audit{}, fmt.Errorf("read audit of run %d: report: %w", runID, err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT finding_id, rule, severity, account, user_name, key_id, title, exempt,
		exemption_match, exemption_reason, exemption_expires FROM audit_findings WHERE run_id = ? ORDER BY finding_id`, runID)
	if err != nil {
		return Audit{}, fmt.Errorf("read findings of run %d: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var f AuditFinding
		var exp sql.NullString
		if err := rows.Scan(&f.ID, &f.Rule, &f.Severity, &f.Account, &f.User, &f.KeyID, &f.Title, &f.Exempt,
			&f.ExemptionMatch, &f.ExemptionReason, &exp); err != nil {
			return Audit{}, fmt.Errorf("read findings of run %d: %w", runID, err)
		}
		if f.ExemptionExpires, err = parseNullTime(exp); err != nil {
			return Audit{}, fmt.Errorf("read findings of run %d: %w", runID, err)
		}
		a.Findings = append(a.Findings, f)
	}
	if err := rows.Err(); err != nil {
		return Audit{}, fmt.Errorf("read findings of run %d: %w", runID, err)
	}
	return a, nil
}

// Plan item kinds recorded with SavePlanItems.
const (
	// PlanBlocked is a change keyrot will not make until a person acts.
	PlanBlocked = "blocked"
	// PlanUpcoming is a deadline ahead (a rotation, deactivation or deletion).
	PlanUpcoming = "upcoming"
)

// PlanItem is one item of a run's plan that a person should see.
type PlanItem struct {
	RunID int64
	// Item is PlanBlocked or PlanUpcoming.
	Item string
	// Kind is the plan's action kind, e.g. "deactivate-key".
	Kind    string
	Account string
	User    string
	KeyID   string
	Reason  string
	// Due is when the change is (or was) due; zero if never.
	Due time.Time
}

// SavePlanItems records the blocked and upcoming items of run runID's plan.
func (s *Store) SavePlanItems(ctx context.Context, runID int64, items []PlanItem) error {
	for _, it := range items {
		if err := oneOf("item", it.Item, PlanBlocked, PlanUpcoming); err != nil {
			return fmt.Errorf("save plan of run %d: %w", runID, err)
		}
		if err := requireText("account", it.Account); err != nil {
			return fmt.Errorf("save plan of run %d: %w", runID, err)
		}
		for _, v := range []struct{ name, v string }{{"kind", it.Kind}, {"reason", it.Reason}, {"key ID", it.KeyID}} {
			if err := checkNoSecret(v.name, v.v); err != nil {
				return fmt.Errorf("save plan of run %d: %w", runID, err)
			}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	defer tx.Rollback()
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO plan_items (run_id, item, kind, account, user_name, key_id, reason, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			runID, it.Item, it.Kind, it.Account, it.User, it.KeyID, it.Reason, nullTime(it.Due)); err != nil {
			return fmt.Errorf("save plan of run %d: %w", runID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save plan of run %d: %w", runID, err)
	}
	return nil
}

// PlanItems returns the plan items recorded for run runID, in order.
func (s *Store) PlanItems(ctx context.Context, runID int64) ([]PlanItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, item, kind, account, user_name, key_id, reason, due FROM plan_items WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("plan items of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []PlanItem
	for rows.Next() {
		var it PlanItem
		var due sql.NullString
		if err := rows.Scan(&it.RunID, &it.Item, &it.Kind, &it.Account, &it.User, &it.KeyID, &it.Reason, &due); err != nil {
			return nil, fmt.Errorf("plan items of run %d: %w", runID, err)
		}
		if it.Due, err = parseNullTime(due); err != nil {
			return nil, fmt.Errorf("plan items of run %d: %w", runID, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("plan items of run %d: %w", runID, err)
	}
	return out, nil
}

// ActionsBetween returns the journaled actions started in [from, to), in
// journal order.
func (s *Store) ActionsBetween(ctx context.Context, from, to time.Time) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE started_at >= ? AND started_at < ? ORDER BY id`,
		formatTime(from), formatTime(to))
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	acts, err := scanActions(rows)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return acts, nil
}

// Pruned counts what Prune removed.
type Pruned struct {
	Audits    int64
	Runs      int64
	PlanItems int64
}

// Prune removes what is older than before: audits (their summaries,
// findings and reports), the run records of audit runs, and recorded plan
// items. It never removes the journal (actions, key events), the runs it
// belongs to, leases or notices: key events start deletion windows and
// tell rollbacks what keyrot did, and an unfinished rotation lives on its
// journal whatever its age.
func (s *Store) Prune(ctx context.Context, before time.Time) (Pruned, error) {
	if before.IsZero() {
		return Pruned{}, fmt.Errorf("prune history: zero cutoff: %w", ErrInvalid)
	}
	cut := formatTime(before)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Pruned{}, fmt.Errorf("prune history: %w", err)
	}
	defer tx.Rollback()
	var p Pruned
	exec := func(n *int64, q string, args ...any) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		*n, err = res.RowsAffected()
		return err
	}
	if err := exec(new(int64), `DELETE FROM audit_findings WHERE run_id IN (SELECT run_id FROM audits WHERE generated_at < ?)`, cut); err != nil {
		return Pruned{}, fmt.Errorf("prune findings: %w", err)
	}
	if err := exec(new(int64), `DELETE FROM audit_report_chunks WHERE run_id IN (SELECT run_id FROM audits WHERE generated_at < ?)`, cut); err != nil {
		return Pruned{}, fmt.Errorf("prune reports: %w", err)
	}
	if err := exec(&p.Audits, `DELETE FROM audits WHERE generated_at < ?`, cut); err != nil {
		return Pruned{}, fmt.Errorf("prune audits: %w", err)
	}
	if err := exec(&p.PlanItems, `DELETE FROM plan_items WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)`, cut); err != nil {
		return Pruned{}, fmt.Errorf("prune plan items: %w", err)
	}
	// Audit runs whose record is gone, that are not running and own no
	// journal entry (an audit never journals; the check keeps it so).
	if err := exec(&p.Runs, `DELETE FROM runs WHERE command = 'audit' AND status != ? AND started_at < ?
		AND id NOT IN (SELECT run_id FROM audits)
		AND NOT EXISTS (SELECT 1 FROM actions WHERE actions.run_id = runs.id)
		AND NOT EXISTS (SELECT 1 FROM key_events WHERE key_events.run_id = runs.id)`, RunRunning, cut); err != nil {
		return Pruned{}, fmt.Errorf("prune audit runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Pruned{}, fmt.Errorf("prune history: %w", err)
	}
	return p, nil
}
