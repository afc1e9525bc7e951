package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestExitCodeOfRunError: each thing an apply can leave undone has its own
// exit code, and when several happen the first in the documented order
// (failed, denied, partial, blocked, pending) wins.
func TestExitCodeOfRunError(t *testing.T) {
	partial := &app.PartialError{Failed: []string{"444455556666 (denied)"}}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"pending", &app.RunError{Pending: []string{"p"}}, ExitPending},
		{"blocked", &app.RunError{Blocked: []string{"b"}}, ExitBlocked},
		{"blocked and pending", &app.RunError{Blocked: []string{"b"}, Pending: []string{"p"}}, ExitBlocked},
		{"partial", &app.RunError{Partial: partial, Blocked: []string{"b"}}, ExitPartial},
		{"denied", &app.RunError{Denied: []string{"d"}, Partial: partial, Pending: []string{"p"}}, ExitAuth},
		{"failed", &app.RunError{Failed: []error{errors.New("boom")}, Denied: []string{"d"}}, ExitError},
		{"interrupted", fmt.Errorf("%w: x", app.ErrInterrupted), ExitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCodeFor(tt.err); got != tt.want {
				t.Errorf("exit %d, want %d (%v)", got, tt.want, tt.err)
			}
		})
	}
}

// TestExitBlocked: an apply that leaves a change blocked for a person exits
// 6 and says what the person must do.
func TestExitBlocked(t *testing.T) {
	e := startLifecycle(t, tamperUsers)
	code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
	if code != ExitBlocked || !strings.Contains(stderr, "1 change(s) blocked until a person acts") ||
		!strings.Contains(stderr, "111122223333/pair") || !strings.Contains(stderr, "deactivate one by hand") {
		t.Fatalf("apply with a blocked user: exit %d, want %d\n%s\n%s", code, ExitBlocked, out, stderr)
	}
	// Its dry run says the same.
	if code, _, stderr := e.run(t, "apply", "--dry-run"); code != ExitBlocked {
		t.Fatalf("dry run: exit %d, want %d\n%s", code, ExitBlocked, stderr)
	}
}

// TestExitDenied: AWS denying keyrot a read it needs (the keys' last use,
// the secret's value) exits 4 and names the call, not 5 (accounts not
// read) nor 0 with everything blocked.
func TestExitDenied(t *testing.T) {
	deny := func(t *testing.T, e *rotationEnv, service, op string) {
		t.Helper()
		if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: service, Operation: op, Code: "AccessDenied", Status: 403, Message: "denied by test"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("GetAccessKeyLastUsed", func(t *testing.T) {
		// The audit reads last use from the credential report; the usage
		// gate of the old key's deactivation reads it live.
		e := startLifecycle(t, "")
		e.Server.Clock().Advance(5 * day)
		if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
			t.Fatalf("rotation: exit %d\n%s", code, stderr)
		}
		e.Server.Clock().Advance(11 * day) // the old key's deactivation is due
		deny(t, e, "iam", "GetAccessKeyLastUsed")
		code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
		if code != ExitAuth || !strings.Contains(stderr, "AWS denied keyrot") || !strings.Contains(stderr, "111122223333/app deactivate-key") || !strings.Contains(stderr, "GetAccessKeyLastUsed") {
			t.Fatalf("apply without GetAccessKeyLastUsed: exit %d, want %d\n%s\n%s", code, ExitAuth, out, stderr)
		}
		if strings.Contains(stderr, "blocked until a person acts") {
			t.Errorf("the denied read is also reported as blocked:\n%s", stderr)
		}
	})
	t.Run("GetSecretValue", func(t *testing.T) {
		e := startLifecycle(t, "")
		e.Server.Clock().Advance(5 * day)
		if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
			t.Fatalf("rotation: exit %d\n%s", code, stderr)
		}
		e.Server.Clock().Advance(11 * day) // the old key's deactivation is due
		deny(t, e, "secretsmanager", "GetSecretValue")
		code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
		if code != ExitAuth || !strings.Contains(stderr, "AWS denied keyrot") || !strings.Contains(stderr, "GetSecretValue") {
			t.Fatalf("apply without GetSecretValue: exit %d, want %d\n%s\n%s", code, ExitAuth, out, stderr)
		}
	})
}

// TestExitPending: a new key that has not propagated yet is stored but not
// verified: exit 7 (run apply again later), not 4, which is keyrot's own
// credentials or permissions.
func TestExitPending(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for keyrot's verification attempts (about 45 s)")
	}
	e := startLifecycle(t, "")
	e.Server.Clock().Advance(5 * day)
	e.Server.SetNewKeyDelay(time.Hour)
	code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
	if code != ExitPending || !strings.Contains(stderr, "1 new key(s) stored but not yet proven") || !strings.Contains(stderr, "run apply again later") {
		t.Fatalf("apply of a key not yet propagated: exit %d, want %d\n%s\n%s", code, ExitPending, out, stderr)
	}
}

// TestExitCreateDeniedBySCP: a key creation AWS denies because of a
// service control policy is blocked until a person acts (exit 6), whether
// the SCP denies it explicitly or, under an allow-list strategy, no SCP
// allows it; a creation denied because keyrot's own identity lacks the
// permission is a call denied to keyrot (exit 4): granting it is what to do.
func TestExitCreateDeniedBySCP(t *testing.T) {
	const who = "User: arn:aws:sts::111122223333:assumed-role/keyrot/keyrot is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::111122223333:user/app "
	for _, tc := range []struct {
		name, reason string
		code         int
		says         string
	}{
		{"explicit SCP deny", "with an explicit deny in a service control policy", ExitBlocked, "blocked until a person acts"},
		{"no SCP allows", "because no service control policy allows the iam:CreateAccessKey action", ExitBlocked, "blocked until a person acts"},
		{"no identity policy allows", "because no identity-based policy allows the iam:CreateAccessKey action", ExitAuth, "AWS denied keyrot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startLifecycle(t, "")
			e.Server.Clock().Advance(5 * day)
			if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "CreateAccessKey",
				Code: "AccessDenied", Status: 403, Message: who + tc.reason}); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
			if code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Fatalf("apply with CreateAccessKey denied %s: exit %d, want %d saying %q\n%s\n%s", tc.reason, code, tc.code, tc.says, out, stderr)
			}
		})
	}
}

// TestExitCreateTokenRefused: a key creation refused because keyrot's own
// session expired or its token is not recognized is AWS refusing keyrot's
// own credentials (exit 4, docs/exit-codes.md), not a change blocked until
// a person acts (exit 6) nor any failed change (exit 1): nothing in the
// organization's policies stands in the way.
func TestExitCreateTokenRefused(t *testing.T) {
	for _, tc := range []struct{ code, msg string }{
		{"ExpiredToken", "The security token included in the request is expired"},
		{"InvalidClientTokenId", "The security token included in the request is invalid."},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := startLifecycle(t, "")
			e.Server.Clock().Advance(5 * day)
			if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "CreateAccessKey",
				Code: tc.code, Status: 403, Message: tc.msg}); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
			if code != ExitAuth || strings.Contains(stderr, "blocked until a person acts") || !strings.Contains(stderr, tc.code) || !strings.Contains(stderr, "renew its credentials") {
				t.Fatalf("apply with CreateAccessKey refused with %s: exit %d, want %d naming the code, not blocked\n%s\n%s", tc.code, code, ExitAuth, out, stderr)
			}
		})
	}
}
