package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
)

// Channel delivers rendered digests: an email service, a topic, a chat or a
// webhook. Send must screen its final payload with screen before it leaves.
type Channel interface {
	// Name is the channel's configured name, e.g. "ses" or "team-slack".
	Name() string
	// Send delivers one digest. Errors wrapped by Permanent are not retried.
	Send(ctx context.Context, m *Message) error
}

// Target is a channel and which digests it receives: all, owners or central.
type Target struct {
	Channel  Channel
	Audience string
}

// Message is one digest ready to deliver.
type Message struct {
	// ID is unique per run and recipient; webhooks send it as the delivery ID.
	ID string
	// To is the recipient's email address; Cc the central copy, if any.
	To string
	Cc []string
	// Time is the run's time.
	Time    time.Time
	Subject string
	Text    string
	HTML    string
	// Digest is the structured content, for chat and webhook payloads.
	Digest *Digest
}

// Run is one run's input to Send.
type Run struct {
	// ID identifies the run (e.g. the history run ID); it seeds message IDs.
	ID string
	// Now is the run's time: reminders and dedupe are computed from it.
	Now time.Time
	// AuditOnly marks every notice as what would happen.
	AuditOnly bool
	Items     []Item
}

// Options are the Notifier's dependencies.
type Options struct {
	// History de-duplicates notices; nil means a fresh MemoryHistory.
	History History
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Sleep waits between attempts; tests replace it. Defaults to a timer
	// that stops early when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts per delivery (default 3) and the first Backoff (default
	// 2s, doubled each retry, at most 30s).
	MaxAttempts int
	Backoff     time.Duration
}

// Notifier sends digests.
type Notifier struct {
	cfg     *Config
	targets []Target
	tmpl    *Templates
	hist    History
	log     *slog.Logger
	sleep   func(context.Context, time.Duration) error
	tries   int
	backoff time.Duration
}

// New returns a Notifier for cfg delivering to targets. It loads the
// templates (embedded, overridden from cfg.TemplatesDir).
func New(cfg *Config, targets []Target, opts Options) (*Notifier, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	t, err := LoadTemplates(cfg.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("new notifier: %w", err)
	}
	n := &Notifier{cfg: cfg, targets: targets, tmpl: t, hist: opts.History, log: opts.Logger,
		sleep: opts.Sleep, tries: opts.MaxAttempts, backoff: opts.Backoff}
	if n.hist == nil {
		n.hist = &MemoryHistory{}
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.sleep == nil {
		n.sleep = sleepCtx
	}
	if n.tries < 1 {
		n.tries = 3
	}
	if n.backoff <= 0 {
		n.backoff = 2 * time.Second
	}
	return n, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Summary is what a Send did: the per-run delivery summary.
type Summary struct {
	// Digests is how many digests were rendered and offered to channels.
	Digests int `json:"digests"`
	// Notices is how many new notices they carried; Suppressed how many
	// were skipped as already sent within the dedupe window.
	Notices    int `json:"notices"`
	Suppressed int `json:"suppressed"`
	// Deliveries has one entry per digest and channel.
	Deliveries []Delivery `json:"deliveries"`
	// Unroutable names items no recipient could be found for.
	Unroutable []string `json:"unroutable,omitempty"`
	// RecordErrors are notices sent but not recorded in the history.
	RecordErrors []string `json:"record_errors,omitempty"`
}

// Delivery is one digest on one channel.
type Delivery struct {
	Channel   string `json:"channel"`
	Recipient string `json:"recipient"`
	Subject   string `json:"subject"`
	Attempts  int    `json:"attempts"`
	// Error is empty when the delivery succeeded.
	Error string `json:"error,omitempty"`
	err   error
}

// Failed returns the deliveries that did not succeed.
func (s *Summary) Failed() []Delivery {
	var out []Delivery
	for _, d := range s.Deliveries {
		if d.Error != "" {
			out = append(out, d)
		}
	}
	return out
}

// Err joins the errors of the failed deliveries; nil if all succeeded.
func (s *Summary) Err() error {
	var errs []error
	for _, d := range s.Failed() {
		errs = append(errs, fmt.Errorf("notify %s via %s: %w", d.Recipient, d.Channel, d.err))
	}
	return errors.Join(errs...)
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (a rejected address, a 4xx).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Recipient returns where an item's notices go: the first owner tag holding
// an email address, else the account's email, else the security contact;
// "" if none.
func (n *Notifier) Recipient(it Item) string {
	for _, tag := range n.cfg.OwnerTags {
		if a := address(it.UserTags[tag]); a != "" {
			return a
		}
	}
	if a := address(it.AccountEmail); a != "" {
		return a
	}
	return address(n.cfg.SecurityContact)
}

// address returns the bare, lower-cased address in s, or "" if s is not an
// email address.
func address(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || !validAddress(a.Address) {
		return ""
	}
	return strings.ToLower(a.Address)
}

type noticeKey struct {
	recipient, account, user, keyID, kind string
	due                                   string
}

// Send notifies about one run: it adds the reminders due at run.Now, routes
// every item to its recipient, drops the notices already sent within the
// dedupe window, and delivers one digest per recipient with news on every
// target of its audience. Delivery failures are in the Summary, not the
// error; the error is for a history that cannot be read, or ctx ending.
func (n *Notifier) Send(ctx context.Context, run Run) (*Summary, error) {
	sum := &Summary{}
	items := append(append([]Item(nil), run.Items...), Reminders(run.Items, run.Now, n.cfg.Reminders)...)
	contact := address(n.cfg.SecurityContact)
	perRcpt := map[string][]entry{}
	seen := map[noticeKey]bool{}
	add := func(rcpt, owner string, it Item) error {
		k := noticeKey{rcpt, it.AccountID, it.User, it.KeyID, it.kind(run.AuditOnly), fmtDate(it.dueDate())}
		if seen[k] {
			return nil
		}
		seen[k] = true
		last, found, err := n.hist.LastNotice(ctx, k.recipient, k.account, k.user, k.keyID, k.kind)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		isNew := !n.suppressed(it, last, found, run.Now)
		if !isNew {
			sum.Suppressed++
		}
		perRcpt[rcpt] = append(perRcpt[rcpt], entry{item: it, owner: owner, isNew: isNew})
		return nil
	}
	for _, it := range items {
		rcpt := n.Recipient(it)
		if rcpt == "" {
			sum.Unroutable = append(sum.Unroutable, fmt.Sprintf("%s/%s key %s (%s)", it.AccountID, it.User, inventory.MaskKeyID(it.KeyID), it.State))
			n.log.Warn("notify no recipient", "account", it.AccountID, "user", it.User, "state", string(it.State))
			continue
		}
		if err := add(rcpt, rcpt, it); err != nil {
			return sum, err
		}
		if n.cfg.Central == CentralDigest && contact != "" && rcpt != contact {
			if err := add(contact, rcpt, it); err != nil {
				return sum, err
			}
		}
	}
	rcpts := make([]string, 0, len(perRcpt))
	for r := range perRcpt {
		rcpts = append(rcpts, r)
	}
	sort.Strings(rcpts)
	for _, rcpt := range rcpts {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		entries := perRcpt[rcpt]
		fresh := 0
		for _, e := range entries {
			if e.isNew {
				fresh++
			}
		}
		if fresh == 0 {
			continue
		}
		central := n.cfg.Central == CentralDigest && rcpt == contact
		d := newDigest(rcpt, contact, central, run.AuditOnly, run.Now, entries)
		r, err := n.tmpl.Render(d)
		if err != nil {
			return sum, fmt.Errorf("notify %s: %w", rcpt, err)
		}
		msg := &Message{ID: messageID(run, rcpt), To: rcpt, Time: run.Now, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Digest: d}
		if n.cfg.Central == CentralCopy && contact != "" && rcpt != contact {
			msg.Cc = []string{contact}
		}
		sum.Digests++
		sum.Notices += fresh
		var delivered []string
		for _, t := range n.targets {
			if !wants(t.Audience, central) {
				continue
			}
			dl := n.deliver(ctx, t.Channel, msg)
			sum.Deliveries = append(sum.Deliveries, dl)
			if dl.err == nil {
				delivered = append(delivered, t.Channel.Name())
			}
		}
		if len(delivered) == 0 {
			continue // not recorded: the next run tries again
		}
		for _, e := range entries {
			if !e.isNew {
				continue
			}
			_, err := n.hist.RecordNotice(ctx, history.Notice{
				Recipient: rcpt, Account: e.item.AccountID, User: e.item.User, KeyID: e.item.KeyID,
				Kind: e.item.kind(run.AuditOnly), DueDate: e.item.dueDate(), SentAt: run.Now,
				Channel: strings.Join(delivered, ","),
			})
			if err != nil {
				sum.RecordErrors = append(sum.RecordErrors, err.Error())
				n.log.Error("notify record notice", "recipient", rcpt, "account", e.item.AccountID, "user", e.item.User, "err", err)
			}
		}
	}
	return sum, nil
}

// suppressed reports whether the item's notice was already sent. Events
// (rotated, deactivated, deleted, a reminder, a deactivation date) are
// announced once per date; ongoing conditions (a key blocked in use,
// findings) are repeated once per dedupe window until resolved; an item
// of a one-off event (Item.Event) is told once.
func (n *Notifier) suppressed(it Item, last history.Notice, found bool, now time.Time) bool {
	if !found || fmtDate(last.DueDate) != fmtDate(it.dueDate()) {
		return false
	}
	if it.Event != "" {
		return true // a one-off event is told once
	}
	if now.Sub(last.SentAt) < n.cfg.DedupeWindow {
		return true
	}
	return it.State != StateBlockedInUse && it.State != StateBlockedDelivery && it.State != StateFinding
}

func wants(audience string, central bool) bool {
	switch audience {
	case AudienceOwners:
		return !central
	case AudienceCentral:
		return central
	}
	return true
}

func messageID(run Run, rcpt string) string {
	h := sha256.Sum256([]byte(run.ID + "\x00" + run.Now.UTC().Format(time.RFC3339Nano) + "\x00" + rcpt))
	return hex.EncodeToString(h[:12])
}

// deliver sends m on ch, retrying errors that are not permanent with a
// doubling backoff, at most n.tries attempts.
func (n *Notifier) deliver(ctx context.Context, ch Channel, m *Message) Delivery {
	d := Delivery{Channel: ch.Name(), Recipient: m.To, Subject: m.Subject}
	wait := n.backoff
	for {
		d.Attempts++
		err := ch.Send(ctx, m)
		if err == nil {
			d.err, d.Error = nil, ""
			n.log.Info("notify sent", "channel", d.Channel, "recipient", m.To, "attempts", d.Attempts)
			return d
		}
		d.err, d.Error = err, err.Error()
		n.log.Warn("notify send", "channel", d.Channel, "recipient", m.To, "attempt", d.Attempts, "err", err)
		if IsPermanent(err) || errors.Is(err, ErrSecretMaterial) || d.Attempts >= n.tries || ctx.Err() != nil {
			return d
		}
		if err := n.sleep(ctx, wait); err != nil {
			return d
		}
		wait = min(2*wait, 30*time.Second)
	}
}
