package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
)

// scopeOptions are the account-selection flags shared by audit, plan and apply.
type scopeOptions struct {
	ConfigFile string
	app.Scope
	Progress   string
	ReportWait time.Duration
}

func addScopeFlags(cmd *cobra.Command, o *scopeOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigFile, "config", "c", "", "policy file (default: ./keyrot.yaml if present, else the built-in CIS defaults)")
	f.StringSliceVar(&o.Accounts, "accounts", nil, "only these account IDs (comma-separated)")
	f.StringSliceVar(&o.OUs, "ou", nil, "only accounts under these OUs, recursively (comma-separated OU IDs)")
	f.StringSliceVar(&o.ExcludeAccounts, "exclude-accounts", nil, "skip these account IDs")
	f.BoolVar(&o.SingleAccount, "single-account", false, "audit only the caller's own account, without AWS Organizations")
	f.StringVar(&o.RoleName, "role-name", "", "role to assume in member accounts (default: policy organization.role_name)")
	f.StringVar(&o.ExternalID, "external-id", "", "external ID for the role (default: policy organization.external_id)")
	f.IntVar(&o.Concurrency, "concurrency", 0, "accounts processed at once (default: policy organization.concurrency)")
	f.BoolVar(&o.Fresh, "fresh", false, "list users and keys live instead of trusting a credential report that can be up to 4 hours old")
	durationVar(cmd, &o.ReportWait, "report-wait", defaultReportWait, "first wait for a credential report to be generated (AWS takes seconds; emulators are instant)")
	f.StringVar(&o.Progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, lines otherwise), plain or none")
}

// loadConfig loads keyrot.yaml, the policy and its notify section, from the
// file named by -c, else ./keyrot.yaml if it exists, else the defaults.
// Problems exit 2 with every problem listed.
func loadConfig(g *globalOptions, file string) (*config.Config, error) {
	path := file
	if path == "" {
		if _, err := os.Stat(policy.DefaultFile); err != nil {
			g.logger().Debug("no keyrot.yaml here; built-in defaults", "file", policy.DefaultFile)
			return config.Default(), nil
		}
		path = policy.DefaultFile
	}
	c, err := config.Load(path)
	if err == nil {
		g.logger().Debug("configuration loaded", "file", path)
		return c, nil
	}
	var probs policy.Problems
	if errors.As(err, &probs) {
		for _, pr := range probs {
			fmt.Fprintln(g.streams.Err, pr.String())
		}
		return nil, withCode(ExitUsage, fmt.Errorf("%s: %d problem(s); see keyrot config validate", path, len(probs)))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErrorf("%s does not exist; create one with keyrot config init", path)
	}
	return nil, withCode(ExitUsage, err)
}

// loadAWS loads the SDK configuration from the global flags. At
// --log-level debug every AWS call is logged with its duration and
// outcome; observers (the service's metrics) are told about every call too.
func loadAWS(ctx context.Context, g *globalOptions, observers ...awsconf.CallObserver) (aws.Config, error) {
	log := g.logger()
	opts := g.AWS
	if log.Enabled(ctx, slog.LevelDebug) {
		observers = append(observers, debugCalls{log})
	}
	if len(observers) > 0 {
		opts.Observer = awsconf.Observers(observers)
	}
	cfg, err := awsconf.Load(ctx, opts)
	if err != nil {
		return cfg, explainConfigError(g, err)
	}
	log.Debug("aws configuration", "region", cfg.Region, "profile", g.AWS.Profile, "endpoint", endpointForLog(g))
	return cfg, nil
}

// debugCalls logs every AWS call at debug level.
type debugCalls struct{ log *slog.Logger }

func (d debugCalls) ObserveCall(ctx context.Context, c awsconf.Call) {
	attrs := []any{"service", c.Service, "operation", c.Operation, "duration", c.Duration.Round(time.Millisecond).String()}
	if c.Err != nil {
		attrs = append(attrs, "err", c.Err.Error())
	}
	d.log.Debug("aws call", attrs...)
}

func (d debugCalls) ObserveThrottle(ctx context.Context, service, operation string) {
	d.log.Debug("aws call throttled", "service", service, "operation", operation)
}

// endpointForLog is the endpoint AWS calls go to, for the debug log.
func endpointForLog(g *globalOptions) string {
	if g.AWS.EndpointURL != "" {
		return g.AWS.EndpointURL
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		return ep
	}
	return "aws"
}

// newApp builds the application for a command: the policy and its
// notification settings, the AWS configuration, progress, clock and logger.
// The history store, where needed, is set by the caller.
func newApp(ctx context.Context, g *globalOptions, o *scopeOptions) (*app.App, error) {
	if o.Concurrency < 0 || o.Concurrency > 64 {
		return nil, usageErrorf("--concurrency must be between 1 and 64")
	}
	if err := checkScope(o); err != nil {
		return nil, err
	}
	prog, err := newProgress(g.streams.Err, o.Progress)
	if err != nil {
		return nil, err
	}
	if o.ReportWait < 0 {
		return nil, usageErrorf("--report-wait must not be negative")
	}
	c, err := loadConfig(g, o.ConfigFile)
	if err != nil {
		return nil, err
	}
	cfg, err := loadAWS(ctx, g)
	if err != nil {
		return nil, err
	}
	now, err := g.now(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	a := &app.App{Policy: c.Policy, Notify: c.Notify, AWS: cfg, Progress: prog, Logger: g.logger(), Now: now, Host: host, Version: Version,
		Retention: time.Duration(c.History.Retention), Deliver: c.Deliver}
	a.CollectOptions = reportWait(o.ReportWait)
	return a, nil
}

// defaultReportWait is --report-wait's default.
const defaultReportWait = 2 * time.Second

// reportWait returns the collector's adjustment for --report-wait, or nil
// for the default.
func reportWait(wait time.Duration) func(*collect.Options) {
	if wait == defaultReportWait {
		return nil
	}
	return func(co *collect.Options) {
		co.ReportPoll.Initial = max(wait, time.Millisecond)
		co.ReportPoll.Max = max(wait, 100*time.Millisecond)
		co.ReportPoll.Attempts = max(co.ReportPoll.Attempts, 50)
	}
}

// ouID matches the IDs --ou takes: an organizational unit or a root.
var ouID = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$`)

// checkScope refuses account selections that contradict themselves or
// select nothing, before any AWS call: a CI gate that audits nothing must
// not pass.
func checkScope(o *scopeOptions) error {
	for _, id := range append(append([]string(nil), o.Accounts...), o.ExcludeAccounts...) {
		if !inventory.IsAccountID(id) {
			return usageErrorf("%q is not a 12-digit AWS account ID", id)
		}
	}
	for _, id := range o.OUs {
		if !ouID.MatchString(id) {
			return usageErrorf("--ou %s: not an organizational unit or root ID (they look like ou-ab12-cd34ef56 or r-ab12)", id)
		}
	}
	if o.SingleAccount {
		for _, f := range []struct {
			name string
			v    []string
		}{{"--accounts", o.Accounts}, {"--ou", o.OUs}, {"--exclude-accounts", o.ExcludeAccounts}} {
			if len(f.v) > 0 {
				return usageErrorf("--single-account audits only the caller's own account; it cannot be combined with %s", f.name)
			}
		}
	}
	if len(o.Accounts) > 0 && len(o.OUs) == 0 {
		left := 0
		for _, id := range o.Accounts {
			if !slices.Contains(o.ExcludeAccounts, id) {
				left++
			}
		}
		if left == 0 {
			return usageErrorf("nothing to do: every account of --accounts is also in --exclude-accounts")
		}
	}
	return nil
}

// now returns the clock keyrot judges by. With --clock sandbox it is the
// sandbox's simulated time (read once from its control API, then kept
// running at the same offset), so sandbox demos and tests can move time.
func (g *globalOptions) now(ctx context.Context) (func() time.Time, error) {
	switch g.Clock {
	case "", "system":
		return time.Now, nil
	case "sandbox":
	default:
		return nil, usageErrorf("--clock must be system or sandbox (got %q)", g.Clock)
	}
	ep := g.AWS.EndpointURL
	if ep == "" {
		ep = os.Getenv("AWS_ENDPOINT_URL")
	}
	if ep == "" {
		return nil, usageErrorf("--clock sandbox needs the sandbox's endpoint (--endpoint-url or AWS_ENDPOINT_URL)")
	}
	st, err := sandboxclient.New(ep).Clock(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox clock at %s: %w", ep, err)
	}
	offset := time.Until(st.Now)
	return func() time.Time { return time.Now().Add(offset) }, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// warnf tells the person on stderr; a broken stderr is ignored.
func warnf(g *globalOptions, format string, args ...any) {
	_, _ = fmt.Fprintf(g.streams.Err, "keyrot: "+format+"\n", args...)
}

// outputError explains a failure to write the results to standard output:
// the run itself is complete, only its report is lost. recorded says
// whether the run is in the history (apply, rollback, rotate).
func outputError(err error, recorded bool) error {
	if err == nil {
		return nil
	}
	if recorded {
		return withCode(ExitError, fmt.Errorf("the run completed and is recorded in the history (keyrot history), but its results could not be written to standard output: %w", err))
	}
	return withCode(ExitError, fmt.Errorf("the results could not be written to standard output: %w", err))
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory and a rename, so a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyrot-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
