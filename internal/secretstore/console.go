package secretstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Console passwords. keyrot rollback restores a console password keyrot
// disabled with a new password, stored first in a secret of its own next to
// the user's key secret: "<secret name>/console-password". It is tagged
// TagAccount (so keyrot's permissions cover it) and TagConsoleUser, not
// TagUser, so that List (the key secrets) never takes it for a key secret.
const (
	// TagConsoleUser names the user whose console password the secret holds.
	TagConsoleUser = "keyrot:console-user"
	// PasswordSuffix is appended to the user's secret name.
	PasswordSuffix = "/console-password"
)

// PasswordValue is what a console password secret holds. Printing or
// JSON-encoding it redacts Password; Encode produces the stored document.
type PasswordValue struct {
	UserName  string `json:"UserName"`
	AccountID string `json:"AccountId"`
	Password  Secret `json:"Password"`
	// PasswordResetRequired: the user must choose a new password at the
	// first sign-in (always true for keyrot's restores).
	PasswordResetRequired bool `json:"PasswordResetRequired"`
	// SignInURL is the account's console sign-in page.
	SignInURL string `json:"SignInUrl"`
	// Restore identifies the disabling this password restores from (the
	// time keyrot recorded it, RFC 3339): a retried restore of the same
	// disabling reuses the stored password instead of making a new one.
	Restore    string    `json:"Restore"`
	CreateDate time.Time `json:"CreateDate"`
	Version    int       `json:"Version"`
}

type wirePassword struct {
	UserName              string `json:"UserName"`
	AccountID             string `json:"AccountId"`
	Password              string `json:"Password"`
	PasswordResetRequired bool   `json:"PasswordResetRequired"`
	SignInURL             string `json:"SignInUrl"`
	Restore               string `json:"Restore"`
	CreateDate            string `json:"CreateDate"`
	Version               int    `json:"Version"`
}

// ErrBadPassword means a secret's value is not a keyrot console password document.
var ErrBadPassword = errors.New("not a keyrot console password secret")

// Encode returns the JSON document stored as the secret's SecretString. The
// result contains the password: send it to Secrets Manager only.
func (v PasswordValue) Encode() (string, error) {
	if v.Password.Empty() || v.Restore == "" {
		return "", errors.New("encode console password: the password and the restore it belongs to are required")
	}
	b, err := json.Marshal(wirePassword{UserName: v.UserName, AccountID: v.AccountID, Password: v.Password.Reveal(),
		PasswordResetRequired: v.PasswordResetRequired, SignInURL: v.SignInURL, Restore: v.Restore,
		CreateDate: v.CreateDate.UTC().Format(time.RFC3339), Version: FormatVersion})
	if err != nil {
		return "", fmt.Errorf("encode console password: %w", err)
	}
	return string(b), nil
}

// ParsePassword decodes a stored console password document. Like
// ParseValue it accepts Version 1 up to FormatVersion, ignores unknown
// fields, and never echoes its input.
func ParsePassword(s string) (PasswordValue, error) {
	var w wirePassword
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&w); err != nil {
		return PasswordValue{}, fmt.Errorf("parse console password: invalid JSON: %w", ErrBadPassword)
	}
	if dec.More() {
		return PasswordValue{}, fmt.Errorf("parse console password: trailing data: %w", ErrBadPassword)
	}
	switch {
	case w.Version < 1 || w.Version > FormatVersion:
		return PasswordValue{}, fmt.Errorf("parse console password: unsupported version %d: %w", w.Version, ErrBadPassword)
	case w.Password == "" || w.Restore == "":
		return PasswordValue{}, fmt.Errorf("parse console password: Password and Restore are required: %w", ErrBadPassword)
	}
	v := PasswordValue{UserName: w.UserName, AccountID: w.AccountID, Password: NewSecret(w.Password),
		PasswordResetRequired: w.PasswordResetRequired, SignInURL: w.SignInURL, Restore: w.Restore, Version: w.Version}
	if w.CreateDate != "" {
		t, err := time.Parse(time.RFC3339, w.CreateDate)
		if err != nil {
			return PasswordValue{}, fmt.Errorf("parse console password: CreateDate is not RFC 3339: %w", ErrBadPassword)
		}
		v.CreateDate = t
	}
	return v, nil
}

// PasswordName renders the name of the user's console password secret.
func (s *Store) PasswordName(d NameData) (string, error) {
	n, err := s.Name(d)
	if err != nil {
		return "", err
	}
	return n + PasswordSuffix, nil
}

// PasswordEntry is one console password to store.
type PasswordEntry struct {
	Name    NameData
	UserARN string
	Value   PasswordValue
	// Step is as Entry.Step: called before each Secrets Manager call.
	Step func(step string) error
}

func (e PasswordEntry) step(name string) error {
	if e.Step == nil {
		return nil
	}
	return e.Step(name)
}

// passwordToken is the ClientRequestToken of the version that stores the
// password of one restore: a retried store is a no-op.
func passwordToken(d NameData, restore string) string {
	h := sha256.Sum256([]byte("keyrot-console-password:" + d.AccountID + "/" + d.UserName + "@" + restore))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// PutPassword stores a console password as its secret's AWSCURRENT version,
// in the order Put uses (secret, resource policy for the user and the
// readers, value), so that a value is never readable beyond them.
func (s *Store) PutPassword(ctx context.Context, e PasswordEntry) (Stored, error) {
	name, err := s.PasswordName(e.Name)
	if err != nil {
		return Stored{}, err
	}
	val, err := e.Value.Encode()
	if err != nil {
		return Stored{}, err
	}
	d := e.Name
	who := d.AccountID + "/" + d.UserName
	arn, _, err := s.ensure(ctx, name, "Console password of IAM user "+d.UserName+" in account "+d.AccountID+", restored by keyrot",
		[]types.Tag{
			{Key: aws.String(TagAccount), Value: aws.String(d.AccountID)},
			{Key: aws.String(TagConsoleUser), Value: aws.String(d.UserName)},
		}, e.step)
	if err != nil {
		return Stored{}, fmt.Errorf("store console password of %s: %w", who, err)
	}
	if err := e.step("store-policy"); err != nil {
		return Stored{}, err
	}
	if err := s.setPolicy(ctx, arn, e.UserARN, true); err != nil {
		return Stored{}, fmt.Errorf("store console password of %s: %w", who, err)
	}
	if err := e.step("store-put-value"); err != nil {
		return Stored{}, err
	}
	out, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(passwordToken(d, e.Value.Restore)), SecretString: aws.String(val),
	})
	if err != nil {
		return Stored{}, fmt.Errorf("store console password of %s: put secret value in %s: %w", who, name, err)
	}
	return Stored{ARN: arn, Name: name, VersionID: aws.ToString(out.VersionId)}, nil
}

// StoredPassword reads the AWSCURRENT console password of the secret and
// where it is; ErrNoVersion when there is none.
func (s *Store) StoredPassword(ctx context.Context, secretID string) (PasswordValue, Stored, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String("AWSCURRENT")})
	if isAccessDenied(err) {
		// As in Stage: a missing secret has no tags, and a policy
		// conditioned on them is denied rather than told it is missing.
		if _, derr := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)}); IsNotFound(derr) {
			err = derr
		}
	}
	if IsNotFound(err) {
		return PasswordValue{}, Stored{}, fmt.Errorf("read console password %s: %w", secretID, ErrNoVersion)
	}
	if err != nil {
		if s.markedForDeletion(ctx, secretID, err) {
			if rerr := s.Restore(ctx, secretID); rerr != nil {
				return PasswordValue{}, Stored{}, rerr
			}
			return s.StoredPassword(ctx, secretID)
		}
		return PasswordValue{}, Stored{}, fmt.Errorf("read console password %s: %w", secretID, err)
	}
	v, err := ParsePassword(aws.ToString(out.SecretString))
	if err != nil {
		return PasswordValue{}, Stored{}, fmt.Errorf("read console password %s: %w", secretID, err)
	}
	return v, Stored{ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId)}, nil
}
