package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/report"
)

type auditOptions struct {
	scopeOptions
	StateDir string
	Output   string
	OutFile  string
	FailOn   string
	// Inventory lists every long-term credential instead of the findings.
	Inventory bool
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
2 bad flags or policy (or --accounts naming an account outside the organization), 4 AWS
authentication or permission denied, 1 other errors, and an audit that audited no account
(a gate that checks nothing must not pass).`,
		Example: `  keyrot audit                              # table on a terminal, JSON otherwise
  keyrot audit -o html --out-file audit.html
  keyrot audit --fail-on high -o sarif > keyrot.sarif   # gate a CI job
  keyrot audit --inventory -o csv > credentials.csv     # every long-term credential, its age and next due date`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAudit(cmd, g, o) },
	}
	addScopeFlags(cmd, &o.scopeOptions)
	addAWSFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "table, json, csv, markdown, html, sarif or asff (default: table on a terminal, json otherwise)")
	f.StringVar(&o.OutFile, "out-file", "", "write the report to this file instead of stdout")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database, where the audit is recorded (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.BoolVar(&o.Inventory, "inventory", false, "list every long-term credential (owner, age, last use, expiry, next due date) instead of the findings; -o table, json or csv")
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
	var rend report.Renderer
	var invRend report.InventoryRenderer
	var err error
	if o.Inventory {
		invRend, err = report.InventoryForFormat(format)
	} else {
		rend, err = report.ForFormat(format, report.Options{NoColor: !g.colorFor(g.streams.Out) || (o.OutFile != "" && g.Color != "always"), Region: g.AWS.Region})
	}
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
	if h := openAuditHistory(ctx, g, o.StateDir); h != nil {
		defer h.Close()
		a.History = h
	}
	res, err := a.Audit(ctx, app.AuditRequest{Scope: o.Scope})
	if err != nil {
		return err
	}
	scopeNotices(g, &o.scopeOptions, res.Snapshot)
	rep := &report.Report{Result: res.Result, ToolVersion: Version, StartedAt: res.Started, FinishedAt: res.Finished}
	if o.Inventory {
		creds := audit.Credentials(a.Policy, res.Snapshot, res.GeneratedAt)
		rend = inventoryRenderer{invRend, creds}
	}
	if err := writeReport(g.streams.Out, o.OutFile, rend, rep); err != nil {
		return err
	}
	return auditExit(res.Result, failOn)
}

// inventoryRenderer renders the inventory of creds as a report.Renderer,
// so writeReport writes it like any report.
type inventoryRenderer struct {
	r     report.InventoryRenderer
	creds []audit.Credential
}

func (i inventoryRenderer) Render(w io.Writer, rep *report.Report) error {
	return i.r.RenderInventory(w, rep, i.creds)
}

// openAuditHistory opens the history an audit is recorded in. An audit is
// read-only and its report is worth having without the record, so a store
// that cannot be opened is a warning on stderr and the audit goes on
// unrecorded (nil).
func openAuditHistory(ctx context.Context, g *globalOptions, dir string) *history.Store {
	path, err := historyPath(dir)
	if err == nil {
		var h *history.Store
		if h, err = history.Open(ctx, path); err == nil {
			return h
		}
	}
	warnf(g, "warning: this audit is not recorded in the history (trends, keyrot report and the status page will lack it): %v", err)
	return nil
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

// auditExit maps an audit result to its exit code: accounts named by
// --accounts that are not in the organization exit 2, an audit that audited
// no account fails (a CI gate that checks nothing must not pass), partial
// runs exit 5, findings at or above failOn exit 3.
func auditExit(res *audit.Result, failOn *audit.Severity) error {
	if err := notInOrganization(res.Snapshot); err != nil {
		return err
	}
	failed, audited := 0, 0
	if res.Snapshot != nil {
		for _, a := range res.Snapshot.Accounts {
			switch a.Status {
			case inventory.AccountFailed:
				failed++
			case inventory.AccountAudited:
				audited++
			}
		}
	}
	if audited == 0 && failed == 0 {
		return withCode(ExitError, errors.New("no account was audited: the selection (--accounts, --ou, --exclude-accounts) left none, or every account is suspended; the report is empty"))
	}
	if failed > 0 {
		return withCode(ExitPartial, fmt.Errorf("%s could not be audited (listed in the report)", countOf(failed, "account", "accounts")))
	}
	if failOn != nil {
		n := 0
		for _, f := range res.Findings {
			if !f.Exempt && f.Severity >= *failOn {
				n++
			}
		}
		if n > 0 {
			return withCode(ExitFindings, fmt.Errorf("%s at or above %s", countOf(n, "finding", "findings"), *failOn))
		}
	}
	return nil
}

// notInOrganization is the usage error for --accounts naming accounts that
// are not members of the organization: a typo, not a partial run.
func notInOrganization(snap *inventory.Snapshot) error {
	if snap == nil {
		return nil
	}
	var ids []string
	for _, a := range snap.Accounts {
		if a.Status == inventory.AccountFailed && strings.HasPrefix(a.Reason, "account is not in the organization") {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	org := "the organization"
	if snap.OrganizationID != "" {
		org = "organization " + snap.OrganizationID
	}
	return usageErrorf("--accounts: %s %s not in %s (keyrot audit -o json lists its accounts)",
		strings.Join(ids, ", "), plural(len(ids), "is", "are"), org)
}

// scopeNotices tells the person, on stderr, when keyrot audited something
// other than an organization they may have expected: the caller's account
// is in no organization, so only it was read.
func scopeNotices(g *globalOptions, o *scopeOptions, snap *inventory.Snapshot) {
	if snap == nil || o.SingleAccount || snap.OrganizationID != "" || len(snap.Accounts) != 1 {
		return
	}
	warnf(g, "notice: account %s is not in an AWS Organization (or Organizations is not in use), so only this account was read; pass --single-account to say so and silence this notice", snap.Accounts[0].ID)
}

// plural picks the singular or the plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// countOf writes n with the singular or plural noun: "1 finding", "2 findings".
func countOf(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}
