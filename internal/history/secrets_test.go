package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fake credentials shaped like AWS's: a 40-character secret access key and a
// long session token.
const (
	fakeKeyID        = "AKIAFAKEKEY000000001"
	fakeSecret       = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYz9FAKEKEY1"
	fakeSessionToken = "IQoJb3JpZ2luX2VjEFAKEFAKEaCXVzLWVhc3QtMSJHMEUCIQDfakefakefakefakefakefakefakefakefakeAiAfakefakefakefakefakefakefakeKvQIIfakefake0123456789ABCDEFabcdef"
)

// createdKey stands in for what CreateAccessKey returns: the data the
// executor has in hand when it journals, secret included.
type createdKey struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	UserName        string
	CreateDate      time.Time
}

// TestNoSecretReachesDisk drives every write the store offers with data
// derived from a key whose secret sits right beside it, then greps every
// byte of the database directory (main file, WAL, shared memory) for the
// secret and token.
func TestNoSecretReachesDisk(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	key := createdKey{AccessKeyID: fakeKeyID, SecretAccessKey: fakeSecret, SessionToken: fakeSessionToken, UserName: "alice", CreateDate: t0}
	const acct = "111111111111"

	run, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce, Host: "ci-1", Version: "v0.1.0", Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	evidence, err := json.Marshal(map[string]any{"access_key_id": key.AccessKeyID, "create_date": key.CreateDate, "user": key.UserName})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{KindCreateKey, KindStoreSecret, KindVerifyKey, KindDeactivateKey, KindDeleteKey} {
		id, err := s.BeginAction(ctx, run, Action{Account: acct, User: key.UserName, KeyID: key.AccessKeyID, Kind: kind,
			Reason: "rotation due", Evidence: string(evidence), Started: t0})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EndAction(ctx, id, Outcome{Status: ActionSucceeded, KeyID: key.AccessKeyID, Finished: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range []string{EventCreated, EventStored, EventVerified, EventDeactivated, EventDeleted} {
		if _, err := s.RecordKeyEvent(ctx, KeyEvent{Account: acct, User: key.UserName, KeyID: key.AccessKeyID, Event: ev, At: t0, RunID: run,
			SecretARN: "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/alice-AbCdEf", SecretVersionID: "a1b2c3d4-5678"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AcquireLease(ctx, acct, "ci-1:123", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordNotice(ctx, Notice{Recipient: "alice@example.com", Account: acct, User: key.UserName, KeyID: key.AccessKeyID,
		Kind: "rotated", SentAt: t0, Channel: "email"}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, run, RunSucceeded, "1 key rotated", t0); err != nil {
		t.Fatal(err)
	}

	// Mistakes a careless caller could make are refused, not stored.
	mistakes := []struct {
		name  string
		write func() error
	}{
		{"secret in evidence value", func() error {
			b, _ := json.Marshal(map[string]string{"new_key": key.SecretAccessKey})
			_, err := s.BeginAction(ctx, run, Action{Account: acct, User: "alice", Kind: KindCreateKey, Evidence: string(b)})
			return err
		}},
		{"whole created key as evidence", func() error {
			b, _ := json.Marshal(key)
			_, err := s.BeginAction(ctx, run, Action{Account: acct, User: "alice", Kind: KindCreateKey, Evidence: string(b)})
			return err
		}},
		{"token in reason", func() error {
			_, err := s.BeginAction(ctx, run, Action{Account: acct, User: "alice", Kind: KindVerifyKey, Reason: "verify with " + key.SessionToken})
			return err
		}},
		{"secret in error", func() error {
			id, err := s.BeginAction(ctx, run, Action{Account: acct, User: "alice", Kind: KindVerifyKey})
			if err != nil {
				return err
			}
			return s.EndAction(ctx, id, Outcome{Status: ActionFailed, Error: "sts: bad secret " + key.SecretAccessKey})
		}},
		{"secret as key id", func() error {
			_, err := s.RecordKeyEvent(ctx, KeyEvent{Account: acct, User: "alice", KeyID: key.SecretAccessKey, Event: EventCreated})
			return err
		}},
		{"secret as action kind", func() error {
			_, err := s.BeginAction(ctx, run, Action{Account: acct, User: "alice", Kind: key.SecretAccessKey})
			return err
		}},
		{"secret in summary", func() error {
			id, err := s.StartRun(ctx, Run{Command: "apply", Mode: ModeEnforce})
			if err != nil {
				return err
			}
			return s.FinishRun(ctx, id, RunFailed, "secret="+key.SecretAccessKey, t0)
		}},
		{"token as lease owner", func() error {
			_, err := s.AcquireLease(ctx, "222222222222", key.SessionToken, time.Minute, t0)
			return err
		}},
		{"secret in notice channel", func() error {
			_, err := s.RecordNotice(ctx, Notice{Recipient: "a@example.com", Account: acct, User: "alice", Kind: "k", Channel: key.SecretAccessKey})
			return err
		}},
	}
	for _, m := range mistakes {
		err := m.write()
		if !errors.Is(err, ErrSecretMaterial) {
			t.Errorf("%s: err = %v, want ErrSecretMaterial", m.name, err)
		}
		if err != nil && (strings.Contains(err.Error(), fakeSecret) || strings.Contains(err.Error(), fakeSessionToken)) {
			t.Errorf("%s: error message repeats the secret", m.name)
		}
	}

	// Grep before closing (WAL still holds the writes) and after (checkpointed).
	grepDir(t, filepath.Dir(path), fakeKeyID, true)
	grepDir(t, filepath.Dir(path), fakeSecret, false)
	grepDir(t, filepath.Dir(path), fakeSessionToken, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	grepDir(t, filepath.Dir(path), fakeKeyID, true)
	grepDir(t, filepath.Dir(path), fakeSecret, false)
	grepDir(t, filepath.Dir(path), fakeSessionToken, false)
}

// grepDir fails the test unless needle's presence in the bytes of the
// files in dir is as wanted. The positive control (the key ID, which is
// stored) proves the grep can see what was written.
func grepDir(t *testing.T, dir, needle string, want bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(needle)) {
			found = true
			if !want {
				t.Errorf("%s contains %.8s…", e.Name(), needle)
			}
		}
	}
	if want && !found {
		t.Errorf("no file in %s contains %q; the grep is blind", dir, needle)
	}
}

func TestCheckNoSecret(t *testing.T) {
	tests := []struct {
		name, v string
		secret  bool
	}{
		{"empty", "", false},
		{"key id", "AKIAIOSFODNN7EXAMPLE", false},
		{"account id", "123456789012", false},
		{"secret alone", fakeSecret, true},
		{"secret in prose", "the key is " + fakeSecret + ".", true},
		{"secret in json", `{"k":"` + fakeSecret + `"}`, true},
		{"session token", fakeSessionToken, true},
		{"sha1 hex is not a secret", "da39a3ee5e6b4b0d3255bfef95601890afd80709", false},
		{"secrets manager arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/prod/alice-AbCdEf", false},
		{"iam arn", "arn:aws:iam::123456789012:user/engineering/platform/alice", false},
		{"aws error", "InvalidClientTokenId: The security token included in the request is invalid.", false},
		{"uuid", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", false},
		{"39 chars", fakeSecret[:39], false},
		{"41 chars", fakeSecret + "x", false},
		{"name=secret", "secret=" + fakeSecret, true},
		{"secret after a path", "keyrot/alice/" + fakeSecret, true},
		{"secret before a path", fakeSecret + "/tail", true},
		{"secret with padding", fakeSecret + "==", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNoSecret("f", tt.v)
			if got := errors.Is(err, ErrSecretMaterial); got != tt.secret {
				t.Errorf("checkNoSecret = %v, want secret %v", err, tt.secret)
			}
		})
	}
}

func TestCheckEvidenceKeys(t *testing.T) {
	tests := []struct {
		evidence string
		want     error
	}{
		{`{"secret_arn":"arn:x","secretVersionId":"v1","key_age_days":91}`, nil},
		{`{"SecretAccessKey":"redacted"}`, ErrSecretMaterial},
		{`{"outer":[{"session_token":"x"}]}`, ErrSecretMaterial},
		{`{"Password":"hunter2"}`, ErrSecretMaterial},
		{`{"SecretString":"{}"}`, ErrSecretMaterial},
		{`[1,2`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.evidence, func(t *testing.T) {
			err := checkEvidence(tt.evidence)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("checkEvidence = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzCheckEvidence(f *testing.F) {
	for _, seed := range []string{`{}`, `{"secret_arn":"x"}`, `{"a":[{"SessionToken":"x"}]}`, `[1,2`, `"s"`, `null`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, evidence string) {
		err := checkEvidence(evidence)
		if err == nil && !json.Valid([]byte(evidence)) {
			t.Errorf("invalid JSON %q accepted", evidence)
		}
	})
}
