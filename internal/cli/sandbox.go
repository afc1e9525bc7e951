package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/sandbox"
)

type sandboxOptions struct {
	Addr        string
	Scenario    string
	AdminKeyID  string
	AdminSecret string
	Region      string
	Seed        uint64
	NewKeyDelay string
	ReportBuild string
	EnvFile     string
	Detach      bool
	LogFile     string
	Permissive  bool
}

func newSandboxCmd(g *globalOptions) *cobra.Command {
	o := &sandboxOptions{}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local, wire-compatible AWS (IAM, STS, Organizations, Secrets Manager, KMS, SES, SNS) with a demo organization",
		Long: `Run a local AWS that speaks the real wire protocols of IAM, STS, Organizations,
Secrets Manager, KMS, SES v2 and SNS, checks SigV4 signatures, and records access-key
use the way IAM does. It prints shell exports for a client on stdout, then serves
until Ctrl-C. To start it in the background and point this shell at it:

  eval "$(keyrot sandbox --detach)"   # stop it with: kill $KEYROT_SANDBOX_PID

--env-file writes the same exports to a file once the sandbox listens (source it from
another shell). The control API lives under /_sandbox/ (see docs/sandbox.md and
'keyrot sandbox ctl').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSandbox(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:4566", "address to listen on")
	f.StringVar(&o.Scenario, "scenario", "demo", "built-in scenario name (demo, empty) or path to a scenario YAML file")
	f.StringVar(&o.AdminKeyID, "admin-key-id", "", "access key ID of the management account's sandbox admin (random if empty)")
	f.StringVar(&o.AdminSecret, "admin-secret", "", "secret of the sandbox admin key (random if empty)")
	f.StringVar(&o.Region, "region", "us-east-1", "region printed in the exports")
	f.Uint64Var(&o.Seed, "seed", 0, "seed for fault-injection randomness (0: random)")
	f.StringVar(&o.NewKeyDelay, "new-key-delay", "0s", "wall time before a new access key authenticates (IAM eventual consistency)")
	f.StringVar(&o.ReportBuild, "report-build-time", "2s", "sandbox time a credential report takes to generate")
	f.StringVar(&o.EnvFile, "env-file", "", "also write the exports to this file once the sandbox listens")
	f.BoolVar(&o.Detach, "detach", false, "run in the background: print the exports (with KEYROT_SANDBOX_PID) once it listens, then return")
	f.BoolVar(&o.Permissive, "permissive", false, "do not enforce IAM policies, SCPs and resource policies: every signed request is allowed")
	f.StringVar(&o.LogFile, "log-file", "", "with --detach, where the sandbox's log goes (default: keyrot-sandbox-PID.log in the temporary directory)")
	cmd.AddCommand(newSandboxCtlCmd(g))
	return cmd
}

func runSandbox(cmd *cobra.Command, g *globalOptions, o *sandboxOptions) error {
	if (o.AdminKeyID == "") != (o.AdminSecret == "") {
		return usageErrorf("--admin-key-id and --admin-secret go together")
	}
	if o.Detach {
		return detachSandbox(cmd, g, o)
	}
	sc, err := sandbox.LoadScenario(o.Scenario)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	delay, err := parseDurationFlag("--new-key-delay", o.NewKeyDelay)
	if err != nil {
		return err
	}
	srv := sandbox.New(sandbox.Options{AdminKeyID: o.AdminKeyID, AdminSecret: o.AdminSecret, Logger: g.logger(), Seed: o.Seed, Permissive: o.Permissive})
	if err := srv.ApplyScenario(sc); err != nil {
		return withCode(ExitUsage, fmt.Errorf("scenario %s: %w", o.Scenario, err))
	}
	srv.SetNewKeyDelay(delay)
	build, err := parseDurationFlag("--report-build-time", o.ReportBuild)
	if err != nil {
		return err
	}
	srv.SetReportBuildTime(build)
	out := cmd.OutOrStdout()
	var fileErr error
	err = srv.Serve(cmd.Context(), o.Addr, func(a net.Addr) {
		id, sec := srv.AdminCredentials()
		var b strings.Builder
		fmt.Fprintf(&b, "export AWS_ENDPOINT_URL=http://%s\n", a.String())
		fmt.Fprintf(&b, "export AWS_ACCESS_KEY_ID=%s\n", id)
		fmt.Fprintf(&b, "export AWS_SECRET_ACCESS_KEY=%s\n", sec)
		fmt.Fprintf(&b, "export AWS_REGION=%s\n", o.Region)
		fmt.Fprintf(&b, "export AWS_DEFAULT_REGION=%s\n", o.Region) // the AWS CLI v1 reads only this one
		if o.EnvFile != "" {
			fileErr = writeFileAtomic(o.EnvFile, []byte(b.String()))
		}
		fmt.Fprintf(&b, "# keyrot sandbox: scenario %q, management account %s; Ctrl-C to stop\n", o.Scenario, srv.ManagementAccountID())
		_, _ = io.WriteString(out, b.String())
	})
	return errors.Join(err, fileErr)
}

// detachSandbox starts the sandbox again as a background process of its
// own (a new session, so closing this shell does not stop it), waits until
// it listens, and prints its exports with KEYROT_SANDBOX_PID: the command
// returns, so eval "$(keyrot sandbox --detach)" works.
func detachSandbox(cmd *cobra.Command, g *globalOptions, o *sandboxOptions) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find keyrot's executable: %w", err)
	}
	dir, err := os.MkdirTemp("", "keyrot-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	envFile := o.EnvFile
	if envFile == "" {
		envFile = filepath.Join(dir, "env")
	}
	_ = os.Remove(envFile) // a stale file must not pass for this sandbox's
	var args []string
	for _, name := range []string{"addr", "scenario", "admin-key-id", "admin-secret", "region", "seed", "new-key-delay", "report-build-time"} {
		if cmd.Flags().Changed(name) {
			args = append(args, "--"+name+"="+cmd.Flags().Lookup(name).Value.String())
		}
	}
	args = append([]string{"sandbox", "--env-file", envFile, "--log-level", g.LogLevel}, args...)
	logPath := o.LogFile
	if logPath == "" {
		logPath = filepath.Join(os.TempDir(), fmt.Sprintf("keyrot-sandbox-%d.log", os.Getpid()))
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sandbox log: %w", err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	child := exec.Command(self, args...)
	child.Stdout, child.Stderr = devnull, logf // the exports (secrets) go to envFile only
	child.SysProcAttr = detachedProcess()
	if err := child.Start(); err != nil {
		return fmt.Errorf("start the sandbox: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	deadline := time.After(15 * time.Second)
	for {
		if b, err := os.ReadFile(envFile); err == nil && len(b) > 0 {
			pid := child.Process.Pid
			_ = child.Process.Release()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%sexport KEYROT_SANDBOX_PID=%d\n# keyrot sandbox: running in the background (log %s); stop it with: kill $KEYROT_SANDBOX_PID\n",
				b, pid, logPath)
			return err
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return withCode(ExitUsage, fmt.Errorf("the sandbox stopped before it listened (%v): %s", err, strings.TrimSpace(lastLines(string(log), 5))))
		case <-deadline:
			_ = child.Process.Kill()
			return fmt.Errorf("the sandbox did not listen within 15s; see %s", logPath)
		case <-cmd.Context().Done():
			_ = child.Process.Kill()
			return cmd.Context().Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
