package history

import (
	"fmt"
	"time"
)

// The checks every history store applies before it writes, so that a store
// kept elsewhere (internal/history/dynamostore) refuses exactly what this
// one refuses. Their errors wrap ErrInvalid or ErrSecretMaterial and never
// repeat a value that may be secret.

// ValidateRunStart checks the fields of r that StartRun records.
func ValidateRunStart(r Run) error {
	if err := requireText("command", r.Command); err != nil {
		return err
	}
	if err := oneOf("mode", r.Mode, ModeEnforce, ModeAuditOnly, ModeDryRun); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"host", r.Host}, {"version", r.Version}} {
		if err := checkNoSecret(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// ValidateFinish checks FinishRun's status and summary.
func ValidateFinish(status, summary string) error {
	if err := oneOf("status", status, RunSucceeded, RunFailed, RunInterrupted); err != nil {
		return err
	}
	return checkNoSecret("summary", summary)
}

// ValidateAction checks the descriptive fields of an action BeginAction
// records.
func ValidateAction(a Action) error { return validateAction(a) }

// ValidateOutcome checks an outcome EndAction records.
func ValidateOutcome(o Outcome) error {
	if err := oneOf("status", o.Status, ActionSucceeded, ActionFailed, ActionSkipped, ActionBlocked); err != nil {
		return err
	}
	if err := checkNoSecret("error", o.Error); err != nil {
		return err
	}
	return checkNoSecret("key id", o.KeyID)
}

// ValidateKeyEvent checks a key event RecordKeyEvent records.
func ValidateKeyEvent(e KeyEvent) error { return validateKeyEvent(e) }

// ValidateNotice checks a notice RecordNotice records.
func ValidateNotice(n Notice) error {
	for _, f := range []struct{ name, v string }{{"recipient", n.Recipient}, {"kind", n.Kind}} {
		if err := requireText(f.name, f.v); err != nil {
			return err
		}
	}
	if err := requireID("account", n.Account); err != nil {
		return err
	}
	if err := requireID("user", n.User); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"key id", n.KeyID}, {"channel", n.Channel}} {
		if err := checkNoSecret(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLease checks the arguments of AcquireLease and RenewLease.
func ValidateLease(scope, owner string, ttl time.Duration) error {
	return validateLease(scope, owner, ttl)
}

// ValidateRelease checks the arguments of ReleaseLease.
func ValidateRelease(scope, owner string) error {
	if scope == "" || owner == "" {
		return fmt.Errorf("empty scope or owner: %w", ErrInvalid)
	}
	return nil
}

// FormatTime is how the history writes a time: UTC RFC 3339 with a fixed
// nine-digit fraction, so that text order is time order.
func FormatTime(t time.Time) string { return formatTime(t) }

// ParseTime reads a time FormatTime wrote.
func ParseTime(s string) (time.Time, error) { return parseTime(s) }

// OrNow returns t in UTC, or the current time if t is zero: the default
// every store gives a missing time.
func OrNow(t time.Time) time.Time { return orNow(t) }
