package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/serve"
)

// serveOptions are keyrot serve's flags and dependencies.
type serveOptions struct {
	ConfigFile string
	StateDir   string
	Listen     string
	ReportWait time.Duration
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run as a service: scheduled audits and applies, Prometheus metrics, health checks",
		Long: `Run keyrot as a long-running service. Audits and applies start on the cron schedules of
the serve section of keyrot.yaml (audit hourly, apply daily by default), each as keyrot audit and
keyrot apply --yes would run it, one run at a time per organization (a lease in the history
database: a second keyrot serve on the same database waits). One HTTP listener serves
/metrics (Prometheus), /healthz, /readyz, and POST /runs/audit and POST /runs/apply to start a
run now. Authentication (a bearer token or basic auth) is required unless it listens on loopback.

At start the configuration, the TLS files, the listen address, the history database and the
AWS identity are checked; each problem stops it with the file, field and fix. SIGHUP reloads
keyrot.yaml (a file with problems is rejected and the configuration in force kept); SIGTERM
lets the actions in flight finish (serve.drain_timeout) and exits 0. Logs are JSON at info
level unless --log-format and --log-level say otherwise. See docs/serve.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("log-format") {
				g.LogFormat = "json"
			}
			if !cmd.Flags().Changed("log-level") {
				g.LogLevel = "info"
			}
			return runServe(cmd.Context(), g, o)
		},
	}
	addAWSConnFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.ConfigFile, "config", "c", "", "keyrot.yaml, read again on SIGHUP (default: ./keyrot.yaml if present, else the built-in defaults)")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.StringVar(&o.Listen, "listen", "", "host:port to listen on (default: serve.listen, else 127.0.0.1:9090)")
	durationVar(cmd, &o.ReportWait, "report-wait", defaultReportWait, "first wait for a credential report to be generated (AWS takes seconds; emulators are instant)")
	return cmd
}

func runServe(ctx context.Context, g *globalOptions, o *serveOptions) error {
	if g.AWS.AttemptTimeout <= 0 {
		return usageErrorf("--call-timeout must be positive (got %s)", g.AWS.AttemptTimeout)
	}
	if o.ReportWait < 0 {
		return usageErrorf("--report-wait must not be negative")
	}
	log := g.logger()
	c, err := loadConfig(g, o.ConfigFile)
	if err != nil {
		return err
	}
	file := o.ConfigFile
	if file == "" {
		if _, err := os.Stat(policy.DefaultFile); err == nil {
			file = policy.DefaultFile
		}
	}
	path, err := historyPath(o.StateDir)
	if err != nil {
		return startExit(&serve.StartError{Kind: serve.ProblemStore, Where: "--state-dir", Err: fmt.Errorf("%w: name a directory with --state-dir or KEYROT_STATE_DIR", err)})
	}
	h, err := history.Open(ctx, path)
	if err != nil {
		return startExit(&serve.StartError{Kind: serve.ProblemStore, Where: "--state-dir",
			Err: fmt.Errorf("open the history database %s: %w: the directory must exist or be creatable, and be writable by keyrot (a volume in a container)", path, err)})
	}
	defer h.Close()
	metrics := serve.NewMetrics(Version)
	cfg, err := loadAWS(ctx, g, metrics)
	if err != nil {
		return err
	}
	now, err := g.now(ctx)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	srv, err := serve.New(serve.Options{
		ConfigFile: file, Config: c, Listen: o.Listen, Store: h, AWS: cfg, Metrics: metrics,
		Logger: log, Now: now, Host: host, Version: Version,
		Configure: func(a *app.App) {
			a.CollectOptions = reportWait(o.ReportWait)
			if g.Clock == "sandbox" {
				// The sandbox's clock is read again for each run, so that
				// moving it (tests, demos) moves the service too.
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if n, err := g.now(cctx); err == nil {
					a.Now = n
				} else {
					log.Warn("read the sandbox clock", "err", err.Error())
				}
			}
		},
	})
	if err != nil {
		return startExit(err)
	}
	id, err := serve.CheckIdentity(ctx, cfg)
	if err != nil {
		return startExit(err)
	}
	log.Info("starting", "version", Version, "account", id.Account, "arn", id.ARN, "history", path)
	return srv.Run(ctx)
}

// startExit gives a start-up problem its exit code: 2 for the
// configuration, 4 for AWS credentials refused, 1 otherwise.
func startExit(err error) error {
	var se *serve.StartError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Kind {
	case serve.ProblemConfig:
		return withCode(ExitUsage, err)
	case serve.ProblemAWS:
		return withCode(exitCodeFor(se.Err), err)
	}
	return withCode(ExitError, err)
}
