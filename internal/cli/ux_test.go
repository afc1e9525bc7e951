package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestMisspelledSubcommands: a subcommand keyrot does not have is a usage
// error (exit 2) with a suggestion, not help and exit 0.
func TestMisspelledSubcommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"config", "valdate"}, `unknown command "valdate" for "keyrot config"; did you mean "validate"?`},
		{[]string{"sandbox", "ctl", "clock", "advnce", "10d"}, `did you mean "advance"?`},
		{[]string{"config", "show"}, `unknown command "show" for "keyrot config"; its commands are init, schema, validate`},
		{[]string{"sandbox", "ctll"}, `did you mean "ctl"?`},
		{[]string{"audti"}, `unknown command "audti"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	if code, out, _ := runCLI(t, "config"); code != ExitOK || !strings.Contains(out, "Available Commands") {
		t.Errorf("keyrot config alone: exit %d, want its help and 0", code)
	}
}

// TestFlagsRefusedBeforeAWS: flags that make no sense are usage errors
// that name the flag, before any AWS call (there is no endpoint here).
func TestFlagsRefusedBeforeAWS(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Chdir(t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"log level", []string{"audit", "--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
		{"color", []string{"audit", "--color", "sometimes"}, "--color must be auto, always or never"},
		{"log format", []string{"audit", "--log-format", "xml"}, "--log-format must be text or json"},
		{"serve log format", []string{"serve", "--log-format", "yaml"}, "--log-format must be text or json"},
		{"report wait in days", []string{"audit", "--report-wait", "5d", "--timeout", "0s"}, "--timeout must be positive"},
		{"call timeout in days", []string{"plan", "--call-timeout", "1d", "--timeout", "0s"}, "--timeout must be positive"},
		{"bad duration", []string{"audit", "--report-wait", "soon"}, `invalid duration "soon"`},
		{"max changes 0", []string{"plan", "--max-changes", "0"}, "--max-changes must be at least 2"},
		{"max changes 0 apply", []string{"apply", "--max-changes", "0", "--yes"}, "--max-changes must be at least 2"},
		{"history limit", []string{"history", "--limit", "-5"}, "--limit must be at least 1"},
		{"single account and accounts", []string{"audit", "--single-account", "--accounts", "123456789012"}, "cannot be combined with --accounts"},
		{"single account and ou", []string{"audit", "--single-account", "--ou", "ou-ab12-cdef3456"}, "cannot be combined with --ou"},
		{"everything excluded", []string{"audit", "--accounts", "123456789012", "--exclude-accounts", "123456789012", "--fail-on", "low"}, "nothing to do: every account of --accounts is also in --exclude-accounts"},
		{"ou format", []string{"audit", "--ou", "bogus"}, "--ou bogus: not an organizational unit or root ID"},
		{"bench preset", []string{"bench", "--preset", "fast"}, `--preset: unknown preset "fast"`},
		{"bench account rate", []string{"bench", "--account-rate", "x=1"}, "--account-rate x=1: want INDEX=CALLS_PER_SECOND"},
		{"bench account out of range", []string{"bench", "--account-rate", "50=1"}, "account rate override 50=1"},
		{"bench strategy", []string{"bench", "--only", "fast"}, "--only fast: want audit, per-user or apply"},
		{"bench chart without sweep", []string{"bench", "--chart", "c.png"}, "--chart needs --sweep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestErrorsOneSentence: errors from AWS are one sentence with keyrot's
// context and AWS's answer, without the SDK's request IDs, and carry the
// documented exit code: bad input 2, credentials 4.
func TestErrorsOneSentence(t *testing.T) {
	e := startRotationEnv(t, "demo")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"nonexistent user", []string{"rotate", "--now", "--account", "210987654321", "--user", "nobody", "--yes"}, nil, ExitUsage, "user nobody does not exist in account 210987654321"},
		{"ou not in the organization", []string{"audit", "--ou", "ou-zzzz-zzzzzzzz"}, nil, ExitUsage, "--ou ou-zzzz-zzzzzzzz: no root or organizational unit of the organization has this ID"},
		{"account not in the organization", []string{"audit", "--accounts", "111111111111"}, nil, ExitUsage, "--accounts: 111111111111 is not in organization o-"},
		{"unknown profile", []string{"audit", "--profile", "nosuch"}, nil, ExitUsage, `AWS profile "nosuch" is not in the shared config files`},
		{"rollback outside the organization", []string{"rollback", "--account", "111111111111", "--user", "nobody", "--yes"}, nil, ExitAuth, "cannot assume the role in account 111111111111: is it a member of the organization"},
		{"no credentials", []string{"audit"}, map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true"}, ExitAuth, "no AWS credentials found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append(tt.args, auditFlags(e)...)
			if tt.args[0] == "rotate" || tt.args[0] == "rollback" {
				args = append(tt.args, manualFlags(e)...)
			}
			code, _, stderr := runCLI(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			for _, noise := range []string{"RequestID", "operation error", "https response error", "failed to refresh"} {
				if strings.Contains(stderr, noise) {
					t.Errorf("stderr has the SDK's %q: %s", noise, stderr)
				}
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("stderr has %d lines, want one: %s", n+1, stderr)
			}
		})
	}
}

// TestAuditMessages: the failed account is said once (in the report, and
// the exit message), --log-level debug shows the AWS calls, and a caller
// outside any organization is told that only its account was audited.
func TestAuditMessages(t *testing.T) {
	e := startRotationEnv(t, "demo")
	code, out, stderr := e.audit(t, "-o", "table")
	if code != ExitPartial {
		t.Fatalf("exit %d, want 5\n%s", code, stderr)
	}
	if !strings.Contains(out, "901234567801") || strings.Contains(stderr, "901234567801") {
		t.Errorf("the failed account must be in the report only:\nstderr: %s", stderr)
	}
	if strings.Contains(stderr, "account failed") {
		t.Errorf("a raw log line repeats the failed account: %s", stderr)
	}
	if !strings.Contains(stderr, "keyrot: 1 account could not be audited") {
		t.Errorf("stderr %q", stderr)
	}
	_, _, stderr = e.audit(t, "--accounts", "345678901234", "--log-level", "debug")
	for _, want := range []string{`msg="aws call" service=STS operation=GetCallerIdentity`, `msg="aws configuration"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--log-level debug: no %q in\n%s", want, stderr)
		}
	}
	// --log-format json: every log line is a JSON object, the same lines.
	_, _, stderr = e.audit(t, "--accounts", "345678901234", "--log-level", "debug", "--log-format", "json")
	calls := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the closing summary is for people, not a log line
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("--log-format json: a log line is not JSON: %v\n%s", err, line)
		}
		if rec["msg"] == "aws call" && rec["service"] == "STS" && rec["operation"] == "GetCallerIdentity" {
			calls++
		}
	}
	if calls == 0 {
		t.Errorf("--log-format json: no aws call record in\n%s", stderr)
	}
	if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "organizations", Operation: "DescribeOrganization",
		Code: "AWSOrganizationsNotInUseException", Status: 400, Message: "Your account is not a member of an organization."}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = e.audit(t)
	if !strings.Contains(stderr, "notice: account 210987654321 is not in an AWS Organization") {
		t.Errorf("exit %d; no notice of the single-account fallback in %q", code, stderr)
	}
	_, _, stderr = e.audit(t, "--single-account")
	if strings.Contains(stderr, "notice:") {
		t.Errorf("--single-account: notice anyway: %s", stderr)
	}
}

// TestConfigValidateDuplicateKey: a key given twice in keyrot.yaml is an
// error naming both lines.
func TestConfigValidateDuplicateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(path, []byte("version: 1\naccess_keys:\n  rotate_after: 90d\n  rotate_after: 30d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "config", "validate", "-f", path)
	if code != ExitUsage || !strings.Contains(stderr, `4: access_keys.rotate_after: duplicate key "rotate_after": it is also on line 3`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestColor: --color always colours a pipe (CI logs), --color never and
// TERM=dumb do not colour a terminal.
func TestColor(t *testing.T) {
	e := startRotationEnv(t, "demo")
	_, out, _ := e.audit(t, "-o", "table", "--accounts", "345678901234", "--color", "always")
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("--color always: no colour in\n%s", out)
	}
	for _, tt := range []struct {
		term string
		args []string
		want bool
	}{{"xterm-256color", nil, true}, {"dumb", nil, false}, {"xterm-256color", []string{"--color", "never"}, false}} {
		t.Run(tt.term+strings.Join(tt.args, ""), func(t *testing.T) {
			t.Setenv("TERM", tt.term)
			t.Setenv("NO_COLOR", "")
			master, tty := openPTY(t)
			args := append(append([]string{"audit", "-o", "table", "--accounts", "345678901234"}, tt.args...), auditFlags(e)...)
			Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: tty, Err: os.Stderr})
			tty.Close()
			got := readAll(master)
			if strings.Contains(got, "\x1b[") != tt.want {
				t.Errorf("TERM=%s %v: colour %v, want %v\n%q", tt.term, tt.args, !tt.want, tt.want, got)
			}
		})
	}
}

// TestConfirmationPrompt: an answer typed before the question (while the
// accounts were being collected) is discarded; "y" gets a reminder to type
// yes; the compromised-key question says the old key stops working at once.
func TestConfirmationPrompt(t *testing.T) {
	e := startRotationEnv(t, "demo")
	apply := append([]string{"apply", "--accounts", "345678901234"}, e.flags...)

	master, tty := openPTY(t)
	fmt.Fprint(master, "yes\n") // typed too early
	done := make(chan int)
	go func() { done <- Main(context.Background(), apply, Streams{In: tty, Out: tty, Err: tty}) }()
	r := bufio.NewReader(master)
	waitFor(t, r, "Type yes to continue: ")
	fmt.Fprint(master, "\n")
	if code := <-done; code == ExitOK || writeCalls(e) > 0 {
		t.Fatalf("an early yes was taken: exit %d, %d write calls", code, writeCalls(e))
	}

	master, tty = openPTY(t)
	go func() { done <- Main(context.Background(), apply, Streams{In: tty, Out: tty, Err: tty}) }()
	r = bufio.NewReader(master)
	waitFor(t, r, "Type yes to continue: ")
	fmt.Fprint(master, "y\n")
	waitFor(t, r, "Please type yes in full")
	fmt.Fprint(master, "yes\n")
	if code := <-done; (code != ExitOK && code != ExitBlocked) || writeCalls(e) == 0 {
		t.Fatalf("y then yes: exit %d, %d write calls", code, writeCalls(e))
	}

	master, tty = openPTY(t)
	rotate := append([]string{"rotate", "--now", "--compromised", "--account", "345678901234", "--user", "ci-deploy"}, manualFlags(e)...)
	go func() { done <- Main(context.Background(), rotate, Streams{In: tty, Out: tty, Err: tty}) }()
	r = bufio.NewReader(master)
	waitFor(t, r, "The old key is deactivated at once")
	fmt.Fprint(master, "no\n")
	if code := <-done; code == ExitOK {
		t.Fatalf("no: exit %d", code)
	}
}

// openPTY opens a pseudo-terminal: the master end the test types into and
// reads from, the slave end keyrot sees as its terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// waitFor reads the terminal until want appears, or fails after 20s.
func waitFor(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		var b strings.Builder
		for !strings.Contains(b.String(), want) {
			c, err := r.ReadByte()
			if err != nil {
				break
			}
			b.WriteByte(c)
		}
		got <- b.String()
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, want) {
			t.Fatalf("terminal closed before %q:\n%s", want, s)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no %q on the terminal after 20s", want)
	}
}

// readAll reads what the terminal has, until it is closed or quiet.
func readAll(master *os.File) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		_ = master.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := master.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// auditFlags are e's flags that keyrot audit takes (it keeps no history).
func auditFlags(e *rotationEnv) []string {
	return []string{"--progress", "none", "--report-wait", "5ms", "--clock", "sandbox"}
}

// manualFlags are e's flags that rollback and rotate take.
func manualFlags(e *rotationEnv) []string {
	return []string{"--state-dir", e.stateDir, "--clock", "sandbox"}
}

// runAudit runs keyrot audit against e's sandbox.
func (e *rotationEnv) audit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(append([]string{"audit"}, args...), auditFlags(e)...)...)
}

// TestInventoryCounts: "1 root key", not "1 root keys".
func TestInventoryCounts(t *testing.T) {
	if got, want := inventoryCounts(1, 2, 1, 0), "1 account, 2 users, 1 access key, 0 root keys"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := countOf(1, "finding", "findings"); got != "1 finding" {
		t.Errorf("countOf(1) = %q", got)
	}
}
