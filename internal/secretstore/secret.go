// Package secretstore keeps the access keys keyrot creates in AWS Secrets
// Manager: one secret per IAM user, one version per rotation (AWSCURRENT is
// the newest key, AWSPREVIOUS the one it replaced), tagged so keyrot can find
// its secrets with one ListSecrets call, and readable only by the user and the
// configured readers through a resource policy. docs/secret-format.md
// describes the stored value.
package secretstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Secret is secret text, such as a secret access key. It never prints
// itself: String, GoString, LogValue and MarshalJSON all give "<secret>".
// Reveal returns the text for the few places that must send it to AWS.
type Secret struct{ s string }

// NewSecret wraps secret text.
func NewSecret(s string) Secret { return Secret{s: s} }

// Reveal returns the secret text. Never log or print it.
func (s Secret) Reveal() string { return s.s }

// Empty reports whether the secret holds no text.
func (s Secret) Empty() bool { return s.s == "" }

const redacted = "<secret>"

// String implements fmt.Stringer with a redacted value.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer with a redacted value (for %#v).
func (Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer with a redacted value.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the secret as "<secret>".
func (Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalText encodes the secret as "<secret>" (for encoders that prefer text).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Format implements fmt.Formatter so that every verb, %x and %q included, is redacted.
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", redacted)
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// FormatVersion is the version of the stored value's layout.
const FormatVersion = 1

// Value is what a user's secret holds: one access key and whose it is.
// Printing or JSON-encoding a Value redacts SecretAccessKey; Encode produces
// the real document that is stored.
type Value struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey Secret    `json:"SecretAccessKey"`
	UserName        string    `json:"UserName"`
	AccountID       string    `json:"AccountId"`
	CreateDate      time.Time `json:"CreateDate"`
	Version         int       `json:"Version"`
}

// wireValue is Value with the secret in the clear, as stored.
type wireValue struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	UserName        string `json:"UserName"`
	AccountID       string `json:"AccountId"`
	CreateDate      string `json:"CreateDate"`
	Version         int    `json:"Version"`
}

// Encode returns the JSON document stored as the secret's SecretString.
// The result contains the secret access key: send it to Secrets Manager only.
func (v Value) Encode() (string, error) {
	if v.AccessKeyID == "" || v.SecretAccessKey.Empty() {
		return "", errors.New("encode secret value: access key ID and secret are required")
	}
	ver := v.Version
	if ver == 0 {
		ver = FormatVersion
	}
	b, err := json.Marshal(wireValue{
		AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey.Reveal(), UserName: v.UserName,
		AccountID: v.AccountID, CreateDate: v.CreateDate.UTC().Format(time.RFC3339), Version: ver,
	})
	if err != nil {
		return "", fmt.Errorf("encode secret value: %w", err)
	}
	return string(b), nil
}

// ErrBadValue means a secret's value is not a keyrot access key document.
var ErrBadValue = errors.New("not a keyrot access key secret")

// ParseValue decodes a stored secret value. It accepts any Version from 1
// up to FormatVersion and ignores unknown fields (later versions only add
// fields). Error messages never echo the input: it holds a secret.
func ParseValue(s string) (Value, error) {
	var w wireValue
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&w); err != nil {
		return Value{}, fmt.Errorf("parse secret value: invalid JSON: %w", ErrBadValue)
	}
	if dec.More() {
		return Value{}, fmt.Errorf("parse secret value: trailing data: %w", ErrBadValue)
	}
	switch {
	case w.Version < 1 || w.Version > FormatVersion:
		return Value{}, fmt.Errorf("parse secret value: unsupported version %d: %w", w.Version, ErrBadValue)
	case w.AccessKeyID == "" || w.SecretAccessKey == "":
		return Value{}, fmt.Errorf("parse secret value: AccessKeyId and SecretAccessKey are required: %w", ErrBadValue)
	}
	v := Value{AccessKeyID: w.AccessKeyID, SecretAccessKey: NewSecret(w.SecretAccessKey), UserName: w.UserName,
		AccountID: w.AccountID, Version: w.Version}
	if w.CreateDate != "" {
		t, err := time.Parse(time.RFC3339, w.CreateDate)
		if err != nil {
			return Value{}, fmt.Errorf("parse secret value: CreateDate is not RFC 3339: %w", ErrBadValue)
		}
		v.CreateDate = t
	}
	return v, nil
}
