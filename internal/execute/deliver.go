package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretscan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Destinations opens the destinations declared for a user (the deliver
// section of keyrot.yaml and the user's tag). The composition root
// implements it over deliver.Config.Resolve and deliver/backends.
type Destinations interface {
	// For resolves the destinations of user u of account as the
	// configuration says now and opens each. A destination that cannot be
	// opened (its token is missing) and a reference in the user's tag
	// that does not parse are returned with their error.
	For(ctx context.Context, account string, u inventory.User) []Target
}

// Target is one destination of a user: opened (Dest), or the error that
// kept it from being opened.
type Target struct {
	// Ref is the destination's reference, safe to print.
	Ref  string
	Dest deliver.Destination
	Err  error
}

// DeliveryLog records deliveries and reads them back. history.Store
// implements it; without one nothing is recorded (the outcomes still say
// what was delivered) and the usage gate counts from the store alone,
// which only holds an old key longer.
type DeliveryLog interface {
	RecordDelivery(ctx context.Context, d history.Delivery) (int64, error)
	Deliveries(ctx context.Context, account, user string) ([]history.Delivery, error)
}

var _ DeliveryLog = (*history.Store)(nil)

// Delivery is what became of one destination of a user in an action.
type Delivery struct {
	// Destination is the destination's reference.
	Destination string `json:"destination"`
	// KeyID is the access key ID delivered.
	KeyID string `json:"key_id"`
	// Delivered: the destination was read back holding KeyID.
	Delivered bool `json:"delivered"`
	// Written: keyrot wrote the key in this action (false when the
	// destination already held it).
	Written bool `json:"written,omitempty"`
	// Error is why the destination does not hold the key, redacted.
	Error string `json:"error,omitempty"`
}

// DefaultDeliverTimeout bounds one destination's write and read back when
// Executor.DeliverTimeout is zero.
const DefaultDeliverTimeout = time.Minute

// DefaultEmergencyDeliverWait bounds, in all, an emergency rotation's
// delivery when RotateNowRequest.DeliverWait is zero.
const DefaultEmergencyDeliverWait = 30 * time.Second

// deliverMode says how deliverKey treats a destination.
type deliverMode int

const (
	// writeAll writes every destination (Write is idempotent), then reads
	// each back: right after the key is verified.
	writeAll deliverMode = iota
	// writeMissing reads each destination and writes only those that do
	// not hold the key, then reads them back: before a deactivation.
	writeMissing
	// readOnly reads each destination and writes none (audit-only runs).
	readOnly
)

// deliverOpts are deliverKey's settings.
type deliverOpts struct {
	mode deliverMode
	// parallel works on the destinations at once (an emergency rotation,
	// bounded in all by the caller's context).
	parallel bool
	// replacedLastUse is the last use of the key the delivered key
	// replaces, read before the writes (evReplacedLastUse's format), recorded
	// with each write.
	replacedLastUse string
}

// errNotDeliverable says the key about to be delivered is no longer the
// user's live, active, stored key: nothing is written.
type errNotDeliverable struct{ why string }

func (e *errNotDeliverable) Error() string { return e.why }

// redact is an error's text as it may be shown, recorded and sent: a
// text that looks like it holds secret material is withheld.
func redact(err error) string {
	s := err.Error()
	if secretscan.Contains(s) {
		return "an error whose text looks like it holds secret material (withheld)"
	}
	return s
}

// destinationsOf resolves and opens the destinations of the action's user
// now, from its live tags; none when no Destinations are configured.
func (r *runner) destinationsOf(ctx context.Context, a plan.Action, c IAM, tags userTags) ([]Target, error) {
	if r.e.Destinations == nil {
		return nil, nil
	}
	arn := a.UserARN
	if arn == "" {
		var err error
		if arn, err = userARN(ctx, c, a.User); err != nil {
			return nil, err
		}
	}
	u := inventory.User{Name: a.User, ARN: arn, Path: pathFromARN(arn, a.User), Tags: tags.All}
	return r.e.Destinations.For(ctx, a.AccountID, u), nil
}

// deliverKey delivers newID to targets. It first re-checks, live, that
// newID is an active key of the user and held by the user's secret's
// AWSCURRENT, and takes the secret from that stored version: a rerun
// after a crash writes the same key, and a key keyrot deactivated,
// deleted or superseded is never written (an *errNotDeliverable, with
// nothing written). It returns one Delivery per target, each read back
// from the destination, and records each.
func (r *runner) deliverKey(ctx context.Context, a plan.Action, c IAM, targets []Target, newID string, do deliverOpts) ([]Delivery, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	mk := inventory.MaskKeyID(newID)
	if err := r.step("before-list-keys"); err != nil {
		return nil, err
	}
	live, err := listKeys(ctx, c, a.User)
	if err != nil {
		return nil, fmt.Errorf("re-check before delivering %s: %w", mk, err)
	}
	if k := findKey(live, newID); k == nil || k.Status != inventory.KeyActive {
		return nil, &errNotDeliverable{"key " + mk + " is not an active key of the user (keys are " + keysText(live) + "): not delivered"}
	}
	cur, o := r.currentHolds(ctx, a, newID)
	if o != nil {
		if o.Err != nil {
			return nil, o.Err
		}
		return nil, &errNotDeliverable{"not delivered: " + o.Detail}
	}
	key := cur.Value
	out := make([]Delivery, len(targets))
	one := func(i int) {
		out[i] = r.deliverOne(ctx, a, targets[i], key, do)
	}
	if do.parallel {
		var wg sync.WaitGroup
		for i := range targets {
			wg.Add(1)
			go func() { defer wg.Done(); one(i) }()
		}
		wg.Wait()
	} else {
		for i := range targets {
			one(i)
		}
	}
	if r.crashed.Load() {
		return out, &crashError{step: "deliver"}
	}
	return out, nil
}

// deliverOne delivers key to one destination, bounded by DeliverTimeout,
// and records the result.
func (r *runner) deliverOne(ctx context.Context, a plan.Action, t Target, key secretstore.Value, do deliverOpts) Delivery {
	mode := do.mode
	d := Delivery{Destination: t.Ref, KeyID: key.AccessKeyID}
	if t.Err != nil {
		d.Error = redact(t.Err)
		if mode != readOnly {
			r.recordDelivery(ctx, a, d, "")
		}
		return d
	}
	timeout := r.e.DeliverTimeout
	if timeout <= 0 {
		timeout = DefaultDeliverTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.step("before-deliver"); err != nil {
		d.Error = err.Error()
		return d
	}
	var err error
	held := ""
	if mode != writeAll {
		held, err = t.Dest.Current(dctx)
	}
	if err == nil && held != key.AccessKeyID && mode != readOnly {
		r.recordWriting(ctx, a, t.Ref, key.AccessKeyID, do.replacedLastUse)
		if err = t.Dest.Write(dctx, key); err == nil {
			d.Written = true
			if serr := r.step("after-deliver"); serr != nil {
				d.Error = serr.Error()
				return d
			}
			held, err = t.Dest.Current(dctx)
		}
	}
	switch {
	case err != nil:
		if errors.Is(err, context.DeadlineExceeded) && dctx.Err() != nil {
			err = fmt.Errorf("%s did not answer in time: %w", t.Ref, err)
		}
		d.Error = redact(err)
	case held != key.AccessKeyID:
		what := "no key"
		if held != "" {
			what = "key " + inventory.MaskKeyID(held)
		}
		d.Error = t.Ref + " holds " + what + ", not " + inventory.MaskKeyID(key.AccessKeyID)
		if mode != readOnly {
			d.Error += " after the write"
		}
	default:
		d.Delivered = true
	}
	if mode != readOnly {
		r.recordDelivery(ctx, a, d, do.replacedLastUse)
	}
	return d
}

// recordDelivery mirrors a delivery into the history; failures are
// logged, not fatal: the destinations themselves are read back live.
func (r *runner) recordDelivery(ctx context.Context, a plan.Action, d Delivery, replacedLastUse string) {
	if r.e.Deliveries == nil {
		return
	}
	st, lu := history.DeliveryFailed, ""
	switch {
	case d.Delivered && d.Written:
		st, lu = history.DeliveryWritten, replacedLastUse
	case d.Delivered:
		st = history.DeliveryConfirmed
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if _, err := r.e.Deliveries.RecordDelivery(ctx, history.Delivery{Account: a.AccountID, User: a.User, KeyID: d.KeyID,
		Destination: d.Destination, Status: st, Error: d.Error, ReplacedLastUsed: lu, At: r.e.now(), RunID: r.e.RunID}); err != nil {
		r.e.log().Warn("record delivery", "account", a.AccountID, "user", a.User, "destination", d.Destination, "err", err)
	}
}

// recordWriting records that keyrot is about to write keyID to a
// destination, with the replaced key's last use read before.
func (r *runner) recordWriting(ctx context.Context, a plan.Action, ref, keyID, replacedLastUse string) {
	if r.e.Deliveries == nil {
		return
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if _, err := r.e.Deliveries.RecordDelivery(ctx, history.Delivery{Account: a.AccountID, User: a.User, KeyID: keyID,
		Destination: ref, Status: history.DeliveryWriting, ReplacedLastUsed: replacedLastUse, At: r.e.now(), RunID: r.e.RunID}); err != nil {
		r.e.log().Warn("record delivery", "account", a.AccountID, "user", a.User, "destination", ref, "err", err)
	}
}

// undelivered returns the deliveries that failed.
func undelivered(ds []Delivery) []Delivery {
	var out []Delivery
	for _, d := range ds {
		if !d.Delivered {
			out = append(out, d)
		}
	}
	return out
}

// deliveryText says, in words, where a key did not get to.
func deliveryText(ds []Delivery) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Destination+" ("+d.Error+")")
	}
	return strings.Join(parts, "; ")
}

// deliveredSummary is the sentence an outcome's detail gets about its
// deliveries.
func deliveredSummary(ds []Delivery) string {
	if len(ds) == 0 {
		return ""
	}
	bad := undelivered(ds)
	if len(bad) == 0 {
		return fmt.Sprintf("; delivered to %d destination(s)", len(ds))
	}
	return fmt.Sprintf("; delivered to %d of %d destination(s), not to %s", len(ds)-len(bad), len(ds), deliveryText(bad))
}

// lastWrite is the latest write of a key to one of the user's
// destinations: from then on the destination's consumers can switch, so
// the usage gate counts from it when it is later than the store.
type lastWrite struct {
	at time.Time
	// replacedLastUse is the replaced key's last use read just before
	// that write (evReplacedLastUse's format; "" unknown).
	replacedLastUse string
}

// latestWrite returns the latest recorded write (or write about to be
// made) of keyID to a destination of the action's user; the zero
// lastWrite when there is none or no log.
func (r *runner) latestWrite(ctx context.Context, a plan.Action, keyID string) lastWrite {
	if r.e.Deliveries == nil {
		return lastWrite{}
	}
	ds, err := r.e.Deliveries.Deliveries(ctx, a.AccountID, a.User)
	if err != nil {
		r.e.log().Warn("read deliveries", "account", a.AccountID, "user", a.User, "err", err)
		return lastWrite{}
	}
	var lw lastWrite
	for _, d := range ds {
		if d.KeyID == keyID && (d.Status == history.DeliveryWriting || d.Status == history.DeliveryWritten) && !d.At.Before(lw.at) {
			lw = lastWrite{at: d.At, replacedLastUse: d.ReplacedLastUsed}
		}
	}
	return lw
}

// lastUseText is a last use in evReplacedLastUse's format.
func lastUseText(lu lastUse) string {
	if lu.At == nil {
		return "never"
	}
	return lu.At.UTC().Format(time.RFC3339Nano)
}

// sameUse reports whether the last use at is the one recorded as text.
func sameUse(recorded string, at time.Time) bool {
	seen, err := time.Parse(time.RFC3339Nano, recorded)
	return err == nil && seen.Sub(at).Abs() < time.Second
}
