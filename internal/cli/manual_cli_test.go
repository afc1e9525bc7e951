package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/inventory"
)

const twoKeysScenario = `description: one user with two active keys, one of them compromised, and one whose key was inactive before keyrot
organization:
  id: o-twokeys0001
  management:
    id: "111122223333"
    name: twokeys
    email: aws@twokeys.example
    ses_identities: [lifecycle.example]
    root: {mfa: true}
    users:
      - name: app
        tags: {owner: team@twokeys.example}
        created: 200d
        keys:
          - {age: 30d, last_used: 1h, service: s3, region: eu-west-1}
          - {age: 20d, last_used: 1h, service: s3, region: eu-west-1}
      - name: old
        tags: {owner: team@twokeys.example}
        created: 200d
        keys:
          - {age: 150d, status: Inactive}
`

func startTwoKeys(t *testing.T) (*rotationEnv, func(user string) map[string]string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "twokeys.yaml")
	if err := os.WriteFile(file, []byte(twoKeysScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startRotationEnv(t, file)
	ic := iam.NewFromConfig(e.Admin())
	keys := func(user string) map[string]string {
		out, err := ic.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range out.AccessKeyMetadata {
			m[aws.ToString(k.AccessKeyId)] = string(k.Status)
		}
		return m
	}
	return e, keys
}

// manual runs rollback or rotate with e's state directory and clock.
func (e *rotationEnv) manual(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(args, "--state-dir", e.stateDir, "--clock", "sandbox", "--account", "111122223333", "--yes")...)
}

// TestRotateCompromisedNamedKey: a user with two active keys, one of them
// compromised: `rotate --now --compromised --key ID` cuts the named key off
// and leaves a new, verified key beside the other one; without --key the
// command says to name it.
func TestRotateCompromisedNamedKey(t *testing.T) {
	e, keys := startTwoKeys(t)
	before := keys("app")
	var bad, other string
	for id := range before {
		if bad == "" {
			bad = id
		} else {
			other = id
		}
	}
	code, _, stderr := e.manual(t, "rotate", "--now", "--compromised", "--user", "app")
	if code == ExitOK || !strings.Contains(stderr, "--key") {
		t.Fatalf("two active keys without --key: exit %d\n%s", code, stderr)
	}
	if got := keys("app"); len(got) != 2 || got[bad] != "Active" || got[other] != "Active" {
		t.Fatalf("a refused rotation changed keys: %v", got)
	}
	code, out, stderr := e.manual(t, "rotate", "--now", "--compromised", "--key", bad, "--user", "app")
	if code != ExitOK {
		t.Fatalf("rotate --compromised --key: exit %d\n%s\n%s", code, out, stderr)
	}
	after := keys("app")
	if _, still := after[bad]; still && after[bad] == "Active" {
		t.Errorf("the compromised key is still active: %v", after)
	}
	if after[other] != "Active" || len(after) != 2 {
		t.Errorf("want the other key kept and one new key: %v", after)
	}
}

// TestRollbackRefusesKeyNotDeactivatedByKeyrot: rollback of a key that was
// already inactive when keyrot first met it is refused, and says why.
func TestRollbackRefusesKeyNotDeactivatedByKeyrot(t *testing.T) {
	e, keys := startTwoKeys(t)
	// An apply meets the inactive key (and records it as first seen
	// inactive); another user's two keys in use are blocked for a person (6).
	if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK && code != ExitBlocked {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	code, _, stderr := e.manual(t, "rollback", "--user", "old")
	if code == ExitOK || !strings.Contains(stderr, "keyrot did not deactivate it and will not re-activate it") {
		t.Fatalf("rollback of a key keyrot never deactivated: exit %d\n%s", code, stderr)
	}
	for id, st := range keys("old") {
		if st != "Inactive" {
			t.Errorf("key %s was re-activated", id)
		}
	}
}

// TestRotateNowTellsOwner: an emergency rotation tells the user's owner
// where the new key is and that the compromised key is off, once.
func TestRotateNowTellsOwner(t *testing.T) {
	e, keys := startTwoKeys(t)
	withPolicy(t, e, notifyPolicy)
	var bad string
	for id := range keys("app") {
		bad = id
		break
	}
	code, _, stderr := runCLI(t, "rotate", "--now", "--compromised", "--key", bad, "--user", "app", "--account", "111122223333", "--yes",
		"--state-dir", e.stateDir, "--clock", "sandbox", "-c", e.flags[len(e.flags)-1])
	if code != ExitOK {
		t.Fatalf("rotate: exit %d\n%s", code, stderr)
	}
	mails := e.Server.Emails()
	if len(mails) != 1 || mails[0].To[0] != "team@twokeys.example" {
		t.Fatalf("want one digest to the owner, got %d\n%s", len(mails), stderr)
	}
	body := mails[0].Text
	for _, want := range []string{"aws secretsmanager get-secret-value", inventory.MaskKeyID(bad), "reported compromised: it stays off"} {
		if !strings.Contains(body, want) {
			t.Errorf("the owner's digest lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "keyrot rollback") {
		t.Errorf("the owner is told how to roll back a compromised key:\n%s", body)
	}
	// The next apply does not tell it again (it may announce the other
	// key's own deadline, now that the secret holds the new key).
	if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK && code != ExitBlocked {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	for _, m := range e.Server.Emails()[1:] {
		if strings.Contains(m.Text, inventory.MaskKeyID(bad)) {
			t.Errorf("the next apply told the owner about the compromised key again:\n%s", m.Text)
		}
	}
}
