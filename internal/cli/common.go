package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
	"github.com/keyrot/keyrot/internal/service"
)

// scopeOptions are the account-selection flags shared by audit, plan and apply.
type scopeOptions struct {
	ConfigFile string
	service.Scope
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
	f.DurationVar(&o.ReportWait, "report-wait", 2*time.Second, "first wait for a credential report to be generated (AWS takes seconds; emulators are instant)")
	f.StringVar(&o.Progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, lines otherwise), plain or none")
}

// loadPolicy loads keyrot.yaml, the policy and its notify section, from the
// file named by -c, else ./keyrot.yaml if it exists, else the defaults.
// Problems exit 2 with every problem listed.
func loadPolicy(g *globalOptions, file string) (*config.Config, error) {
	path := file
	if path == "" {
		if _, err := os.Stat(policy.DefaultFile); err != nil {
			return config.Default(), nil
		}
		path = policy.DefaultFile
	}
	c, err := config.Load(path)
	if err == nil {
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

// loadAWS loads the SDK configuration from the global flags.
func loadAWS(ctx context.Context, g *globalOptions) (aws.Config, error) {
	return awsconf.Load(ctx, g.AWS)
}

// runner builds a service.Runner for a command from the loaded keyrot.yaml.
func runner(g *globalOptions, c *config.Config, cfg aws.Config, o *scopeOptions) (*service.Runner, error) {
	if o.Concurrency < 0 || o.Concurrency > 64 {
		return nil, usageErrorf("--concurrency must be between 1 and 64")
	}
	for _, id := range append(append([]string(nil), o.Accounts...), o.ExcludeAccounts...) {
		if !isAccountID(id) {
			return nil, usageErrorf("%q is not a 12-digit AWS account ID", id)
		}
	}
	prog, err := progressFunc(g.streams.Err, o.Progress)
	if err != nil {
		return nil, err
	}
	if o.ReportWait < 0 {
		return nil, usageErrorf("--report-wait must not be negative")
	}
	now, err := g.now(context.Background())
	if err != nil {
		return nil, err
	}
	r := &service.Runner{Policy: c.Policy, NotifyConfig: c.Notify, AWS: cfg, Scope: o.Scope, Progress: prog, Logger: g.logger(), Now: now}
	if o.ReportWait != 2*time.Second {
		wait := o.ReportWait
		r.CollectOptions = func(co *collect.Options) {
			co.ReportPoll.Initial = max(wait, time.Millisecond)
			co.ReportPoll.Max = max(wait, 100*time.Millisecond)
			co.ReportPoll.Attempts = max(co.ReportPoll.Attempts, 50)
		}
	}
	return r, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

// progressFunc returns the progress reporter for mode: a redrawn bar on a
// terminal, plain lines otherwise.
func progressFunc(w io.Writer, mode string) (func(done, total int, account string), error) {
	switch mode {
	case "none":
		return nil, nil
	case "plain":
	case "auto":
		if isTerminal(w) {
			start := time.Now()
			return func(done, total int, account string) {
				const width = 30
				n := width * done / max(total, 1)
				fmt.Fprintf(w, "\r[%s%s] %d/%d accounts  %s  %s", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total, account, time.Since(start).Round(time.Second))
				if done == total {
					fmt.Fprintln(w)
				}
			}, nil
		}
	default:
		return nil, usageErrorf("--progress must be auto, plain or none (got %q)", mode)
	}
	return func(done, total int, account string) {
		fmt.Fprintf(w, "keyrot: collected %d/%d accounts (%s)\n", done, total, account)
	}, nil
}
