package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func TestSandboxCtl(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctl := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"sandbox", "ctl", "--endpoint-url", env.URL}, args...)...)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("organization:\n  management: {name: m, colour: blue}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := env.Server.Clock().Now()

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		stderr   string
		validate func(t *testing.T)
	}{
		{name: "health", args: []string{"health"}, stdout: []string{"ok: organization o-brightl00p1, management account 210987654321, 9 accounts, 46 users"}},
		{name: "clock advance", args: []string{"clock", "advance", "30d"}, stdout: []string{"(offset 720h"}, validate: func(t *testing.T) {
			if d := env.Server.Clock().Now().Sub(start); d < 30*24*time.Hour {
				t.Errorf("clock moved by %v", d)
			}
		}},
		{name: "clock show json", args: []string{"clock", "show", "--json"}, stdout: []string{`"offset_seconds": 2592000`}},
		{name: "clock set", args: []string{"clock", "set", "2035-06-01T00:00:00Z"}, stdout: []string{"2035-06-01T00:00"}},
		{name: "clock set bad", args: []string{"clock", "set", "tomorrow"}, code: ExitUsage, stderr: "want RFC 3339"},
		{name: "clock advance bad", args: []string{"clock", "advance", "ninety"}, code: ExitUsage, stderr: `by: invalid duration "ninety"`},
		{name: "fault add", args: []string{"fault", "add", "--kind", "throttle", "--service", "iam", "--probability", "0.2"}, stdout: []string{"added fault f1"}, validate: func(t *testing.T) {
			fs := env.Server.Faults()
			if len(fs) != 1 || fs[0].Kind != sandbox.FaultThrottle || fs[0].Service != "iam" || fs[0].Probability != 0.2 {
				t.Errorf("faults %+v", fs)
			}
		}},
		{name: "fault add error", args: []string{"fault", "add", "--kind", "error", "--operation", "DeleteAccessKey", "--code", "ServiceFailure", "--status", "500", "--times", "1"}, stdout: []string{"added fault f2"}},
		{name: "fault add bad", args: []string{"fault", "add", "--kind", "flood"}, code: ExitUsage, stderr: `unknown fault kind "flood"`},
		{name: "fault add no kind", args: []string{"fault", "add"}, code: ExitUsage, stderr: `required flag(s) "kind" not set`},
		{name: "fault list", args: []string{"fault", "list"}, stdout: []string{"f1  throttle  iam", "p=0.2", "f2  error", "ServiceFailure (HTTP 500) times=1"}},
		{name: "fault clear one", args: []string{"fault", "clear", "f1"}, stdout: []string{"removed fault f1"}},
		{name: "fault clear missing", args: []string{"fault", "clear", "f1"}, code: ExitError, stderr: `no fault "f1"`},
		{name: "fault clear all", args: []string{"fault", "clear"}, stdout: []string{"removed 1 faults"}},
		{name: "new-key-delay", args: []string{"new-key-delay", "5s"}, stdout: []string{"new-key delay 5s"}, validate: func(t *testing.T) {
			if env.Server.NewKeyDelay() != 5*time.Second {
				t.Errorf("delay %v", env.Server.NewKeyDelay())
			}
		}},
		{name: "credentials", args: []string{"credentials", "--account", "brightloop-prod", "--user", "ci-deploy"}, stdout: []string{"export AWS_ACCESS_KEY_ID=AKIA", "export AWS_SECRET_ACCESS_KEY=", "# sandbox user ci-deploy in account 345678901234"}},
		{name: "credentials missing", args: []string{"credentials", "--account", "brightloop-prod", "--user", "nobody"}, code: ExitError, stderr: `user "nobody"`},
		{name: "calls", args: []string{"calls"}, stdout: []string{"ACCOUNT", "total"}},
		{name: "state redacted", args: []string{"state"}, stdout: []string{`"secret": "REDACTED"`, `"management_account_id": "210987654321"`}},
		{name: "emails empty", args: []string{"emails"}, stderr: "no emails captured"},
		{name: "sns empty", args: []string{"sns", "--json"}, stdout: []string{"[]"}},
		{name: "authz", args: []string{"authz"}, stdout: []string{"authorization: enforced", "decision log: off, 0 decisions"}},
		{name: "authz log start", args: []string{"authz", "log", "start"}, validate: func(t *testing.T) {
			// A user with no policy is refused, and the log says by what.
			k, err := env.Server.ActiveKey("345678901234", "ci-deploy")
			if err != nil {
				t.Fatal(err)
			}
			_, err = iam.NewFromConfig(env.Config(k.AccessKeyID, k.SecretAccessKey, "")).ListUsers(context.Background(), &iam.ListUsersInput{})
			if apiCode(err) != "AccessDenied" {
				t.Errorf("ci-deploy ListUsers: %v", err)
			}
		}},
		{name: "authz log stop", args: []string{"authz", "log", "stop"}, stdout: []string{"DECISION", "ImplicitDeny  iam:ListUsers  arn:aws:iam::345678901234:user/  arn:aws:iam::345678901234:user/service/ci/ci-deploy"}},
		{name: "authz permissive", args: []string{"authz", "permissive"}, stdout: []string{"authorization: permissive (not enforced)"}},
		{name: "authz enforce", args: []string{"authz", "enforce", "--json"}, stdout: []string{`"enforced": true`}},
		{name: "load bad file", args: []string{"load", bad}, code: ExitUsage, stderr: bad + `:2: organization.management.colour: unknown key "colour"`},
		{name: "load unknown", args: []string{"load", "nope"}, code: ExitUsage, stderr: `unknown scenario "nope"`},
		{name: "load empty", args: []string{"load", "empty"}, stdout: []string{"loaded empty: management account 210987654321, 1 account, 0 users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ctl(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.validate != nil {
				tt.validate(t)
			}
		})
	}
}

func TestSandboxCtlEndpointFromEnv(t *testing.T) {
	env := sandboxtest.Start(t, "empty")
	t.Setenv("AWS_ENDPOINT_URL", env.URL)
	code, stdout, stderr := runCLI(t, "sandbox", "ctl", "health", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var h sandbox.Health
	if err := json.Unmarshal([]byte(stdout), &h); err != nil || h.Status != "ok" || h.Accounts != 1 {
		t.Fatalf("health %q: %v", stdout, err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	if code, _, stderr := runCLI(t, "sandbox", "ctl", "health"); code != ExitError || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("unreachable sandbox: exit %d, stderr %q", code, stderr)
	}
}
