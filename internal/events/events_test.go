package events

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/notify"
)

var keyrot = Keyrot{RoleName: "KeyrotMemberRole", SessionName: "keyrot"}

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDetect: each CloudTrail record in testdata (shaped as AWS's record
// contents reference shows) is news or not, as the handler must decide.
func TestDetect(t *testing.T) {
	at := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	by := "arn:aws:iam::222222222222:user/bob"
	base := Detection{Account: "222222222222", User: "alice", By: by, SourceIP: "203.0.113.7", UserAgent: "aws-cli/2.15.0", At: at, Region: "us-east-1"}
	with := func(f func(d *Detection)) *Detection { d := base; f(&d); return &d }
	for _, tt := range []struct {
		file string
		want *Detection // nil: not news
	}{
		{"create-key-by-hand.json", with(func(d *Detection) { d.EventID, d.What, d.KeyID = "e1", CreateAccessKey, "AKIAALICENEWKEY00001" })},
		{"create-key-by-keyrot.json", nil},
		{"create-key-spoofed-session.json", with(func(d *Detection) {
			d.EventID, d.What, d.KeyID, d.By = "e1", CreateAccessKey, "AKIAALICENEWKEY00001", "arn:aws:sts::222222222222:assumed-role/AdminRole/keyrot"
		})},
		{"create-key-denied.json", nil},
		{"create-own-key.json", with(func(d *Detection) {
			d.EventID, d.What, d.KeyID, d.User = "e1", CreateAccessKey, "AKIABOBNEWKEY0000001", "bob"
		})},
		{"reactivate-key.json", with(func(d *Detection) { d.EventID, d.What, d.KeyID = "e1", UpdateAccessKey, "AKIAALICEOLDKEY00001" })},
		{"deactivate-key.json", nil},
		{"create-login-profile.json", with(func(d *Detection) { d.EventID, d.What = "e1", CreateLoginProfile })},
		{"deactivate-mfa.json", with(func(d *Detection) {
			d.EventID, d.What, d.MFASerial = "e1", DeactivateMFADevice, "arn:aws:iam::222222222222:mfa/alice"
		})},
		{"list-users.json", nil},
	} {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := Parse(load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			d, ok, err := Detect(ev, keyrot)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if ok {
					t.Errorf("news: %+v", d)
				}
				return
			}
			if !ok {
				t.Fatal("not news")
			}
			if diff := cmp.Diff(*tt.want, d); diff != "" {
				t.Errorf("detection (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Parse(load(t, "not-cloudtrail.json")); !errors.Is(err, ErrNotCloudTrail) {
		t.Errorf("an EC2 event: %v", err)
	}
	// Without a configured role nothing is taken for keyrot's.
	ev, _ := Parse(load(t, "create-key-by-keyrot.json"))
	if _, ok, _ := Detect(ev, Keyrot{}); !ok {
		t.Error("with no role configured, a keyrot-named session was trusted")
	}
}

// recorder is a notify channel that keeps what it is sent.
type recorder struct {
	mu   sync.Mutex
	sent []*notify.Message
}

func (r *recorder) Name() string { return "test" }
func (r *recorder) Send(_ context.Context, m *notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return nil
}

// TestItemNotifiesOnce: a detection becomes a finding the notifier sends
// to the security contact and the owner, once: a second delivery of the
// same event (EventBridge delivers at least once) is de-duplicated through
// the history.
func TestItemNotifiesOnce(t *testing.T) {
	ev, err := Parse(load(t, "create-key-by-hand.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := Detect(ev, keyrot)
	if err != nil || !ok {
		t.Fatalf("detect: %v %v", ok, err)
	}
	cfg := notify.DefaultConfig()
	cfg.SecurityContact = "security@example.com"
	cfg.Central = notify.CentralDigest // the security team hears of every finding
	rec := &recorder{}
	hist := &notify.MemoryHistory{}
	n, err := notify.New(cfg, []notify.Target{{Channel: rec, Audience: "all"}}, notify.Options{History: hist})
	if err != nil {
		t.Fatal(err)
	}
	it := d.Item()
	it.UserTags = map[string]string{"owner": "alice@example.com"}
	now := d.At.Add(2 * time.Minute)
	for range 2 {
		if _, err := n.Send(context.Background(), notify.Run{ID: "events-1", Now: now, Items: []notify.Item{it}}); err != nil {
			t.Fatal(err)
		}
	}
	var to []string
	for _, m := range rec.sent {
		to = append(to, m.To)
		if !strings.Contains(m.Text, "An access key was created outside keyrot by arn:aws:iam::222222222222:user/bob") {
			t.Errorf("message to %s does not say what happened:\n%s", m.To, m.Text)
		}
		if strings.Contains(m.Text, "AKIAALICENEWKEY00001") {
			t.Errorf("message to %s shows the key ID unmasked", m.To)
		}
	}
	if diff := cmp.Diff([]string{"alice@example.com", "security@example.com"}, to); diff != "" {
		t.Errorf("recipients, over two deliveries of the event (-want +got):\n%s", diff)
	}
}

// FuzzParse: Parse and Detect never panic, and what Detect reports names
// an account and a user.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"create-key-by-hand.json", "reactivate-key.json", "create-own-key.json"} {
		f.Add(load(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Parse(b)
		if err != nil {
			return
		}
		d, ok, err := Detect(ev, keyrot)
		if ok && (err != nil || d.Account == "" || d.User == "") {
			t.Fatalf("detection %+v, %v", d, err)
		}
	})
}

// TestOwnRoleSessions: with OwnRoleARN set (the worker's execution role in
// the central account), a session of that role is keyrot's whatever its
// name, with or without the session issuer in the record; a role of the
// same name in another account, or another role of the central account,
// is not.
func TestOwnRoleSessions(t *testing.T) {
	own := Keyrot{RoleName: "keyrot-member", SessionName: "keyrot", OwnRoleARN: "arn:aws:iam::111122223333:role/keyrot-worker"}
	session := func(arn, issuer string) Record {
		var r Record
		r.UserIdentity.Type = "AssumedRole"
		r.UserIdentity.ARN = arn
		r.UserIdentity.SessionContext.SessionIssuer.ARN = issuer
		return r
	}
	for _, tt := range []struct {
		name string
		r    Record
		want bool
	}{
		{"the worker function's session", session("arn:aws:sts::111122223333:assumed-role/keyrot-worker/keyrot-worker", "arn:aws:iam::111122223333:role/keyrot-worker"), true},
		{"another session name", session("arn:aws:sts::111122223333:assumed-role/keyrot-worker/x", "arn:aws:iam::111122223333:role/keyrot-worker"), true},
		{"no issuer in the record", session("arn:aws:sts::111122223333:assumed-role/keyrot-worker/keyrot-worker", ""), true},
		{"same role name, other account", session("arn:aws:sts::999988887777:assumed-role/keyrot-worker/keyrot-worker", "arn:aws:iam::999988887777:role/keyrot-worker"), false},
		{"same role name, other account, no issuer", session("arn:aws:sts::999988887777:assumed-role/keyrot-worker/keyrot-worker", ""), false},
		{"another role of the central account", session("arn:aws:sts::111122223333:assumed-role/Admin/keyrot-worker", "arn:aws:iam::111122223333:role/Admin"), false},
		{"the member role's session still", session("arn:aws:sts::222233334444:assumed-role/keyrot-member/keyrot", "arn:aws:iam::222233334444:role/keyrot-member"), true},
	} {
		if got := own.Made(tt.r); got != tt.want {
			t.Errorf("%s: Made %v, want %v", tt.name, got, tt.want)
		}
	}
	// Without OwnRoleARN, the worker's own session is not recognised.
	noOwn := own
	noOwn.OwnRoleARN = ""
	if noOwn.Made(session("arn:aws:sts::111122223333:assumed-role/keyrot-worker/keyrot-worker", "arn:aws:iam::111122223333:role/keyrot-worker")) {
		t.Error("the worker's session is keyrot's without OwnRoleARN")
	}
	user := Record{UserIdentity: UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/keyrot-worker"}}
	if own.Made(user) {
		t.Error("a user named like the role is keyrot")
	}
}
