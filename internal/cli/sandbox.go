package cli

import (
	"fmt"
	"net"

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
}

func newSandboxCmd(g *globalOptions) *cobra.Command {
	o := &sandboxOptions{}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local, wire-compatible AWS (IAM, STS, Organizations, Secrets Manager, SES, SNS) with a demo organization",
		Long: `Run a local AWS that speaks the real wire protocols of IAM, STS, Organizations,
Secrets Manager, SES v2 and SNS, checks SigV4 signatures, and records access-key
use the way IAM does. The first lines on stdout are shell exports for a client:

  eval "$(keyrot sandbox | head -4)"   # or copy them into another shell

The control API lives under /_sandbox/ (see docs/sandbox.md and 'keyrot sandbox ctl').`,
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
	cmd.AddCommand(newSandboxCtlCmd(g))
	return cmd
}

func runSandbox(cmd *cobra.Command, g *globalOptions, o *sandboxOptions) error {
	if (o.AdminKeyID == "") != (o.AdminSecret == "") {
		return usageErrorf("--admin-key-id and --admin-secret go together")
	}
	sc, err := sandbox.LoadScenario(o.Scenario)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	delay, err := parseDurationFlag("--new-key-delay", o.NewKeyDelay)
	if err != nil {
		return err
	}
	srv := sandbox.New(sandbox.Options{AdminKeyID: o.AdminKeyID, AdminSecret: o.AdminSecret, Logger: g.logger(), Seed: o.Seed})
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
	return srv.Serve(cmd.Context(), o.Addr, func(a net.Addr) {
		id, sec := srv.AdminCredentials()
		fmt.Fprintf(out, "export AWS_ENDPOINT_URL=http://%s\n", a.String())
		fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\n", id)
		fmt.Fprintf(out, "export AWS_SECRET_ACCESS_KEY=%s\n", sec)
		fmt.Fprintf(out, "export AWS_REGION=%s\n", o.Region)
		fmt.Fprintf(out, "export AWS_DEFAULT_REGION=%s\n", o.Region) // the AWS CLI v1 reads only this one
		fmt.Fprintf(out, "# keyrot sandbox: scenario %q, management account %s; Ctrl-C to stop\n", o.Scenario, srv.ManagementAccountID())
	})
}
