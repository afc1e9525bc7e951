package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/secretstore"
)

// consoleSteps runs the console lifecycle of alice, whose password is due
// to be disabled: one apply, then a rollback, each to its end unless crash
// stops it. It returns the crash-hook steps met.
func consoleSteps(t *testing.T, w *world, crash func(string) error, run int) []string {
	t.Helper()
	var steps []string
	hook := func(s string) error {
		steps = append(steps, s)
		if crash != nil {
			return crash(s)
		}
		return nil
	}
	ctx := context.Background()
	if _, _, err := w.consoleCycle(w.executor(w.hist, fmt.Sprintf("apply-%d", run)), Options{Crash: hook}); err != nil && !errors.Is(err, ErrCrashed) {
		t.Fatalf("apply %d: %v", run, err)
	}
	if len(steps) > 0 && crash != nil && errors.Is(crash(""), errDie) {
		return steps // the process died in the apply
	}
	if _, err := w.executor(w.hist, fmt.Sprintf("rollback-%d", run)).RollbackConsole(ctx, w.acct, "alice", Options{Crash: hook}); err != nil && !errors.Is(err, ErrCrashed) {
		t.Fatalf("rollback %d: %v", run, err)
	}
	return steps
}

// checkConsoleInvariants checks what must hold after any run, crashed or
// not: a user whose login profile is gone has a journal record of keyrot's
// disabling and keyrot's record of it (the tag rollback reads); a user
// whose console access keyrot restored has a login profile that the
// stored password opens, and only one password was ever stored.
func checkConsoleInvariants(t *testing.T, w *world) []string {
	t.Helper()
	var bad []string
	ctx := context.Background()
	acts, err := w.hist.ActionsFor(ctx, w.acct, "alice")
	if err != nil {
		t.Fatal(err)
	}
	journaled := false
	for _, a := range acts {
		if a.Kind == KindDisableConsole {
			journaled = true
		}
	}
	if !w.hasLoginProfile("alice") {
		if !journaled {
			bad = append(bad, "login profile deleted without a journal record")
		}
		if _, ok := parseConsoleRecord(w.tags("alice").All[TagConsoleDisabled]); !ok {
			bad = append(bad, "login profile deleted without keyrot's record for rollback")
		}
	}
	if v, err := w.storedPassword("alice"); err == nil {
		vs, err := w.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("keyrot/" + w.acct + "/alice" + secretstore.PasswordSuffix)})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs.Versions) != 1 {
			bad = append(bad, fmt.Sprintf("%d passwords stored for one restore", len(vs.Versions)))
		}
		if w.hasLoginProfile("alice") {
			if _, ok := w.tags("alice").All[TagConsoleDisabled]; !ok {
				// The restore finished: the stored password must open it.
				if err := w.env.Server.ConsoleSignIn(w.acct, "alice", v.Password.Reveal()); err != nil {
					bad = append(bad, "restored login profile not opened by the stored password: "+err.Error())
				}
			}
		}
	} else if !errors.Is(err, secretstore.ErrNoVersion) {
		t.Fatal(err)
	}
	return bad
}

// consoleWorld is a world where alice's password is due to be disabled:
// unused for 66 days, her owner told on day 50.
func consoleWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, "alice")
	w.givePassword("alice", "Old-Passw0rd!")
	w.advance(50 * day)
	if _, _, err := w.consoleCycle(w.executor(w.hist, "notice"), Options{}); err != nil {
		t.Fatal(err)
	}
	w.advance(16 * day)
	return w
}

// TestConsoleChaos kills keyrot at every step of a console password's
// disabling and rollback (17 steps, each run is short enough for CI),
// checks the invariants after the crash and after each later
// run, and that reruns converge: the password disabled, then restored with
// a stored password that opens it, and nothing left of keyrot's records.
func TestConsoleChaos(t *testing.T) {
	all := consoleSteps(t, consoleWorld(t), nil, 0)
	if len(all) < 10 {
		t.Fatalf("only %d steps: %v", len(all), all)
	}
	violations := 0
	for at := range all {
		t.Run(fmt.Sprintf("crash at %d %s", at, all[at]), func(t *testing.T) {
			w := consoleWorld(t)
			n, dead := 0, false
			crash := func(s string) error {
				if s == "" { // asked whether the process is dead
					if dead {
						return errDie
					}
					return nil
				}
				n++
				if n-1 == at {
					dead = true
				}
				if dead {
					return errDie
				}
				return nil
			}
			consoleSteps(t, w, crash, 1)
			if !dead {
				t.Fatalf("no crash at step %d", at)
			}
			for _, v := range checkConsoleInvariants(t, w) {
				violations++
				t.Errorf("after the crash at %s: %s", all[at], v)
			}
			// Reruns: the next apply, then the rollback asked again.
			for run := 2; run <= 3; run++ {
				w.advance(day)
				consoleSteps(t, w, nil, run)
				for _, v := range checkConsoleInvariants(t, w) {
					violations++
					t.Errorf("run %d after the crash at %s: %s", run, all[at], v)
				}
			}
			if !w.hasLoginProfile("alice") {
				t.Error("not converged: no login profile after the rollback")
			}
			if tags := w.tags("alice").All; tags[TagConsoleDisabled] != "" || tags[TagConsoleNotice] != "" {
				t.Errorf("not converged: keyrot's tags left: %v", tags)
			}
			if _, err := w.storedPassword("alice"); err != nil {
				t.Errorf("not converged: no stored password: %v", err)
			}
		})
	}
	if violations > 0 {
		t.Errorf("%d invariant violations", violations)
	}
	t.Logf("%d steps: %s", len(all), strings.Join(all, " "))
}

// TestConsoleLostReplies: each write call of the lifecycle succeeds on the
// server but its reply is lost, so the SDK sends it again: the retried
// DeleteLoginProfile meets NoSuchEntity, the retried CreateLoginProfile
// EntityAlreadyExists, the retried PutSecretValue its own token; each is
// taken as done, and the lifecycle ends as without the loss.
func TestConsoleLostReplies(t *testing.T) {
	for _, op := range []string{"TagUser", "DeleteLoginProfile", "CreateSecret", "PutSecretValue", "CreateLoginProfile", "UntagUser"} {
		t.Run(op, func(t *testing.T) {
			w := consoleWorld(t)
			before := w.calls.count(op)
			w.calls.drop(op, 1)
			consoleSteps(t, w, nil, 1)
			if w.calls.count(op)-before < 2 {
				t.Fatalf("%s was not sent again after its lost reply", op)
			}
			if bad := checkConsoleInvariants(t, w); len(bad) > 0 {
				t.Errorf("invariants: %v", bad)
			}
			v, err := w.storedPassword("alice")
			if err != nil || !w.hasLoginProfile("alice") || w.tags("alice").All[TagConsoleDisabled] != "" {
				t.Fatalf("not restored: %v", err)
			}
			if err := w.env.Server.ConsoleSignIn(w.acct, "alice", v.Password.Reveal()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConsoleStaleRecordNotRestored: keyrot dies after recording its
// disabling but before DeleteLoginProfile, so the password stays and its
// owner keeps using it; later someone else removes the password. The
// record is stale (the password was used after it): rollback refuses,
// clears it, and gives the user no console access keyrot did not take.
func TestConsoleStaleRecordNotRestored(t *testing.T) {
	ctx := context.Background()
	w := consoleWorld(t)
	crash := func(s string) error {
		if s == "before-delete-login-profile" {
			return errDie
		}
		return nil
	}
	if _, _, err := w.consoleCycle(w.executor(w.hist, "apply"), Options{Crash: crash}); err != nil && !errors.Is(err, ErrCrashed) {
		t.Fatal(err)
	}
	if !w.hasLoginProfile("alice") || w.tags("alice").All[TagConsoleDisabled] == "" {
		t.Fatal("setup: want the record written and the password kept")
	}
	w.advance(day)
	if err := w.env.Server.ConsoleSignIn(w.acct, "alice", "Old-Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	w.advance(day)
	if _, err := w.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	o, err := w.executor(w.hist, "rb").RollbackConsole(ctx, w.acct, "alice", Options{})
	if !errors.Is(err, ErrNotDisabledByKeyrot) || w.hasLoginProfile("alice") {
		t.Fatalf("rollback of a password someone else removed: %+v %v (login profile %v)", o, err, w.hasLoginProfile("alice"))
	}
	if v, ok := w.tags("alice").All[TagConsoleDisabled]; ok {
		t.Errorf("stale record left: %q", v)
	}
	if _, err := w.storedPassword("alice"); !errors.Is(err, secretstore.ErrNoVersion) {
		t.Errorf("a password was stored: %v", err)
	}
}
