package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sendFixture(t *testing.T, cfg *Config, auditOnly bool) []*Message {
	t.Helper()
	rec := &recorder{name: "rec"}
	n, err := New(cfg, []Target{{Channel: rec, Audience: AudienceAll}}, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(context.Background(), Run{ID: "run-1", Now: fixtureNow, AuditOnly: auditOnly, Items: fixtureItems()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	return rec.msgs
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name      string
		central   string
		auditOnly bool
	}{
		{"enforce", CentralCopy, false},
		{"audit-only", CentralNone, true},
		{"central-digest", CentralDigest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fixtureConfig()
			cfg.Central = tt.central
			msgs := sendFixture(t, cfg, tt.auditOnly)
			var subjects strings.Builder
			for _, m := range msgs {
				subjects.WriteString(m.To + " cc=" + strings.Join(m.Cc, ",") + ": " + m.Subject + "\n")
				golden(t, filepath.Join(tt.name, goldenName(m.To, ".txt")), m.Text)
				golden(t, filepath.Join(tt.name, goldenName(m.To, ".html")), m.HTML)
			}
			golden(t, filepath.Join(tt.name, "subjects"), subjects.String())
		})
	}
}

func TestRecipients(t *testing.T) {
	msgs := sendFixture(t, fixtureConfig(), false)
	got := map[string][]string{}
	for _, m := range msgs {
		for _, g := range m.Digest.Groups {
			for _, it := range g.Items {
				got[m.To] = append(got[m.To], it.User+":"+string(it.State))
			}
		}
	}
	want := map[string][]string{
		// owner tag (display name and case dropped)
		"alice@example.com": {"alice-ci:blocked-in-use", "alice:rotated"},
		// no owner tag: the account's email
		"ops@example.com": {"bob:deactivated"},
		// owner tag not an address: the next tag (email)
		"carol@example.com": {"carol:deleted"},
		// no tag, no account email: the security contact
		"security@example.com": {"dave:finding"},
		// 7 days before the deadline: the reminder replaces the item
		"erin@example.com": {"erin:reminder"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("digest items per recipient (-want +got):\n%s", d)
	}
	for _, m := range msgs {
		wantCc := []string{"security@example.com"}
		if m.To == "security@example.com" {
			wantCc = nil
		}
		if d := cmp.Diff(wantCc, m.Cc); d != "" {
			t.Errorf("cc of %s (-want +got):\n%s", m.To, d)
		}
	}
}

func TestSubjectSaysWhatIsNeeded(t *testing.T) {
	msgs := sendFixture(t, fixtureConfig(), false)
	for _, m := range msgs {
		if m.To == "alice@example.com" {
			// blocked-in-use outranks the rotation deadline
			if want := "Action needed now: old access key still in use for alice-ci in 123456789012"; m.Subject != want {
				t.Errorf("subject = %q, want %q", m.Subject, want)
			}
		}
	}
	d := newDigest("a@example.com", "", false, false, fixtureNow, []entry{{item: fixtureItems()[0]}})
	if want := "Action needed by 2027-03-01: switch app keys for alice in 123456789012"; d.Headline != want {
		t.Errorf("headline = %q, want %q", d.Headline, want)
	}
}

func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SubjectTemplate), []byte("keyrot: {{len .Groups}} group(s) for {{.Recipient}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fixtureConfig()
	cfg.TemplatesDir = dir
	for _, m := range sendFixture(t, cfg, false) {
		if !strings.HasPrefix(m.Subject, "keyrot: ") || !strings.HasSuffix(m.Subject, " for "+m.To) {
			t.Errorf("subject %q does not come from the override", m.Subject)
		}
		if !strings.Contains(m.Text, "keyrot looks after") && !strings.Contains(m.Text, "security team") {
			t.Errorf("text body should still be the embedded template:\n%s", m.Text)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, HTMLTemplate), []byte("{{.Nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), HTMLTemplate) {
		t.Errorf("LoadTemplates with a broken override: err = %v, want a parse error naming %s", err, HTMLTemplate)
	}
}

func TestHTMLEscapes(t *testing.T) {
	for _, m := range sendFixture(t, fixtureConfig(), false) {
		if strings.Contains(m.HTML, "<script>") {
			t.Errorf("HTML for %s contains an unescaped finding title", m.To)
		}
		if !strings.Contains(m.HTML, `<html lang="en">`) {
			t.Errorf("HTML for %s has no language", m.To)
		}
	}
}
