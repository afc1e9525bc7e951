package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const consoleScenario = `description: console passwords, one unused, one in use, one exempt by tag, one by the policy
organization:
  id: o-console0001
  management:
    id: "111122223333"
    name: console
    email: aws@console.example
    ses_identities: [console.example]
    root: {mfa: true}
    users:
      - name: idle
        tags: {owner: idle@console.example}
        created: 200d
        console: {created: 200d, password_last_used: 50d}
      - name: active
        tags: {owner: active@console.example}
        created: 200d
        mfa: true
        console: {created: 200d, password_last_used: 1d}
      - name: breakglass
        tags: {owner: sec@console.example, "keyrot:exempt": "break-glass account"}
        created: 200d
        console: {created: 200d}
      - name: contractor
        tags: {owner: vendor@console.example}
        created: 200d
        console: {created: 200d, password_last_used: 70d}
`

const consolePolicy = `version: 1
console:
  disable_unused: true
  unused_after: 45d
  disable_after: 60d
exemptions:
  - match: {user: contractor}
    reason: "vendor access reviewed quarterly, ticket SEC-7"
    expires: 2099-01-01
    rules: [console-unused]
notify:
  channels:
    - type: ses
      from: "keyrot <keyrot@console.example>"
  owner_tags: [owner]
`

// TestConsoleLifecycleCLI: plan, apply and rollback --console through the
// CLI against the sandbox. The first apply tells (the notice tag), the
// password is disabled once the notice period has passed, and rollback
// restores console access with a new password stored in Secrets Manager
// that is never printed.
func TestConsoleLifecycleCLI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "console.yaml")
	if err := os.WriteFile(file, []byte(consoleScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startRotationEnv(t, file)
	withPolicy(t, e, consolePolicy)
	ctx := context.Background()
	ic := iam.NewFromConfig(e.Admin())
	hasProfile := func(user string) bool {
		_, err := ic.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(user)})
		var ae smithy.APIError
		if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity") {
			t.Fatal(err)
		}
		return err == nil
	}
	planJSON := func() plan.Plan {
		t.Helper()
		code, out, stderr := e.run(t, "plan", "-o", "json")
		if code != ExitOK {
			t.Fatalf("plan: exit %d\n%s", code, stderr)
		}
		var doc struct{ Plan plan.Plan }
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("plan output: %v\n%s", err, out)
		}
		return doc.Plan
	}

	p := planJSON()
	if len(p.Actions) != 0 || len(p.Upcoming) != 1 || p.Upcoming[0].Kind != plan.DisableConsole || p.Upcoming[0].User != "idle" {
		t.Fatalf("day 0 plan: actions %v upcoming %+v", p.Actions, p.Upcoming)
	}
	if code, out, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, out, stderr)
	}
	if !hasProfile("idle") {
		t.Fatal("the first apply disabled the password: the notice period was skipped")
	}
	// The exempt user is not touched: no notice recorded (its owner is
	// told nothing, so a notice would shorten the period once the
	// exemption ends).
	for _, user := range []string{"breakglass", "contractor"} {
		tags, err := ic.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range tags.Tags {
			if strings.HasPrefix(aws.ToString(tg.Key), "keyrot:console") {
				t.Errorf("exempt user %s tagged %s=%s", user, aws.ToString(tg.Key), aws.ToString(tg.Value))
			}
		}
	}
	// mail returns the text of the emails to idle's owner since the last call.
	seen := 0
	mail := func() string {
		var b strings.Builder
		all := e.Server.Emails()
		for _, m := range all[seen:] {
			if slices.Contains(m.To, "idle@console.example") {
				b.WriteString(m.Subject + "\n" + m.Text + "\n")
			}
		}
		seen = len(all)
		return b.String()
	}
	due := p.Upcoming[0].Due.UTC().Format("2006-01-02")
	if m := mail(); !strings.Contains(m, "will be disabled on "+due) {
		t.Errorf("the owner was not told the date (%s):\n%s", due, m)
	}

	e.Server.Clock().Advance(16 * day)
	p = planJSON()
	if len(p.Actions) != 1 || p.Actions[0].Kind != plan.DisableConsole || p.Actions[0].User != "idle" {
		t.Fatalf("plan after the notice period: %+v", p.Actions)
	}
	before := writeCalls(e)
	if code, _, stderr := e.run(t, "apply", "--yes", "--dry-run"); code != ExitOK || writeCalls(e) != before || !hasProfile("idle") {
		t.Fatalf("dry run: exit %d, %d write calls\n%s", code, writeCalls(e)-before, stderr)
	}
	if code, out, stderr := e.run(t, "apply", "--yes"); code != ExitOK || !strings.Contains(out, "disable-console") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	if hasProfile("idle") || !hasProfile("active") || !hasProfile("breakglass") || !hasProfile("contractor") {
		t.Fatalf("login profiles after apply: idle %v active %v breakglass %v", hasProfile("idle"), hasProfile("active"), hasProfile("breakglass"))
	}
	if m := mail(); !strings.Contains(m, "unused console password was disabled") || !strings.Contains(m, "keyrot rollback --console --account 111122223333 --user idle") {
		t.Errorf("the owner was not told of the disabling and its rollback:\n%s", m)
	}

	code, out, stderr := e.manual(t, "rollback", "--console", "--user", "idle", "-c", e.flags[len(e.flags)-1])
	if code != ExitOK || !hasProfile("idle") {
		t.Fatalf("rollback --console: exit %d\n%s\n%s", code, out, stderr)
	}
	name := "keyrot/111122223333/idle" + secretstore.PasswordSuffix
	if !strings.Contains(out, name) {
		t.Errorf("the output does not say where the password is (%s):\n%s", name, out)
	}
	sv, err := secretsmanager.NewFromConfig(e.Admin()).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := secretstore.ParsePassword(aws.ToString(sv.SecretString))
	if err != nil {
		t.Fatal(err)
	}
	m := mail()
	if strings.Contains(out+stderr+m, v.Password.Reveal()) {
		t.Error("the password was printed or mailed")
	}
	if !strings.Contains(m, "Console access was restored") || !strings.Contains(m, name) {
		t.Errorf("the owner was not told where the password is:\n%s\n%s\n%s", m, out, stderr)
	}
	if err := e.Server.ConsoleSignIn("111122223333", "idle", v.Password.Reveal()); err != nil {
		t.Errorf("the stored password does not sign in: %v", err)
	}
	code, out, stderr = e.manual(t, "rollback", "--console", "--user", "idle", "-c", e.flags[len(e.flags)-1])
	if !strings.Contains(out+stderr, "nothing to restore") {
		t.Errorf("second rollback: exit %d\n%s\n%s", code, out, stderr)
	}
	code, _, stderr = e.manual(t, "rollback", "--console", "--user", "active")
	if code == ExitOK || !strings.Contains(stderr, "nothing to restore") {
		t.Errorf("rollback of a password keyrot never disabled: exit %d\n%s", code, stderr)
	}
}
