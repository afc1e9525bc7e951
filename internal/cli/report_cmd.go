package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/report"
)

type reportOptions struct {
	StateDir string
	Since    time.Duration
	Output   string
	OutFile  string
}

func newReportCmd(g *globalOptions) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report --since 30d",
		Short: "The periodic compliance report, from the history of audits and actions",
		Long: `Write the compliance report of the period that ends now and began --since ago, from the
local history alone (never AWS): compliance per CIS and Security Hub control at the start and
the end of the period, active keys older than 90 days over the period, the keys keyrot rotated
(from its actions journal), the exceptions in force with their reasons and expiries, and the
findings new and resolved since the last audit before the period (what the previous report
ended with). Every keyrot audit is recorded for it; run audits at least weekly.`,
		Example: `  keyrot report --since 30d -o html --out-file compliance-2026-11.html
  keyrot report --since 4w -o csv > compliance.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	durationVar(cmd, &o.Since, "since", 30*24*time.Hour, "length of the period, ending now")
	f.StringVarP(&o.Output, "output", "o", "markdown", "html, markdown or csv")
	f.StringVar(&o.OutFile, "out-file", "", "write the report to this file instead of stdout")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.StringVar(&g.AWS.EndpointURL, "endpoint-url", "", "the sandbox's endpoint, to read its clock with --clock sandbox")
	return cmd
}

func runReport(ctx context.Context, g *globalOptions, o *reportOptions) error {
	rend, err := report.ComplianceForFormat(o.Output)
	if err != nil {
		return usageErrorf("--output: %v", err)
	}
	if o.Since <= 0 {
		return usageErrorf("--since must be a positive duration such as 30d (got %s)", o.Since)
	}
	now, err := g.now(ctx)
	if err != nil {
		return err
	}
	h, path, err := openHistory(ctx, o.StateDir)
	if err != nil {
		return err
	}
	defer h.Close()
	a := &app.App{History: h, Logger: g.logger(), Now: now, Version: Version}
	c, err := a.ComplianceReport(ctx, app.ComplianceRequest{Since: o.Since})
	if err != nil {
		return err
	}
	if c.Audits == 0 {
		warnf(g, "warning: no audit is recorded in %s for the period; the report has no compliance figures (run keyrot audit)", path)
	}
	if o.OutFile == "" {
		return outputError(rend.RenderCompliance(g.streams.Out, c), false)
	}
	var buf bytes.Buffer
	if err := rend.RenderCompliance(&buf, c); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := writeFileAtomic(o.OutFile, buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// openHistory opens the history database of dir (or the default one) for
// a command that only reads it. A database that does not exist yet is
// created empty, as every command does.
func openHistory(ctx context.Context, dir string) (*history.Store, string, error) {
	path, err := historyPath(dir)
	if err != nil {
		return nil, "", err
	}
	h, err := history.Open(ctx, path)
	if errors.Is(err, history.ErrSchemaTooNew) {
		return nil, path, withCode(ExitError, fmt.Errorf("%w; upgrade keyrot", err))
	}
	if err != nil {
		return nil, path, err
	}
	return h, path, nil
}
