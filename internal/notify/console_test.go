package notify

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestConsoleDigests: the owner of an unused console password is told the
// date it will be disabled (and reminded), that it was disabled and how to
// restore it, and where the restored password is, in the subject and both
// bodies; the digest names no access key.
func TestConsoleDigests(t *testing.T) {
	base := Item{AccountID: "123456789012", AccountName: "payments", User: "dana", UserARN: "arn:aws:iam::123456789012:user/dana",
		UserTags: map[string]string{"owner": "dana@example.com"}}
	due := fixtureNow.Add(7 * 24 * time.Hour)
	tests := []struct {
		name    string
		state   State
		date    time.Time
		subject string
		want    []string
	}{
		{"due", StateConsoleDisableDue, due, "Unused console password to be disabled for dana in 123456789012",
			[]string{"will be disabled on " + due.Format("2006-01-02"), "Reminder: 7 days left"}},
		{"disabled", StateConsoleDisabled, fixtureNow, "Unused console password disabled for dana in 123456789012",
			[]string{"was disabled on " + fixtureNow.Format("2006-01-02"), "keyrot rollback --console --account 123456789012 --user dana"}},
		{"restored", StateConsoleRestored, fixtureNow, "Console access restored for dana in 123456789012",
			[]string{"keyrot/123456789012/dana/console-password", "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/dana/console-password-AbCdEf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := base
			it.State, it.Date = tt.state, tt.date
			if tt.state == StateConsoleRestored {
				it.SecretName = "keyrot/123456789012/dana/console-password"
				it.SecretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/dana/console-password-AbCdEf"
			}
			items := append([]Item{it}, Reminders([]Item{it}, fixtureNow, []int{7})...)
			rec := &recorder{name: "rec"}
			n, err := New(fixtureConfig(), []Target{{Channel: rec, Audience: AudienceAll}}, Options{Sleep: noSleep, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if sum, err := n.Send(context.Background(), Run{ID: "run-" + tt.name, Now: fixtureNow, Items: items}); err != nil || sum.Err() != nil {
				t.Fatal(err, sum.Err())
			}
			var m *Message
			for _, x := range rec.msgs {
				if x.To == "dana@example.com" {
					m = x
				}
			}
			if m == nil {
				t.Fatalf("no digest for the owner: %+v", rec.msgs)
			}
			if m.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tt.subject)
			}
			for name, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, want := range tt.want {
					if !strings.Contains(body, want) {
						t.Errorf("%s body lacks %q:\n%s", name, want, body)
					}
				}
				if strings.Contains(body, "key ") && strings.Contains(body, "AKIA") {
					t.Errorf("%s body names an access key:\n%s", name, body)
				}
			}
		})
	}
}
