package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/sandbox"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// keyrotBinary builds cmd/keyrot once per test process and returns its path:
// the unattended tests drive the real binary, signals and pipes included.
func keyrotBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyrot-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "keyrot")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/keyrot")
		cmd.Dir = filepath.Join(testdataAbs, "..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("build keyrot: %v\n%s", binErr, binPath)
	}
	return binPath
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// runs returns the runs recorded in e's history, newest (highest ID) first.
func (e *rotationEnv) runs(t *testing.T) []history.Run {
	t.Helper()
	h, err := history.Open(context.Background(), filepath.Join(e.stateDir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	runs, err := h.ListRuns(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Started is on the sandbox's clock; the ID gives the order of the runs.
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	return runs
}

// TestApplyClosedStdout: a reader that goes away (head -1, or true, which
// reads nothing) used to kill keyrot apply with SIGPIPE after it changed
// keys and before it told anyone: the notices were never sent and the run
// stayed "running". Now the run completes, every notice goes out, the run
// is recorded, and the lost output is reported in the exit code.
func TestApplyClosedStdout(t *testing.T) {
	bin := keyrotBinary(t)
	for _, tc := range []struct {
		name, reader string
	}{
		{"head", "| head -1"},
		{"true", "| true"},
		{"full disk", "> /dev/full"},
		{"stderr full", "--progress plain 2>/dev/full"},
		{"stderr closed", "--progress plain 2>&-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startLifecycle(t, "")
			withPolicy(t, e, notifyPolicy)
			e.Server.Clock().Advance(5 * day) // day 90: the key is due
			script := "exec 3>&2; " + bin + " apply --yes -o table " + shellQuote(e.flags) + " " + tc.reader + "; echo \"exit=${PIPESTATUS[0]}\" >&3"
			cmd := exec.Command("bash", "-c", script)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if strings.Contains(string(out), "exit=141") {
				t.Fatalf("keyrot was killed by SIGPIPE:\n%s", out)
			}
			if lost := tc.name == "true" || tc.name == "full disk"; lost && !strings.Contains(string(out), "exit=1") {
				t.Errorf("a lost report must show in the exit code (want 1):\n%s", out)
			}
			if tc.name == "full disk" && !strings.Contains(string(out), "could not be written to standard output") {
				t.Errorf("the lost report is not explained:\n%s", out)
			}
			if strings.HasPrefix(tc.name, "stderr") && !strings.Contains(string(out), "exit=0") {
				t.Errorf("a lost stderr is no reason to fail a run whose report was written:\n%s", out)
			}
			mails := e.Server.Emails()
			if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Action needed") {
				t.Fatalf("want the rotation notice to the owner, got %d mail(s)\n%s", len(mails), out)
			}
			runs := e.runs(t)
			if len(runs) != 1 || runs[0].Status != history.RunSucceeded || !runs[0].Notified {
				t.Fatalf("want one succeeded, notified run; got %+v", runs)
			}
		})
	}
}

// TestApplyKilledBeforeNotifying: a run killed (SIGKILL) after it changed
// keys and while its notices were being sent is marked interrupted by the
// next run, and the next run sends the notices the killed one owed.
func TestApplyKilledBeforeNotifying(t *testing.T) {
	bin := keyrotBinary(t)
	e := startLifecycle(t, "")
	withPolicy(t, e, notifyPolicy)
	e.Server.Clock().Advance(5 * day) // day 90
	if _, err := e.Server.AddFault(sandbox.Fault{ID: "slow-mail", Kind: sandbox.FaultLatency, Service: "ses", Latency: "1m"}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"apply", "--yes"}, e.flags...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for fired := 0; fired == 0; {
		select {
		case err := <-waited:
			t.Fatalf("apply ended before its notices: %v\n%s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("apply never reached the mail server\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, f := range e.Server.Faults() {
			fired += f.Fired
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-waited
	e.Server.ClearFaults("")
	if n := len(e.Server.Emails()); n != 0 {
		t.Fatalf("the killed run sent %d mail(s)", n)
	}
	if runs := e.runs(t); len(runs) != 1 || runs[0].Status != history.RunRunning {
		t.Fatalf("want the killed run still marked running; got %+v", runs)
	}

	code, _, errOut := e.run(t, "apply", "--yes")
	if code != ExitOK {
		t.Fatalf("next apply: exit %d\n%s", code, errOut)
	}
	mails := e.Server.Emails()
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Action needed") {
		t.Fatalf("the next run must send the rotation notice the killed run owed; got %d mail(s)\n%s", len(mails), errOut)
	}
	if !strings.Contains(errOut, "notices owed by 1 earlier run") {
		t.Errorf("the next run does not say it sent an earlier run's notices:\n%s", errOut)
	}
	runs := e.runs(t)
	if len(runs) != 2 || runs[1].Status != history.RunInterrupted || !runs[1].Notified || runs[0].Status != history.RunSucceeded {
		t.Fatalf("want the killed run interrupted and notified, the next one succeeded; got %+v", runs)
	}
	// A third run sends nothing again.
	if code, _, errOut := e.run(t, "apply", "--yes"); code != ExitOK || len(e.Server.Emails()) != 1 {
		t.Fatalf("third apply: exit %d, %d mails\n%s", code, len(e.Server.Emails()), errOut)
	}
}

// TestApplyWarnsNobodyTold: an apply with no notification channel says, on
// stderr and in the run record, that nobody will be told.
func TestApplyWarnsNobodyTold(t *testing.T) {
	e := startLifecycle(t, "")
	e.Server.Clock().Advance(5 * day) // day 90
	code, _, stderr := e.run(t, "apply", "--yes")
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	const want = "no notification channel is configured"
	if !strings.Contains(stderr, "warning: "+want) {
		t.Errorf("stderr does not warn that nobody is told:\n%s", stderr)
	}
	if runs := e.runs(t); len(runs) != 1 || !strings.Contains(runs[0].Summary, want) {
		t.Errorf("the run record does not say nobody was told: %+v", runs)
	}
	// A dry run tells nobody by design: no warning.
	if _, _, stderr := e.run(t, "apply", "--dry-run"); strings.Contains(stderr, want) {
		t.Errorf("dry run warns about notifications:\n%s", stderr)
	}
}

// TestRunDeadline: --timeout ends a run that takes too long, with a message
// that names the deadline, and a bad value is a usage error.
func TestRunDeadline(t *testing.T) {
	e := startLifecycle(t, "")
	if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultLatency, Service: "iam", Latency: "10s"}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "audit", "-o", "json", "--progress", "none", "--report-wait", "5ms", "--timeout", "300ms")
	if code != ExitError || !strings.Contains(stderr, "the run reached its deadline (--timeout 300ms)") {
		t.Errorf("audit past its deadline: exit %d\n%s", code, stderr)
	}
	code, _, stderr = e.run(t, "plan", "--timeout", "300ms")
	if code != ExitError || !strings.Contains(stderr, "deadline") {
		t.Errorf("plan past its deadline: exit %d\n%s", code, stderr)
	}
	for _, bad := range [][]string{{"--timeout", "0s"}, {"--call-timeout", "-1s"}} {
		if code, _, stderr := runCLI(t, append([]string{"audit"}, bad...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", bad, code, ExitUsage, stderr)
		}
	}
}

// TestApplyRetriesFailedDelivery: a digest whose delivery failed leaves the
// run owing its notices; the next run delivers it, once.
func TestApplyRetriesFailedDelivery(t *testing.T) {
	e := startLifecycle(t, "")
	withPolicy(t, e, notifyPolicy)
	e.Server.Clock().Advance(5 * day) // day 90
	if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "ses", Code: "MessageRejected", Status: 400, Message: "Email address is not verified."}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := e.run(t, "apply", "--yes")
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	if runs := e.runs(t); len(runs) != 1 || runs[0].Notified || len(e.Server.Emails()) != 0 {
		t.Fatalf("want the run owing its notices and no mail; runs %+v, %d mails\n%s", runs, len(e.Server.Emails()), stderr)
	}
	e.Server.ClearFaults("")
	if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitOK {
		t.Fatalf("second apply: exit %d\n%s", code, stderr)
	}
	if n := len(e.Server.Emails()); n != 1 {
		t.Fatalf("the next run sent %d mail(s), want the rotation notice once", n)
	}
	if runs := e.runs(t); len(runs) != 2 || !runs[0].Notified || !runs[1].Notified {
		t.Errorf("want both runs notified: %+v", runs)
	}
	if code, _, _ := e.run(t, "apply", "--yes"); code != ExitOK || len(e.Server.Emails()) != 1 {
		t.Errorf("a third run sent the notice again: %d mails", len(e.Server.Emails()))
	}
}
