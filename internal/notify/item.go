// Package notify tells each access key's owner what keyrot did, what is due
// and where a new key is, without nagging.
//
// The input of a run is a list of Items, one per key and state (rotated,
// deactivation-due, blocked-in-use, deactivated, deleted, finding, and the
// reminders that Reminders derives from the deadlines ahead). Notifier.Send
// resolves each item's recipient (an owner tag, the account's email, the
// security contact), drops the notices already sent within the dedupe window
// (kept in a History, so restarts do not resend), renders one digest per
// recipient from text and HTML templates, and delivers it on every configured
// channel: Amazon SES v2, SMTP, SNS, Slack incoming webhooks and signed JSON
// webhooks. One failing channel does not stop the others; failures are
// retried with a bounded backoff and reported in the returned Summary.
//
// Nothing notify renders contains secret material: new keys are pointed to by
// their Secrets Manager ARN and a fetch command, key IDs are masked in human
// text, and every rendered payload is screened before it leaves (see
// ErrSecretMaterial). docs/notifications.md describes the configuration.
package notify

import (
	"fmt"
	"strings"
	"time"
)

// State is what an item tells its owner.
type State string

// Item states.
const (
	// StateRotated: a new key was created and stored; Date is when the old
	// key will be deactivated, so the owner must switch before it.
	StateRotated State = "rotated"
	// StateDeactivationDue: the old key will be deactivated on Date.
	StateDeactivationDue State = "deactivation-due"
	// StateBlockedInUse: the old key is still used, so keyrot did not
	// deactivate it; Date is when deactivation was due, LastUsed* say where.
	StateBlockedInUse State = "blocked-in-use"
	// StateBlockedDelivery: the new key did not reach every destination
	// of the user (Undelivered says which, and why), so keyrot leaves the
	// old key active; it delivers again on its next run. Date is when the
	// old key's deactivation is (or was) due.
	StateBlockedDelivery State = "blocked-delivery"
	// StateDeactivated: the old key was deactivated on Date; it can be
	// reactivated with keyrot rollback until Rollback.
	StateDeactivated State = "deactivated"
	// StateDeleted: the old key was deleted on Date.
	StateDeleted State = "deleted"
	// StateFinding: audit findings (FindingTitles) about the user's keys.
	StateFinding State = "finding"
	// StateReminder: a deadline of the item in ReminderOf is DaysLeft days
	// away. Reminders produces these.
	StateReminder State = "reminder"
	// StateConsoleDisableDue: the user's console password, unused, will be
	// disabled on Date unless it is used before.
	StateConsoleDisableDue State = "console-disable-due"
	// StateConsoleDisabled: the user's unused console password was disabled
	// on Date; keyrot rollback --console restores console access.
	StateConsoleDisabled State = "console-disabled"
	// StateConsoleRestored: console access was restored with a new password,
	// stored in the secret SecretName, to be changed at the first sign-in.
	StateConsoleRestored State = "console-restored"
)

// States lists the states in the order digests present them: the most
// urgent first.
var States = []State{StateBlockedInUse, StateBlockedDelivery, StateReminder, StateRotated, StateConsoleRestored, StateDeactivationDue,
	StateConsoleDisableDue, StateDeactivated, StateConsoleDisabled, StateDeleted, StateFinding}

func (s State) rank() int {
	for i, x := range States {
		if x == s {
			return i
		}
	}
	return len(States)
}

// Item is one key's news for its owner.
type Item struct {
	AccountID    string
	AccountName  string
	AccountEmail string // the account's email from Organizations
	User         string
	UserARN      string
	// UserTags are the user's IAM tags; owner tags name the recipient. They
	// are never rendered.
	UserTags map[string]string
	// KeyID is the key the item is about (the old key for a rotation). It is
	// shown masked in human text.
	KeyID string
	// Service, for a service-specific credential (KeyID is then its ID),
	// is its service's short name (codecommit, keyspaces, bedrock).
	Service string
	State   State
	// Date is what is due when (rotated, deactivation-due: the old key's
	// deactivation; blocked-in-use: when deactivation was due) or when it
	// happened (deactivated, deleted, finding).
	Date time.Time
	// SecretName, SecretARN and SecretRegion locate the new key (rotated).
	SecretName   string
	SecretARN    string
	SecretRegion string
	// LastUsed* are the old key's last use (blocked-in-use).
	LastUsed        time.Time
	LastUsedService string
	LastUsedRegion  string
	// Rollback is the last moment keyrot rollback can reactivate the old
	// key (deactivated): the key is deleted after it.
	Rollback time.Time
	// FindingTitles are the audit findings (finding).
	FindingTitles []string
	// Undelivered are the destinations that do not hold the new key
	// (blocked-delivery).
	Undelivered []Undelivered
	// ReminderOf and DaysLeft are set on reminders: the state whose
	// deadline approaches and how many days are left.
	ReminderOf State
	DaysLeft   int
	// Event, if set, names a one-off event the item tells of (a CloudTrail
	// event ID): its notice is de-duplicated by the event, not by the key
	// and date alone, and is sent once, never repeated.
	Event string
}

// Deadline is the date by which the owner should act on the item, or zero:
// the old key's deactivation for rotated and deactivation-due items, the end
// of the rollback window for deactivated ones.
func (it Item) Deadline() time.Time {
	s := it.State
	if s == StateReminder {
		s = it.ReminderOf
	}
	switch s {
	case StateRotated, StateDeactivationDue, StateConsoleDisableDue:
		return it.Date
	case StateDeactivated:
		return it.Rollback
	}
	return time.Time{}
}

// deadlineEvent names what happens at an item's deadline.
func deadlineEvent(s State) string {
	switch s {
	case StateDeactivated:
		return "deletion"
	case StateConsoleDisableDue:
		return "console-disable"
	}
	return "deactivation"
}

// kind is the notice kind used for de-duplication.
func (it Item) kind(auditOnly bool) string {
	k := string(it.State)
	if it.State == StateReminder {
		k = fmt.Sprintf("reminder-%dd-%s", it.DaysLeft, deadlineEvent(it.ReminderOf))
	}
	if it.Event != "" {
		k += "@" + it.Event
	}
	if auditOnly {
		k = "audit-only:" + k
	}
	return k
}

// dueDate is the date recorded with the notice: the deadline if there is
// one, else the item's date.
func (it Item) dueDate() time.Time {
	if d := it.Deadline(); !d.IsZero() {
		return d
	}
	return it.Date
}

// FetchCommand is the AWS CLI command that prints the new key's secret; it
// names the secret by ARN and never contains the secret itself.
func (it Item) FetchCommand() string {
	if it.SecretARN == "" {
		return ""
	}
	region := it.SecretRegion
	if region == "" {
		region = regionOfARN(it.SecretARN)
	}
	return fmt.Sprintf("aws secretsmanager get-secret-value --secret-id %s --region %s --query SecretString --output text", it.SecretARN, region)
}

// RollbackCommand is the keyrot command that reactivates the old key, or
// "" when it cannot be rolled back (no rollback deadline: a key cut off as
// compromised).
func (it Item) RollbackCommand() string {
	if it.State == StateConsoleDisabled {
		return fmt.Sprintf("keyrot rollback --console --account %s --user %s", it.AccountID, it.User)
	}
	if it.Rollback.IsZero() {
		return ""
	}
	if it.Service != "" {
		return fmt.Sprintf("keyrot rollback --account %s --user %s --service %s", it.AccountID, it.User, it.Service)
	}
	return fmt.Sprintf("keyrot rollback --account %s --user %s", it.AccountID, it.User)
}

func regionOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// Reminders returns a reminder for every item whose deadline is exactly one
// of days calendar days (UTC) after now, e.g. days = [7, 1] reminds a week
// and a day before. Items without a deadline, or whose deadline has passed,
// get none. The reminders are new items; items is not changed.
func Reminders(items []Item, now time.Time, days []int) []Item {
	var out []Item
	today := dateOf(now)
	for _, it := range items {
		if it.State == StateReminder {
			continue
		}
		d := it.Deadline()
		if d.IsZero() || !d.After(now) {
			continue
		}
		left := int(dateOf(d).Sub(today).Hours() / 24)
		for _, n := range days {
			if n == left {
				r := it
				r.ReminderOf, r.State, r.DaysLeft = it.State, StateReminder, left
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Undelivered is a destination that does not hold a user's new key: its
// reference (which holds no secret) and the redacted error.
type Undelivered struct {
	Destination string `json:"destination"`
	Error       string `json:"error"`
}
