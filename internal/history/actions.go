package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Action kinds keyrot journals. The set is open (a new kind needs no schema
// change) but a kind must be lower-case words joined by hyphens.
const (
	KindCreateKey     = "create-key"
	KindStoreSecret   = "store-secret"
	KindVerifyKey     = "verify-key"
	KindDeactivateKey = "deactivate-key"
	KindDeleteKey     = "delete-key"
	KindDeleteOrphan  = "delete-orphan"
	KindReactivateKey = "reactivate-key"
	KindNotify        = "notify"
)

// Action statuses. An action is ActionStarted from BeginAction until
// EndAction records one of the others; one still started after its run has
// ended was interrupted mid-call and its effect on AWS is unknown.
const (
	ActionStarted   = "started"
	ActionSucceeded = "succeeded"
	ActionFailed    = "failed"
	ActionSkipped   = "skipped"
	ActionBlocked   = "blocked"
)

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Action is one journaled step of a run: written by BeginAction before the
// AWS call, completed by EndAction after it.
type Action struct {
	// ID and RunID are assigned by BeginAction.
	ID    int64
	RunID int64
	// Account, User and KeyID name what the action touches. KeyID may be
	// empty (create-key before AWS has chosen the ID).
	Account string
	User    string
	KeyID   string
	// Kind is what is done, e.g. KindDeactivateKey.
	Kind string
	// Reason is the human reason for the decision.
	Reason string
	// Evidence is a JSON document of the facts the decision was based on
	// (key ages, last-used dates, policy thresholds). Empty means "{}".
	Evidence string
	// Started defaults to the current time if zero.
	Started time.Time
	// Outcome is what EndAction recorded; Outcome.Status is ActionStarted
	// until then.
	Outcome Outcome
}

// Done reports whether EndAction has recorded the action's outcome.
func (a Action) Done() bool { return a.Outcome.Status != ActionStarted }

// Outcome is the result of an action.
type Outcome struct {
	// Status is ActionSucceeded, ActionFailed, ActionSkipped or ActionBlocked
	// (ActionStarted when read back for an unfinished action).
	Status string
	// Error is the error text, for failed or blocked actions.
	Error string
	// KeyID is a key the action produced, e.g. the new key's ID.
	KeyID string
	// Finished defaults to the current time if zero.
	Finished time.Time
}

// BeginAction journals an action of run runID before it is carried out and
// returns the action's ID. Only the descriptive fields of a are read.
func (s *Store) BeginAction(ctx context.Context, runID int64, a Action) (int64, error) {
	if err := validateAction(a); err != nil {
		return 0, fmt.Errorf("begin action: %w", err) // values not echoed: one may be a secret
	}
	evidence := a.Evidence
	if evidence == "" {
		evidence = "{}"
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO actions
		(run_id, account, user_name, key_id, kind, reason, evidence, started_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, a.Account, a.User, a.KeyID, a.Kind, a.Reason, evidence, formatTime(orNow(a.Started)), ActionStarted)
	if err != nil {
		return 0, fmt.Errorf("begin %s action for %s/%s in run %d: %w", a.Kind, a.Account, a.User, runID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("begin %s action for %s/%s: %w", a.Kind, a.Account, a.User, err)
	}
	return id, nil
}

func validateAction(a Action) error {
	if err := requireID("account", a.Account); err != nil {
		return err
	}
	if err := requireID("user", a.User); err != nil {
		return err
	}
	if err := checkNoSecret("kind", a.Kind); err != nil {
		return err // before the message below, which repeats the kind
	}
	if !kindPattern.MatchString(a.Kind) {
		return fmt.Errorf("kind %q is not lower-case-hyphenated: %w", a.Kind, ErrInvalid)
	}
	if err := checkNoSecret("key id", a.KeyID); err != nil {
		return err
	}
	if err := checkNoSecret("reason", a.Reason); err != nil {
		return err
	}
	if a.Evidence != "" {
		if err := checkEvidence(a.Evidence); err != nil {
			return err
		}
	}
	return nil
}

// EndAction records the outcome of a started action. Ending an action twice
// fails with ErrAlreadyFinished.
func (s *Store) EndAction(ctx context.Context, actionID int64, o Outcome) error {
	if err := ValidateOutcome(o); err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	defer tx.Rollback()
	var cur string
	err = tx.QueryRowContext(ctx, `SELECT status FROM actions WHERE id = ?`, actionID).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("end action %d: %w", actionID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	if cur != ActionStarted {
		return fmt.Errorf("end action %d: action is %s: %w", actionID, cur, ErrAlreadyFinished)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE actions SET status = ?, error = ?, result_key_id = ?, finished_at = ? WHERE id = ?`,
		o.Status, o.Error, o.KeyID, formatTime(orNow(o.Finished)), actionID); err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	return nil
}

// ActionsFor returns every action journaled for a user, across runs, in the
// order they were begun.
func (s *Store) ActionsFor(ctx context.Context, account, user string) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE account = ? AND user_name = ? ORDER BY id`, account, user)
	if err != nil {
		return nil, fmt.Errorf("read actions for %s/%s: %w", account, user, err)
	}
	out, err := scanActions(rows)
	if err != nil {
		return nil, fmt.Errorf("read actions for %s/%s: %w", account, user, err)
	}
	return out, nil
}

// ActionsInRun returns the actions of one run in the order they were begun.
func (s *Store) ActionsInRun(ctx context.Context, runID int64) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read actions of run %d: %w", runID, err)
	}
	out, err := scanActions(rows)
	if err != nil {
		return nil, fmt.Errorf("read actions of run %d: %w", runID, err)
	}
	return out, nil
}

// UnfinishedActions returns every action, in any run, that was begun and
// never ended: the calls whose effect on AWS must be checked before acting
// on the same keys again.
func (s *Store) UnfinishedActions(ctx context.Context) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE status = ? ORDER BY id`, ActionStarted)
	if err != nil {
		return nil, fmt.Errorf("read unfinished actions: %w", err)
	}
	out, err := scanActions(rows)
	if err != nil {
		return nil, fmt.Errorf("read unfinished actions: %w", err)
	}
	return out, nil
}

const actionColumns = `id, run_id, account, user_name, key_id, kind, reason, evidence, started_at, status, error, result_key_id, finished_at`

func scanActions(rows *sql.Rows) ([]Action, error) {
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var started string
		var finished sql.NullString
		if err := rows.Scan(&a.ID, &a.RunID, &a.Account, &a.User, &a.KeyID, &a.Kind, &a.Reason, &a.Evidence,
			&started, &a.Outcome.Status, &a.Outcome.Error, &a.Outcome.KeyID, &finished); err != nil {
			return nil, err
		}
		var err error
		if a.Started, err = parseTime(started); err != nil {
			return nil, err
		}
		if a.Outcome.Finished, err = parseNullTime(finished); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
