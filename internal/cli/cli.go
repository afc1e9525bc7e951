// Package cli implements keyrot's command-line interface with cobra. Main is
// the whole program minus os.Exit, so tests call it directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/buildinfo"
)

// Streams are the process's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Version is keyrot's version as keyrot version reports it (package
// buildinfo: a release sets it with -ldflags on buildinfo, not here); it is
// recorded with every run and in reports.
var Version = buildinfo.Get().Version

// globalOptions are the flags every command shares.
type globalOptions struct {
	AWS      awsconf.Options
	LogLevel string
	// LogFormat is text or json (--log-format); empty is the command's
	// default: text, json for serve.
	LogFormat string
	NoColor   bool
	// Color is auto, always or never (--color).
	Color string
	// Clock is "system" or "sandbox": whose time keyrot judges ages by.
	Clock string
	// Timeout is the run's overall deadline (commands that talk to AWS).
	Timeout time.Duration
	// MemoryLimit is --memory-limit: a size, "off", or "" for the default.
	MemoryLimit string
	streams     Streams
}

// logger returns a stderr logger at the chosen level, in the chosen format.
func (g *globalOptions) logger() *slog.Logger {
	lvl, err := g.logLevel()
	if err != nil {
		lvl = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.streams.Err, opts))
	}
	return slog.New(slog.NewTextHandler(g.streams.Err, opts))
}

// Main runs keyrot with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, streams Streams) int {
	g := &globalOptions{streams: streams}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *awsconf.EndpointError
	if !errors.As(err, &ee) {
		err = explainError(g, err)
	}
	code := exitCodeFor(err)
	if ctx.Err() != nil && code == ExitError {
		code = ExitInterrupted
	}
	var s silentExit
	if !errors.As(err, &s) {
		// An endpoint that cannot be reached is said in one sentence that
		// names it and what to check; the SDK's full error goes to the debug log.
		var ee *awsconf.EndpointError
		if errors.As(err, &ee) {
			g.logger().Debug("aws call failed", "err", err.Error())
			err = awsconf.Explain(err)
		}
		fmt.Fprintf(streams.Err, "keyrot: %v\n", err)
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") ||
		strings.HasPrefix(err.Error(), "unknown shorthand flag") || strings.Contains(err.Error(), "invalid argument") ||
		strings.HasPrefix(err.Error(), "accepts ") || strings.HasPrefix(err.Error(), "required flag") {
		return ExitUsage
	}
	return code
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyrot",
		Short:         "Audit and rotate long-term AWS credentials across an AWS Organization",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return g.checkGlobal()
		},
	}
	// keyrot --version (and -v) prints the first line of keyrot version.
	root.SetVersionTemplate(versionLine(buildinfo.Get()) + "\n")
	pf := root.PersistentFlags()
	pf.StringVar(&g.LogLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error (serve: info)")
	pf.StringVar(&g.LogFormat, "log-format", "", "log format on stderr: text or json (default text; json for serve)")
	pf.StringVar(&g.Clock, "clock", "system", "whose clock ages are judged by: system, or sandbox (the sandbox's simulated clock, read from its control API at the endpoint)")
	pf.StringVar(&g.Color, "color", "auto", "colour in output: auto (a terminal whose TERM is not dumb), always (e.g. CI logs) or never")
	pf.BoolVar(&g.NoColor, "no-color", os.Getenv("NO_COLOR") != "", "disable colour in output, as --color never (also NO_COLOR)")
	root.AddCommand(
		newSandboxCmd(g),
		newDemoCmd(g),
		newConfigCmd(g),
		newAuditCmd(g),
		newPlanCmd(g),
		newApplyCmd(g),
		newRollbackCmd(g),
		newRotateCmd(g),
		newHistoryCmd(g),
		newServeCmd(g),
		newReportCmd(g),
		newBenchCmd(g),
		newRulesCmd(g),
		newVersionCmd(g),
	)
	requireSubcommands(root)
	return root
}

// addAWSFlags adds --profile, --region, --endpoint-url, --call-timeout and
// --timeout to a command that talks to AWS.
func addAWSFlags(cmd *cobra.Command, g *globalOptions) {
	addAWSConnFlags(cmd, g)
	durationVar(cmd, &g.Timeout, "timeout", DefaultRunTimeout, "overall deadline of the run: after it no account is collected and no action started; actions in flight finish and owners are still told")
	cmd.Flags().StringVar(&g.MemoryLimit, "memory-limit", "", "soft limit on keyrot's memory, such as 512MiB or 2GiB, or off (default 192MiB unless GOMEMLIMIT is set)")
}

// addAWSConnFlags adds the flags that say how to reach AWS: --profile,
// --region, --endpoint-url and --call-timeout.
func addAWSConnFlags(cmd *cobra.Command, g *globalOptions) {
	f := cmd.Flags()
	f.StringVar(&g.AWS.Profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or default)")
	f.StringVar(&g.AWS.Region, "region", "", "AWS region (default: from the environment or profile, else us-east-1)")
	f.StringVar(&g.AWS.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (e.g. the sandbox); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> also work")
	durationVar(cmd, &g.AWS.AttemptTimeout, "call-timeout", awsconf.DefaultAttemptTimeout, "limit on each attempt of an AWS call (connect, TLS handshake, first byte of the answer); an unreachable endpoint fails within 15s")
}

// DefaultRunTimeout is the overall deadline of a run when --timeout is not given.
const DefaultRunTimeout = 3 * time.Hour

// withDeadline bounds a run by --timeout.
func (g *globalOptions) withDeadline(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if g.Timeout <= 0 {
		return nil, nil, usageErrorf("--timeout must be positive (got %s)", g.Timeout)
	}
	if g.AWS.AttemptTimeout <= 0 {
		return nil, nil, usageErrorf("--call-timeout must be positive (got %s)", g.AWS.AttemptTimeout)
	}
	if err := g.setMemoryLimit(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, g.Timeout, fmt.Errorf("the run reached its deadline (--timeout %s): %w", g.Timeout, context.DeadlineExceeded))
	return ctx, cancel, nil
}
