package history

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Key events: the lifecycle facts about an access key that AWS does not keep
// (it knows when a key was created, not when its secret was stored or when it
// was deactivated).
//
// EventDeactivated means keyrot deactivated the key; EventSeenInactive that
// the key was already inactive when keyrot first saw it (a person, or
// another tool, deactivated it). Both start the key's deletion window, but
// only the first lets a rollback re-activate the key. Databases written
// before EventSeenInactive existed record both as EventDeactivated; the
// journaled deactivate-key actions tell them apart.
const (
	EventCreated        = "created"
	EventStored         = "stored"
	EventVerified       = "verified"
	EventDeactivated    = "deactivated"
	EventSeenInactive   = "seen-inactive"
	EventReactivated    = "reactivated"
	EventDeleted        = "deleted"
	EventOrphanDetected = "orphan-detected"
)

// KeyEvent is one dated fact about an access key. Key events are append-only.
type KeyEvent struct {
	// ID is assigned by RecordKeyEvent.
	ID      int64
	Account string
	User    string
	KeyID   string
	// Event is one of the Event constants.
	Event string
	// At is when the fact became true; RecordKeyEvent uses the current time
	// if zero.
	At time.Time
	// RunID is the run that observed or caused the fact; zero if none.
	RunID int64
	// SecretARN and SecretVersionID locate where the key's secret was stored
	// (for EventStored). Never the secret itself.
	SecretARN       string
	SecretVersionID string
}

// RecordKeyEvent appends a key event and returns its ID.
func (s *Store) RecordKeyEvent(ctx context.Context, e KeyEvent) (int64, error) {
	if err := validateKeyEvent(e); err != nil {
		return 0, fmt.Errorf("record key event: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO key_events
		(account, user_name, key_id, event, at, run_id, secret_arn, secret_version_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Account, e.User, e.KeyID, e.Event, formatTime(orNow(e.At)), nullID(e.RunID), e.SecretARN, e.SecretVersionID)
	if err != nil {
		return 0, fmt.Errorf("record %s event of key %s of %s/%s: %w", e.Event, e.KeyID, e.Account, e.User, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("record %s event of key %s: %w", e.Event, e.KeyID, err)
	}
	return id, nil
}

func validateKeyEvent(e KeyEvent) error {
	if err := requireID("account", e.Account); err != nil {
		return err
	}
	if err := requireID("user", e.User); err != nil {
		return err
	}
	if err := requireText("key id", e.KeyID); err != nil {
		return err
	}
	if err := oneOf("event", e.Event, EventCreated, EventStored, EventVerified, EventDeactivated, EventSeenInactive,
		EventReactivated, EventDeleted, EventOrphanDetected); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"secret arn", e.SecretARN}, {"secret version id", e.SecretVersionID}} {
		if err := checkNoSecret(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// LastKeyEvent returns the latest event of the given type for a key, and
// false if there is none.
func (s *Store) LastKeyEvent(ctx context.Context, account, user, keyID, event string) (KeyEvent, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyEventColumns+` FROM key_events
		WHERE account = ? AND user_name = ? AND key_id = ? AND event = ?
		ORDER BY at DESC, id DESC LIMIT 1`, account, user, keyID, event)
	if err != nil {
		return KeyEvent{}, false, fmt.Errorf("read last %s event of key %s: %w", event, keyID, err)
	}
	evs, err := scanKeyEvents(rows)
	if err != nil {
		return KeyEvent{}, false, fmt.Errorf("read last %s event of key %s: %w", event, keyID, err)
	}
	if len(evs) == 0 {
		return KeyEvent{}, false, nil
	}
	return evs[0], true, nil
}

// KeyEvents returns every event for a user's keys, oldest first.
func (s *Store) KeyEvents(ctx context.Context, account, user string) ([]KeyEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyEventColumns+` FROM key_events
		WHERE account = ? AND user_name = ? ORDER BY at, id`, account, user)
	if err != nil {
		return nil, fmt.Errorf("read key events of %s/%s: %w", account, user, err)
	}
	evs, err := scanKeyEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read key events of %s/%s: %w", account, user, err)
	}
	return evs, nil
}

const keyEventColumns = `id, account, user_name, key_id, event, at, run_id, secret_arn, secret_version_id`

func scanKeyEvents(rows *sql.Rows) ([]KeyEvent, error) {
	defer rows.Close()
	var out []KeyEvent
	for rows.Next() {
		var e KeyEvent
		var at string
		var runID sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Account, &e.User, &e.KeyID, &e.Event, &at, &runID, &e.SecretARN, &e.SecretVersionID); err != nil {
			return nil, err
		}
		var err error
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		e.RunID = runID.Int64
		out = append(out, e)
	}
	return out, rows.Err()
}
