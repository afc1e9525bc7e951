package history

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Delivery statuses.
const (
	// DeliveryWriting: keyrot is about to write the key (recorded first,
	// so that a write whose outcome a crash lost is still known to have
	// been attempted from then on).
	DeliveryWriting = "writing"
	// DeliveryWritten: keyrot wrote the key to the destination.
	DeliveryWritten = "written"
	// DeliveryConfirmed: the destination was read back holding the key.
	DeliveryConfirmed = "confirmed"
	// DeliveryFailed: the write or the read back failed (Error says why).
	DeliveryFailed = "failed"
)

// Delivery is one attempt to deliver a user's key to a destination.
// Deliveries are append-only; they never hold the secret.
type Delivery struct {
	// ID is assigned by RecordDelivery.
	ID      int64
	Account string
	User    string
	// KeyID is the access key ID delivered (or whose delivery failed).
	KeyID string
	// Destination is the destination's reference (deliver.Ref), which
	// holds no secret.
	Destination string
	// Status is one of the Delivery constants.
	Status string
	// Error is why a delivery failed, redacted.
	Error string
	// ReplacedLastUsed is, for a write, the last use of the key the
	// delivered key replaces, read just before the write: RFC 3339, or
	// "never"; "" when unknown.
	ReplacedLastUsed string
	// At is when; RecordDelivery uses the current time if zero.
	At    time.Time
	RunID int64
}

// RecordDelivery appends a delivery and returns its ID. A value that
// looks like secret material is refused (ErrSecretMaterial).
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) (int64, error) {
	if err := validateDelivery(d); err != nil {
		return 0, fmt.Errorf("record delivery: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO deliveries
		(account, user_name, key_id, destination, status, error, replaced_last_used, at, run_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Account, d.User, d.KeyID, d.Destination, d.Status, d.Error, d.ReplacedLastUsed, formatTime(orNow(d.At)), nullID(d.RunID))
	if err != nil {
		return 0, fmt.Errorf("record delivery of key %s of %s/%s to %s: %w", d.KeyID, d.Account, d.User, d.Destination, err)
	}
	return res.LastInsertId()
}

func validateDelivery(d Delivery) error {
	if err := requireID("account", d.Account); err != nil {
		return err
	}
	if err := requireID("user", d.User); err != nil {
		return err
	}
	if err := requireText("key id", d.KeyID); err != nil {
		return err
	}
	if err := requireText("destination", d.Destination); err != nil {
		return err
	}
	if err := oneOf("status", d.Status, DeliveryWriting, DeliveryWritten, DeliveryConfirmed, DeliveryFailed); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"destination", d.Destination}, {"error", d.Error}, {"replaced last used", d.ReplacedLastUsed}} {
		if err := checkNoSecret(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Deliveries returns the deliveries of a user's keys, oldest first.
func (s *Store) Deliveries(ctx context.Context, account, user string) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, account, user_name, key_id, destination, status, error, replaced_last_used, at, run_id
		FROM deliveries WHERE account = ? AND user_name = ? ORDER BY id`, account, user)
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s/%s: %w", account, user, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var at string
		var runID sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Account, &d.User, &d.KeyID, &d.Destination, &d.Status, &d.Error, &d.ReplacedLastUsed, &at, &runID); err != nil {
			return nil, fmt.Errorf("read deliveries of %s/%s: %w", account, user, err)
		}
		if d.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("read deliveries of %s/%s: %w", account, user, err)
		}
		d.RunID = runID.Int64
		out = append(out, d)
	}
	return out, rows.Err()
}
