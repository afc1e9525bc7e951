package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrLeaseHeld means another owner holds an unexpired lease on the scope.
// The error is a *LeaseHeldError naming the holder.
var ErrLeaseHeld = errors.New("lease held by another owner")

// ErrLeaseNotHeld means the caller does not hold the lease it tried to renew
// or release: it never had it, or it expired and another owner took it over.
var ErrLeaseNotHeld = errors.New("lease not held by this owner")

// LeaseHeldError reports who holds a lease and until when.
type LeaseHeldError struct {
	Scope   string
	Holder  string
	Expires time.Time
}

// Error implements error.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("lease on %s held by %s until %s", e.Scope, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// Unwrap lets errors.Is(err, ErrLeaseHeld) match.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// Lease is the right of one owner to act on a scope (an account ID, or "org")
// until Expires.
type Lease struct {
	Scope string
	Owner string
	// Acquired is when this owner first took the lease; renewals keep it.
	Acquired time.Time
	Expires  time.Time
	// Previous is the owner whose expired lease this acquisition took over,
	// or empty. A takeover means that owner died or stalled mid-run: its
	// unfinished actions (UnfinishedActions) need checking against AWS.
	Previous string
}

// AcquireLease takes the lease on scope for owner until now+ttl. It succeeds
// if the scope is free, if its lease has expired (a takeover, reported in
// Lease.Previous), or if owner already holds it (a renewal). Otherwise it
// returns a *LeaseHeldError wrapping ErrLeaseHeld. The check and the write
// are one IMMEDIATE transaction, so across goroutines, Store handles and
// processes sharing the file at most one owner holds a scope at a time.
// now defaults to the current time if zero.
func (s *Store) AcquireLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (Lease, error) {
	if err := validateLease(scope, owner, ttl); err != nil {
		return Lease{}, fmt.Errorf("acquire lease: %w", err)
	}
	now = orNow(now)
	l := Lease{Scope: scope, Owner: owner, Acquired: now, Expires: now.Add(ttl)}
	err := s.leaseTx(ctx, scope, func(tx *sql.Tx, cur *Lease) error {
		switch {
		case cur == nil:
			_, err := tx.ExecContext(ctx, `INSERT INTO leases (scope, owner, acquired_at, expires_at) VALUES (?, ?, ?, ?)`,
				scope, owner, formatTime(l.Acquired), formatTime(l.Expires))
			return err
		case cur.Owner == owner:
			l.Acquired = cur.Acquired
		case !now.Before(cur.Expires):
			l.Previous = cur.Owner
		default:
			return &LeaseHeldError{Scope: scope, Holder: cur.Owner, Expires: cur.Expires}
		}
		_, err := tx.ExecContext(ctx, `UPDATE leases SET owner = ?, acquired_at = ?, expires_at = ? WHERE scope = ?`,
			owner, formatTime(l.Acquired), formatTime(l.Expires), scope)
		return err
	})
	if err != nil {
		return Lease{}, fmt.Errorf("acquire lease on %s for %s: %w", scope, owner, err)
	}
	return l, nil
}

// RenewLease extends owner's lease on scope to now+ttl. It fails with
// ErrLeaseNotHeld if owner does not hold the lease. A lease that has expired
// but was not taken over is still owner's and is renewed: nobody else can
// have acted on the scope in between. now defaults to the current time if
// zero.
func (s *Store) RenewLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (Lease, error) {
	if err := validateLease(scope, owner, ttl); err != nil {
		return Lease{}, fmt.Errorf("renew lease: %w", err)
	}
	now = orNow(now)
	var l Lease
	err := s.leaseTx(ctx, scope, func(tx *sql.Tx, cur *Lease) error {
		if err := ownedBy(cur, scope, owner); err != nil {
			return err
		}
		l = Lease{Scope: scope, Owner: owner, Acquired: cur.Acquired, Expires: now.Add(ttl)}
		_, err := tx.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE scope = ?`, formatTime(l.Expires), scope)
		return err
	})
	if err != nil {
		return Lease{}, fmt.Errorf("renew lease on %s for %s: %w", scope, owner, err)
	}
	return l, nil
}

// ReleaseLease gives up owner's lease on scope. Releasing a lease nobody
// holds is a no-op, so it is safe to defer; releasing one held by another
// owner fails with ErrLeaseNotHeld and leaves it in place.
func (s *Store) ReleaseLease(ctx context.Context, scope, owner string) error {
	if err := ValidateRelease(scope, owner); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	err := s.leaseTx(ctx, scope, func(tx *sql.Tx, cur *Lease) error {
		if cur == nil {
			return nil
		}
		if err := ownedBy(cur, scope, owner); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE scope = ?`, scope)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease on %s for %s: %w", scope, owner, err)
	}
	return nil
}

// LeaseOn returns the lease recorded on scope, expired or not, and false if
// there is none. It is for display; use AcquireLease to act.
func (s *Store) LeaseOn(ctx context.Context, scope string) (Lease, bool, error) {
	cur, err := readLease(ctx, s.db, scope)
	if err != nil {
		return Lease{}, false, fmt.Errorf("read lease on %s: %w", scope, err)
	}
	if cur == nil {
		return Lease{}, false, nil
	}
	return *cur, true, nil
}

func validateLease(scope, owner string, ttl time.Duration) error {
	if err := requireText("scope", scope); err != nil {
		return err
	}
	if err := requireText("owner", owner); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("ttl %s is not positive: %w", ttl, ErrInvalid)
	}
	return nil
}

func ownedBy(cur *Lease, scope, owner string) error {
	if cur == nil {
		return fmt.Errorf("no lease on %s: %w", scope, ErrLeaseNotHeld)
	}
	if cur.Owner != owner {
		return fmt.Errorf("lease on %s is held by %s: %w", scope, cur.Owner, ErrLeaseNotHeld)
	}
	return nil
}

// leaseTx runs fn inside an IMMEDIATE transaction with the scope's current
// lease (nil if none), committing if fn returns nil.
func (s *Store) leaseTx(ctx context.Context, scope string, fn func(tx *sql.Tx, cur *Lease) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cur, err := readLease(ctx, tx, scope)
	if err != nil {
		return err
	}
	if err := fn(tx, cur); err != nil {
		return err
	}
	return tx.Commit()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readLease(ctx context.Context, q queryer, scope string) (*Lease, error) {
	var l Lease
	var acquired, expires string
	err := q.QueryRowContext(ctx, `SELECT scope, owner, acquired_at, expires_at FROM leases WHERE scope = ?`, scope).
		Scan(&l.Scope, &l.Owner, &acquired, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if l.Acquired, err = parseTime(acquired); err != nil {
		return nil, err
	}
	if l.Expires, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &l, nil
}
