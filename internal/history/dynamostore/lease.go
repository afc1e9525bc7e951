package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyrot/keyrot/internal/history"
)

// A lease is one item, pk "lease#SCOPE", sk "lease", with its owner,
// acquired_at and lease_expires. Every change is a conditional write on the
// state the writer read (absent, or this owner with this expiry), so of
// owners racing for a scope exactly one write succeeds and the others read
// again. Leases do not use the TTL attribute: an expired lease stays until
// it is taken over (reported in Lease.Previous) or released.

// maxLeaseAttempts bounds the read-decide-write rounds of one call; each
// lost round means another owner changed the lease in between.
const maxLeaseAttempts = 16

// AcquireLease takes the lease on scope for owner until now+ttl, as
// history.Store.AcquireLease does: it succeeds if the scope is free, if
// its lease has expired (Previous names the owner taken over from), or if
// owner holds it already; otherwise it returns a *history.LeaseHeldError.
func (s *Store) AcquireLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error) {
	if err := history.ValidateLease(scope, owner, ttl); err != nil {
		return history.Lease{}, fmt.Errorf("acquire lease: %w", err)
	}
	now = history.OrNow(now)
	for attempt := 0; attempt < maxLeaseAttempts; attempt++ {
		cur, raw, err := s.readLease(ctx, scope)
		if err != nil {
			return history.Lease{}, fmt.Errorf("acquire lease on %s for %s: %w", scope, owner, err)
		}
		l := history.Lease{Scope: scope, Owner: owner, Acquired: now, Expires: now.Add(ttl)}
		switch {
		case cur == nil:
		case cur.Owner == owner:
			l.Acquired = cur.Acquired
		case !now.Before(cur.Expires):
			l.Previous = cur.Owner
		default:
			return history.Lease{}, fmt.Errorf("acquire lease on %s for %s: %w", scope, owner,
				&history.LeaseHeldError{Scope: scope, Holder: cur.Owner, Expires: cur.Expires})
		}
		err = s.writeLease(ctx, l, raw)
		if err == nil {
			return l, nil
		}
		if !conditionFailed(err) {
			return history.Lease{}, fmt.Errorf("acquire lease on %s for %s: %w", scope, owner, err)
		}
	}
	return history.Lease{}, fmt.Errorf("acquire lease on %s for %s: the lease kept changing under %d attempts", scope, owner, maxLeaseAttempts)
}

// RenewLease extends owner's lease on scope to now+ttl; ErrLeaseNotHeld if
// owner does not hold it. An expired lease nobody took over is renewed.
func (s *Store) RenewLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error) {
	if err := history.ValidateLease(scope, owner, ttl); err != nil {
		return history.Lease{}, fmt.Errorf("renew lease: %w", err)
	}
	now = history.OrNow(now)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: leaseKey(scope).av(),
		UpdateExpression:                    aws.String("SET #lease_expires = :exp"),
		ConditionExpression:                 aws.String("#owner = :owner"),
		ExpressionAttributeNames:            names("lease_expires", "owner"),
		ExpressionAttributeValues:           item{":exp": tm(now.Add(ttl)), ":owner": str(owner)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if conditionFailed(err) {
		return history.Lease{}, fmt.Errorf("renew lease on %s for %s: %w", scope, owner, notHeld(err, scope))
	}
	if err != nil {
		return history.Lease{}, fmt.Errorf("renew lease on %s for %s: %w", scope, owner, err)
	}
	l, err := decodeLease(scope, out.Attributes)
	if err != nil {
		return history.Lease{}, fmt.Errorf("renew lease on %s for %s: %w", scope, owner, err)
	}
	return *l, nil
}

// ReleaseLease gives up owner's lease on scope. Releasing a lease nobody
// holds is a no-op; one held by another owner fails with ErrLeaseNotHeld
// and stays.
func (s *Store) ReleaseLease(ctx context.Context, scope, owner string) error {
	if err := history.ValidateRelease(scope, owner); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: leaseKey(scope).av(),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #owner = :owner"),
		ExpressionAttributeNames:            names(attrPK, "owner"),
		ExpressionAttributeValues:           item{":owner": str(owner)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if conditionFailed(err) {
		return fmt.Errorf("release lease on %s for %s: %w", scope, owner, notHeld(err, scope))
	}
	if err != nil {
		return fmt.Errorf("release lease on %s for %s: %w", scope, owner, err)
	}
	return nil
}

// LeaseOn returns the lease recorded on scope, expired or not, and false
// if there is none.
func (s *Store) LeaseOn(ctx context.Context, scope string) (history.Lease, bool, error) {
	cur, _, err := s.readLease(ctx, scope)
	if err != nil {
		return history.Lease{}, false, fmt.Errorf("read lease on %s: %w", scope, err)
	}
	if cur == nil {
		return history.Lease{}, false, nil
	}
	return *cur, true, nil
}

// notHeld is ErrLeaseNotHeld naming the holder a failed condition saw.
func notHeld(err error, scope string) error {
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) && cf.Item != nil {
		return fmt.Errorf("lease on %s is held by %s: %w", scope, getS(cf.Item, "owner"), history.ErrLeaseNotHeld)
	}
	return fmt.Errorf("no lease on %s: %w", scope, history.ErrLeaseNotHeld)
}

func (s *Store) readLease(ctx context.Context, scope string) (*history.Lease, item, error) {
	it, err := s.get(ctx, leaseKey(scope))
	if err != nil || it == nil {
		return nil, nil, err
	}
	l, err := decodeLease(scope, it)
	return l, it, err
}

func decodeLease(scope string, it item) (*history.Lease, error) {
	l := &history.Lease{Scope: scope, Owner: getS(it, "owner")}
	var err error
	if l.Acquired, err = getTime(it, "acquired_at"); err != nil {
		return nil, err
	}
	if l.Expires, err = getTime(it, "lease_expires"); err != nil {
		return nil, err
	}
	return l, nil
}

// writeLease writes l on condition that the lease is still as read (raw;
// nil for absent).
func (s *Store) writeLease(ctx context.Context, l history.Lease, raw item) error {
	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: withKey(leaseKey(l.Scope), item{
			"scope": str(l.Scope), "owner": str(l.Owner), "acquired_at": tm(l.Acquired), "lease_expires": tm(l.Expires),
		}),
	}
	if raw == nil {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = names(attrPK)
	} else {
		in.ConditionExpression = aws.String("#owner = :owner AND #lease_expires = :exp AND #acquired_at = :acq")
		in.ExpressionAttributeNames = names("owner", "lease_expires", "acquired_at")
		in.ExpressionAttributeValues = item{":owner": raw["owner"], ":exp": raw["lease_expires"], ":acq": raw["acquired_at"]}
	}
	_, err := s.db.PutItem(ctx, in)
	return err
}
