package history

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Notice is a notification sent to a recipient about a user's key, recorded
// so that the same notice is not sent twice within a window.
type Notice struct {
	// ID is assigned by RecordNotice.
	ID        int64
	Recipient string
	Account   string
	User      string
	// KeyID may be empty for notices about the user rather than one key.
	KeyID string
	// Kind is what the notice says, e.g. "rotation-due" or "deactivated".
	Kind string
	// DueDate is the date the notice warns about; zero if none.
	DueDate time.Time
	// SentAt defaults to the current time if zero.
	SentAt time.Time
	// Channel is how it was sent, e.g. "email" or "sns".
	Channel string
}

// RecordNotice records a sent notice and returns its ID.
func (s *Store) RecordNotice(ctx context.Context, n Notice) (int64, error) {
	if err := ValidateNotice(n); err != nil {
		return 0, fmt.Errorf("record notice: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO notices
		(recipient, account, user_name, key_id, kind, due_date, sent_at, channel)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.Recipient, n.Account, n.User, n.KeyID, n.Kind, nullTime(n.DueDate), formatTime(orNow(n.SentAt)), n.Channel)
	if err != nil {
		return 0, fmt.Errorf("record %s notice to %s about %s/%s: %w", n.Kind, n.Recipient, n.Account, n.User, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("record %s notice to %s: %w", n.Kind, n.Recipient, err)
	}
	return id, nil
}

// LastNotice returns the most recently sent notice matching all of
// recipient, account, user, keyID and kind, and false if none was sent.
// Callers de-duplicate with it: skip sending if found and SentAt is within
// the window.
func (s *Store) LastNotice(ctx context.Context, recipient, account, user, keyID, kind string) (Notice, bool, error) {
	var n Notice
	var due sql.NullString
	var sent string
	err := s.db.QueryRowContext(ctx, `SELECT id, recipient, account, user_name, key_id, kind, due_date, sent_at, channel
		FROM notices WHERE recipient = ? AND account = ? AND user_name = ? AND key_id = ? AND kind = ?
		ORDER BY sent_at DESC, id DESC LIMIT 1`, recipient, account, user, keyID, kind).
		Scan(&n.ID, &n.Recipient, &n.Account, &n.User, &n.KeyID, &n.Kind, &due, &sent, &n.Channel)
	if err == sql.ErrNoRows {
		return Notice{}, false, nil
	}
	if err != nil {
		return Notice{}, false, fmt.Errorf("read last %s notice to %s about %s/%s: %w", kind, recipient, account, user, err)
	}
	if n.DueDate, err = parseNullTime(due); err != nil {
		return Notice{}, false, fmt.Errorf("read last %s notice: %w", kind, err)
	}
	if n.SentAt, err = parseTime(sent); err != nil {
		return Notice{}, false, fmt.Errorf("read last %s notice: %w", kind, err)
	}
	return n, true, nil
}
