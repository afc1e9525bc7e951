package notify

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// plantedSecret is shaped like a secret access key; plantedToken like a
// session token. The fixture puts them next to what is rendered (tags,
// channel credentials) and the leak test checks they never come out.
const (
	plantedSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	plantedToken  = "FwoGZXIvYXdzEBYaDOx7ZJ5q2m3NnRpLbyKGAbEv1lwUq4y3hZ0qN8tP6Xk2Jm9sRcVd7WfYgHaBiCjDkElFmGnHoIpJqKrLsMtNuOvPwQxRySzTa1Ub2Vc3Wd4Xe5Yf6Zg7Ah8Bi9Cj0Dk1El2Fm3Gn4Ho5Ip6Jq7Kr8Ls9Mt0Nu"
)

var fixtureNow = time.Date(2027, 2, 19, 6, 0, 0, 0, time.UTC)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-Ab12Cd"

// fixtureItems is one run's news across three accounts.
func fixtureItems() []Item {
	tags := func(kv ...string) map[string]string {
		m := map[string]string{"api-secret": plantedSecret, "session": plantedToken}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []Item{
		{
			AccountID: "123456789012", AccountName: "payments", AccountEmail: "aws-payments@example.com",
			User: "alice", UserARN: "arn:aws:iam::123456789012:user/alice", UserTags: tags("owner", "Alice Liddell <Alice@Example.com>"),
			KeyID: "AKIAIOSFODNN7EXAMPLE", State: StateRotated, Date: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
			SecretName: "keyrot/123456789012/alice", SecretARN: secretARN, SecretRegion: "us-east-1",
		},
		{
			AccountID: "123456789012", AccountName: "payments", AccountEmail: "aws-payments@example.com",
			User: "alice-ci", UserARN: "arn:aws:iam::123456789012:user/ci/alice-ci", UserTags: tags("owner", "alice@example.com"),
			KeyID: "AKIAI44QH8DHBCIKEY01", State: StateBlockedInUse, Date: time.Date(2027, 2, 18, 0, 0, 0, 0, time.UTC),
			SecretName: "keyrot/123456789012/alice-ci", SecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-ci-Qr34St",
			LastUsed: time.Date(2027, 2, 18, 22, 14, 0, 0, time.UTC), LastUsedService: "s3", LastUsedRegion: "eu-west-1",
		},
		{
			AccountID: "210987654321", AccountName: "analytics", AccountEmail: "ops@example.com",
			User: "bob", UserTags: tags("team", "data"),
			KeyID: "AKIAJBOBBOBBOBEXAMPL", State: StateDeactivated, Date: time.Date(2027, 2, 19, 5, 0, 0, 0, time.UTC),
			Rollback: time.Date(2027, 3, 1, 5, 0, 0, 0, time.UTC),
		},
		{
			AccountID: "210987654321", AccountName: "analytics", AccountEmail: "ops@example.com",
			User: "carol", UserTags: tags("owner", "team-x", "email", "carol@example.com"),
			KeyID: "AKIAJCAROLCAROLEXAMP", State: StateDeleted, Date: time.Date(2027, 2, 19, 5, 30, 0, 0, time.UTC),
		},
		{
			// A user's findings come as one item without a key ID (see
			// app.withFindings); a title names its key.
			AccountID: "333333333333", User: "dave",
			State: StateFinding, Date: fixtureNow,
			FindingTitles: []string{"key AKIA…EEXA: Access key older than 90 days (CIS 1.14)", "Two active access keys <script>alert(1)</script>"},
		},
		{
			AccountID: "210987654321", AccountName: "analytics", AccountEmail: "ops@example.com",
			User: "erin", UserTags: tags("owner", "erin@example.com"),
			KeyID: "AKIAJERINERINERINEXA", State: StateDeactivationDue, Date: time.Date(2027, 2, 26, 0, 0, 0, 0, time.UTC),
			SecretName: "keyrot/210987654321/erin", SecretARN: "arn:aws:secretsmanager:eu-west-1:210987654321:secret:keyrot/210987654321/erin-Zz99Yy",
		},
	}
}

func fixtureConfig() *Config {
	c := DefaultConfig()
	c.SecurityContact = "security@example.com"
	c.Central = CentralCopy
	return c
}

// recorder is a channel that keeps what it was asked to send.
type recorder struct {
	name string
	fail error
	msgs []*Message
	n    int
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Send(_ context.Context, m *Message) error {
	r.n++
	if r.fail != nil {
		return r.fail
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func goldenName(rcpt, suffix string) string {
	return strings.NewReplacer("@", "_at_", ".", "_").Replace(rcpt) + suffix
}

func noSleep(context.Context, time.Duration) error { return nil }

// quiet is a logger for tests.
var quiet = slog.New(slog.DiscardHandler)
