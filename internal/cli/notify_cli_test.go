package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const notifyPolicy = `version: 1
notify:
  channels:
    - type: ses
      from: "keyrot <keyrot@lifecycle.example>"
  security_contact: security@lifecycle.example
  reminders: [7d, 1d]
`

// TestApplyNotifiesWithoutNagging: the rotation is announced once to the
// owner named by the user's tag, a second apply the same day sends nothing,
// and reminders arrive 7 and 1 days before the old key's deactivation.
func TestApplyNotifiesWithoutNagging(t *testing.T) {
	e := startLifecycle(t, "")
	withPolicy(t, e, notifyPolicy)
	apply := func() {
		t.Helper()
		if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
			t.Fatalf("apply: exit %d\n%s", code, stderr)
		}
	}
	sent := 0
	newMail := func() []string {
		all := e.Server.Emails()
		var subjects []string
		for _, m := range all[sent:] {
			subjects = append(subjects, strings.Join(m.To, ",")+": "+m.Subject)
			if strings.Contains(m.Text+m.HTML, "SecretAccessKey") {
				t.Errorf("mail to %v carries key material", m.To)
			}
		}
		sent = len(all)
		return subjects
	}
	today := 85
	advanceTo := func(d int) {
		e.Server.Clock().Advance(time.Duration(d-today) * day)
		today = d
	}

	advanceTo(90) // rotation
	apply()
	got := newMail()
	if len(got) != 1 || !strings.HasPrefix(got[0], "team@lifecycle.example: Action needed by ") {
		t.Fatalf("day 90 mail: %q", got)
	}
	first := e.Server.Emails()[0]
	if !strings.Contains(first.Text, "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:") {
		t.Errorf("the rotation notice does not say how to fetch the new key:\n%s", first.Text)
	}
	apply()
	if got := newMail(); len(got) != 0 {
		t.Fatalf("second apply the same day sent %q\n%s", got, e.Server.Emails()[len(e.Server.Emails())-1].Text)
	}
	// The application never switches, so the reminders before day 100 come.
	for _, step := range []struct {
		day   int
		mails int
	}{{91, 0}, {92, 0}, {93, 1}, {94, 0}, {98, 0}, {99, 1}} {
		advanceTo(step.day)
		apply()
		got := newMail()
		if len(got) != step.mails {
			t.Fatalf("day %d: mail %q, want %d", step.day, got, step.mails)
		}
		if step.mails > 0 {
			last := e.Server.Emails()[len(e.Server.Emails())-1]
			want := fmt.Sprintf("Reminder: %d day", 100-step.day)
			if !strings.Contains(last.Text, want) {
				t.Errorf("day %d: want %q in the reminder:\n%s", step.day, want, last.Text)
			}
		}
	}
}

// TestAuditOnlyNotifiesAsIfActing: in audit-only mode (policy or flag) the
// live gates are checked and owners get the same notices, marked as what
// would happen, while no credential is changed.
func TestAuditOnlyNotifiesAsIfActing(t *testing.T) {
	e := startLifecycle(t, "")
	withPolicy(t, e, strings.Replace(notifyPolicy, "version: 1\n", "version: 1\nrotation:\n  mode: audit-only\n", 1))
	e.Server.Clock().Advance(5 * day) // day 90: rotation due
	e.Server.ResetCallCounts()
	code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, `"would_do": true`) {
		t.Errorf("audit-only outcome should say what would be done:\n%s", out)
	}
	if n := writeCalls(e); n != 0 {
		t.Fatalf("audit-only run made %d write calls: %v", n, e.Server.CallCounts())
	}
	mails := e.Server.Emails()
	if len(mails) != 1 || !strings.Contains(mails[0].Subject+mails[0].Text, "audit-only") {
		t.Fatalf("want one notice marked audit-only, got %d: %+v", len(mails), mails)
	}
}
