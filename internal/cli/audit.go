package cli

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/report"
)

type auditOptions struct {
	scopeOptions
	Output  string
	OutFile string
	FailOn  string
}

func newAuditCmd(g *globalOptions) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inventory every long-term credential of the organization and report what breaks policy",
		Long: `Inventory every account of the AWS Organization (or one account with --single-account):
IAM users, access keys, console passwords, MFA devices and root credentials, judged against
the policy (keyrot.yaml, or the built-in CIS defaults). Findings carry CIS AWS Foundations
and Security Hub control IDs.

Exit codes: 0 clean, 3 findings at or above --fail-on, 5 some accounts could not be audited,
2 bad flags or policy, 4 AWS authentication or permission denied, 1 other errors.`,
		Example: `  keyrot audit                              # table on a terminal, JSON otherwise
  keyrot audit -o html --out-file audit.html
  keyrot audit --fail-on high -o sarif > keyrot.sarif   # gate a CI job`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAudit(cmd, g, o) },
	}
	addScopeFlags(cmd, &o.scopeOptions)
	addAWSFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "table, json, csv, markdown, html, sarif or asff (default: table on a terminal, json otherwise)")
	f.StringVar(&o.OutFile, "out-file", "", "write the report to this file instead of stdout")
	f.StringVar(&o.FailOn, "fail-on", "", "exit 3 when a non-exempt finding is at or above this severity (info, low, medium, high, critical)")
	return cmd
}

func runAudit(cmd *cobra.Command, g *globalOptions, o *auditOptions) error {
	format := o.Output
	if format == "" {
		format = "json"
		if o.OutFile == "" && isTerminal(g.streams.Out) {
			format = "table"
		}
	}
	rend, err := report.ForFormat(format, report.Options{NoColor: g.NoColor || !isTerminal(g.streams.Out), Region: g.AWS.Region})
	if err != nil {
		return withCode(ExitUsage, err)
	}
	var failOn *audit.Severity
	if o.FailOn != "" {
		s, err := audit.ParseSeverity(o.FailOn)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("--fail-on: %w", err))
		}
		failOn = &s
	}
	ctx, cancel, err := g.withDeadline(cmd.Context())
	if err != nil {
		return err
	}
	defer cancel()
	a, err := newApp(ctx, g, &o.scopeOptions)
	if err != nil {
		return err
	}
	res, err := a.Audit(ctx, app.AuditRequest{Scope: o.Scope})
	if err != nil {
		return err
	}
	rep := &report.Report{Result: res.Result, ToolVersion: Version, StartedAt: res.Started, FinishedAt: res.Finished}
	if err := writeReport(g.streams.Out, o.OutFile, rend, rep); err != nil {
		return err
	}
	return auditExit(res.Result, failOn)
}

// writeReport renders to the file (atomically: temp file then rename) or to w.
func writeReport(w io.Writer, file string, rend report.Renderer, rep *report.Report) error {
	if file == "" {
		return outputError(rend.Render(w, rep), false)
	}
	var buf bytes.Buffer
	if err := rend.Render(&buf, rep); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := writeFileAtomic(file, buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// auditExit maps an audit result to its exit code: partial runs exit 5,
// findings at or above failOn exit 3.
func auditExit(res *audit.Result, failOn *audit.Severity) error {
	failed := 0
	if res.Snapshot != nil {
		for _, a := range res.Snapshot.Accounts {
			if a.Status == inventory.AccountFailed {
				failed++
			}
		}
	}
	if failed > 0 {
		return withCode(ExitPartial, fmt.Errorf("%d account(s) could not be audited (listed in the report)", failed))
	}
	if failOn != nil {
		n := 0
		for _, f := range res.Findings {
			if !f.Exempt && f.Severity >= *failOn {
				n++
			}
		}
		if n > 0 {
			return withCode(ExitFindings, fmt.Errorf("%d finding(s) at or above %s", n, *failOn))
		}
	}
	return nil
}
