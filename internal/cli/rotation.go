package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/service"
)

// planFileVersion is the schema version of saved plans.
const planFileVersion = 1

// planFile is a saved plan (keyrot plan -o json --out-file).
type planFile struct {
	SchemaVersion int        `json:"schema_version"`
	Plan          *plan.Plan `json:"plan"`
}

type rotationOptions struct {
	scopeOptions
	Output     string
	OutFile    string
	StateDir   string
	MaxChanges int
}

func addRotationFlags(cmd *cobra.Command, g *globalOptions, o *rotationOptions) {
	addScopeFlags(cmd, &o.scopeOptions)
	addAWSFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "table", "table or json")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.IntVar(&o.MaxChanges, "max-changes", 0, "at most this many changes in this run (default: policy rotation.max_changes)")
}

func newPlanCmd(g *globalOptions) *cobra.Command {
	o := &rotationOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change, with reasons and dates; changes nothing",
		Long: `Compute the rotation plan: keys to create (rotation due), to deactivate (replaced and gone
quiet, or unused), to delete (inactive long enough), items blocked for a human, items held back
by the guardrails, and the deadlines ahead. Nothing is changed. Save it with -o json --out-file
plan.json and run exactly that plan later with keyrot apply --plan-file plan.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd.Context(), g, o) },
	}
	addRotationFlags(cmd, g, o)
	cmd.Flags().StringVar(&o.OutFile, "out-file", "", "write the plan to this file (JSON) for apply --plan-file")
	return cmd
}

// setup loads policy, AWS configuration and history for a rotation command.
func setupRotation(ctx context.Context, g *globalOptions, o *rotationOptions) (*service.Runner, *history.Store, error) {
	if o.Output != "table" && o.Output != "json" {
		return nil, nil, usageErrorf("--output must be table or json (got %q)", o.Output)
	}
	if o.MaxChanges < 0 || o.MaxChanges == 1 {
		return nil, nil, usageErrorf("--max-changes must be at least 2: one user's rotation can be two changes, delete then create (got %d)", o.MaxChanges)
	}
	pol, err := loadPolicy(g, o.ConfigFile)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := loadAWS(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	r, err := runner(g, pol, cfg, &o.scopeOptions)
	if err != nil {
		return nil, nil, err
	}
	r.MaxChanges = o.MaxChanges
	path, err := historyPath(o.StateDir)
	if err != nil {
		return nil, nil, err
	}
	h, err := history.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return r, h, nil
}

func newExecutor(g *globalOptions, r *service.Runner, h *history.Store, runID int64) *execute.Executor {
	host, _ := os.Hostname()
	return &execute.Executor{Clients: r.NewClients(), History: h, RunID: runID, Owner: fmt.Sprintf("run-%d@%s", runID, host), Logger: g.logger(), Now: r.Now}
}

func runPlan(ctx context.Context, g *globalOptions, o *rotationOptions) error {
	r, h, err := setupRotation(ctx, g, o)
	if err != nil {
		return err
	}
	defer h.Close()
	rp, err := r.PlanRotation(ctx, newExecutor(g, r, h, 0), false)
	if err != nil {
		return err
	}
	if o.OutFile != "" {
		b, _ := json.MarshalIndent(planFile{SchemaVersion: planFileVersion, Plan: rp.Plan}, "", "  ")
		if err := os.WriteFile(o.OutFile, append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		fmt.Fprintf(g.streams.Err, "keyrot: plan written to %s (%d actions)\n", o.OutFile, len(rp.Plan.Actions))
	}
	if err := printPlan(g.streams.Out, o.Output, rp.Plan); err != nil {
		return err
	}
	return partialError(rp.Snapshot)
}

func printPlan(w io.Writer, format string, p *plan.Plan) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(planFile{SchemaVersion: planFileVersion, Plan: p})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, as []plan.Action, note func(plan.Action) string) {
		fmt.Fprintf(tw, "\n%s (%d)\n", title, len(as))
		if len(as) == 0 {
			return
		}
		fmt.Fprintln(tw, "ACTION\tACCOUNT\tUSER\tKEY\tDUE\tWHY")
		for _, a := range as {
			due := ""
			if !a.Due.IsZero() {
				due = a.Due.UTC().Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Kind, a.AccountID, a.User, maskKey(a.KeyID), due, note(a))
		}
	}
	fmt.Fprintf(tw, "keyrot plan, %s\n", p.GeneratedAt.UTC().Format(time.RFC3339))
	section("Changes", p.Actions, func(a plan.Action) string { return a.Reason })
	section("Held back by guardrails", p.Deferred, func(a plan.Action) string { return a.Deferred + "; " + a.Reason })
	section("Blocked: needs a human", p.Blocked, func(a plan.Action) string { return a.Reason })
	fmt.Fprintf(tw, "\nUpcoming (%d)\n", len(p.Upcoming))
	if len(p.Upcoming) > 0 {
		fmt.Fprintln(tw, "DUE\tACTION\tACCOUNT\tUSER\tKEY")
		for _, u := range p.Upcoming {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Due.UTC().Format("2006-01-02"), u.Kind, u.AccountID, u.User, maskKey(u.KeyID))
		}
	}
	return tw.Flush()
}

func maskKey(id string) string {
	if id == "" {
		return "-"
	}
	return inventory.MaskKeyID(id)
}

// partialError is exit 5 when some accounts could not be read.
func partialError(snap *inventory.Snapshot) error {
	var failed []string
	for _, a := range snap.Accounts {
		if a.Status == inventory.AccountFailed {
			failed = append(failed, a.ID+" ("+a.Reason+")")
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return withCode(ExitPartial, fmt.Errorf("%d account(s) could not be read: %s", len(failed), strings.Join(failed, "; ")))
}

type applyOptions struct {
	rotationOptions
	Yes          bool
	DryRun       bool
	AuditOnly    bool
	PlanFile     string
	PlanMaxAge   time.Duration
	AllowPartial bool
}

func newApplyCmd(g *globalOptions) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Carry out the rotation plan: create, store and verify new keys; deactivate and delete old ones",
		Long: `Compute the plan (or read one saved by keyrot plan --out-file) and carry it out, account by
account under a lease in the history database. Every change is checked live just before it is
made: the user's keys must still be as planned, an old key is deactivated only if it has not
been used since its replacement was stored, and a new key is announced only once it has been
proven to authenticate. Asks for confirmation on a terminal unless --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd.Context(), g, o) },
	}
	addRotationFlags(cmd, g, &o.rotationOptions)
	f := cmd.Flags()
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.DryRun, "dry-run", false, "change nothing and make no write call; report what would be done")
	f.BoolVar(&o.AuditOnly, "audit-only", false, "check every live gate but change nothing (also policy rotation.mode: audit-only)")
	f.StringVar(&o.PlanFile, "plan-file", "", "run this saved plan, if the accounts still match it")
	f.DurationVar(&o.PlanMaxAge, "plan-max-age", 24*time.Hour, "refuse a saved plan older than this")
	f.BoolVar(&o.AllowPartial, "allow-partial", false, "act on the accounts that could be read even when others could not")
	return cmd
}

func runApply(ctx context.Context, g *globalOptions, o *applyOptions) error {
	r, h, err := setupRotation(ctx, g, &o.rotationOptions)
	if err != nil {
		return err
	}
	defer h.Close()
	auditOnly := o.AuditOnly || r.Policy.Rotation.Mode == policy.ModeAuditOnly
	mode := history.ModeEnforce
	switch {
	case o.DryRun:
		mode = history.ModeDryRun
	case auditOnly:
		mode = history.ModeAuditOnly
	}
	host, _ := os.Hostname()
	runID, err := h.StartRun(ctx, history.Run{Command: "apply", Mode: mode, Host: host, Version: Version, Started: r.Now()})
	if err != nil {
		return err
	}
	ex := newExecutor(g, r, h, runID)
	status, summary := history.RunFailed, ""
	defer func() {
		if ctx.Err() != nil && status == history.RunFailed {
			status = history.RunInterrupted
		}
		_ = h.FinishRun(context.WithoutCancel(ctx), runID, status, summary, r.Now())
	}()

	// The plan is made read-only: nothing is written before the run is
	// confirmed and found complete.
	writable := !o.DryRun && !auditOnly
	rp, err := r.PlanRotation(ctx, ex, false)
	if err != nil {
		return err
	}
	p := rp.Plan
	if o.PlanFile != "" {
		if p, err = readPlanFile(o.PlanFile, rp.Plan, r.Now(), o.PlanMaxAge); err != nil {
			return err
		}
		// The guardrails in force now apply to a saved plan too.
		limits := plan.Limits{MaxChanges: r.Policy.Rotation.MaxChanges, MaxChangesPerAccount: r.Policy.Rotation.MaxChangesPerAccount}
		if o.MaxChanges > 0 {
			limits.MaxChanges = o.MaxChanges
		}
		var deferred []plan.Action
		p.Actions, deferred = plan.ApplyLimits(p.Actions, limits)
		p.Deferred = append(p.Deferred, deferred...)
	}
	if perr := partialError(rp.Snapshot); perr != nil && !o.AllowPartial {
		summary = "refused: partial organization listing"
		return withCode(ExitPartial, fmt.Errorf("refusing to act: the organization listing looks partial (%v); fix access or pass --allow-partial", perr))
	}
	fmt.Fprintf(g.streams.Err, "keyrot: %d change(s) planned, %d held back by guardrails, %d blocked\n", len(p.Actions), len(p.Deferred), len(p.Blocked))
	if len(p.Actions) > 0 && writable && !o.Yes {
		if err := confirm(g, p); err != nil {
			summary = "not confirmed"
			return err
		}
	}
	if writable {
		// Record first-seen inactive keys (their deletion window starts
		// now) and repair interrupted stores' tags, now that acting is agreed.
		if _, err := ex.Gather(ctx, rp.Snapshot, execute.GatherOptions{RotateAfter: time.Duration(r.Policy.AccessKeys.RotateAfter)}); err != nil {
			return fmt.Errorf("record rotation state: %w", err)
		}
	}
	res, aerr := ex.Apply(ctx, p, execute.Options{DryRun: o.DryRun, AuditOnly: auditOnly})
	if res != nil {
		if err := printOutcomes(g.streams.Out, o.Output, res); err != nil {
			return err
		}
		summary = fmt.Sprintf("%d succeeded, %d blocked, %d skipped, %d failed", res.Count(execute.Succeeded), res.Count(execute.Blocked), res.Count(execute.Skipped), res.Count(execute.Failed))
	}
	if !o.DryRun && res != nil {
		executed := *rp
		executed.Plan = p
		items := r.NoticeItems(&executed, res, r.Now())
		sum, nerr := r.Notify(context.WithoutCancel(ctx), h, runID, items, auditOnly, g.logger())
		switch {
		case nerr != nil:
			fmt.Fprintf(g.streams.Err, "keyrot: notifications not sent: %v\n", nerr)
			summary += "; notifications not sent"
		case sum.Digests > 0 || len(sum.Failed()) > 0:
			fmt.Fprintf(g.streams.Err, "keyrot: %d notice digest(s) sent, %d delivery failure(s), %d notice(s) already sent before\n", sum.Digests, len(sum.Failed()), sum.Suppressed)
			summary += fmt.Sprintf("; %d digests sent, %d failed", sum.Digests, len(sum.Failed()))
		}
	}
	if aerr != nil {
		return aerr
	}
	if err := ctx.Err(); err != nil {
		status = history.RunInterrupted
		return withCode(ExitInterrupted, fmt.Errorf("interrupted: the actions in flight were finished, the rest were not started: %w", err))
	}
	status = history.RunSucceeded
	return partialError(rp.Snapshot)
}

// readPlanFile loads a saved plan and checks it is recent and its accounts
// are still there.
func readPlanFile(path string, current *plan.Plan, now time.Time, maxAge time.Duration) (*plan.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, withCode(ExitUsage, fmt.Errorf("read plan file: %w", err))
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, usageErrorf("%s is not a keyrot plan file (keyrot plan -o json --out-file): %v", path, err)
	}
	if pf.Plan == nil {
		return nil, usageErrorf("%s is not a keyrot plan file (keyrot plan -o json --out-file): it holds no plan", path)
	}
	if pf.SchemaVersion != planFileVersion {
		return nil, usageErrorf("%s: plan schema version %d, this keyrot reads %d", path, pf.SchemaVersion, planFileVersion)
	}
	if age := now.Sub(pf.Plan.GeneratedAt); maxAge > 0 && age > maxAge {
		return nil, usageErrorf("%s was made %s ago, more than --plan-max-age %s: make a new plan", path, age.Round(time.Minute), maxAge)
	}
	readable := map[string]bool{}
	for _, a := range current.Accounts {
		readable[a] = true
	}
	for _, a := range pf.Plan.Accounts {
		if !readable[a] {
			return nil, usageErrorf("%s no longer matches the organization: account %s is not readable now; make a new plan", path, a)
		}
	}
	return pf.Plan, nil
}

// confirm asks on a terminal; without one it refuses, so that unattended
// runs must say --yes.
func confirm(g *globalOptions, p *plan.Plan) error {
	if !isTerminal(g.streams.Err) || !isTerminalReader(g.streams.In) {
		return usageErrorf("refusing to change %d key(s) without confirmation: run keyrot plan to review, then apply --yes", len(p.Actions))
	}
	_ = printPlan(g.streams.Err, "table", p)
	fmt.Fprintf(g.streams.Err, "\nApply %d change(s)? Type yes to continue: ", len(p.Actions))
	line, _ := bufio.NewReader(g.streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return withCode(ExitError, errors.New("not confirmed; nothing changed"))
	}
	return nil
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

func printOutcomes(w io.Writer, format string, res *execute.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tACTION\tACCOUNT\tUSER\tKEY\tNEW KEY\tDETAIL")
	for _, o := range res.Outcomes {
		st := string(o.Status)
		if o.WouldDo {
			st = "would-do"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st, o.Kind, o.AccountID, o.User, maskKey(o.KeyID), maskKey(o.NewKeyID), o.Detail)
	}
	return tw.Flush()
}

type manualOptions struct {
	rotationOptions
	Account     string
	User        string
	Now         bool
	Compromised bool
	Yes         bool
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	o := &manualOptions{}
	cmd := &cobra.Command{
		Use:   "rollback --account ACCOUNT --user USER",
		Short: "Re-activate the old key keyrot deactivated (while it still exists)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runManual(cmd.Context(), g, o, "rollback")
		},
	}
	addManualFlags(cmd, g, o)
	return cmd
}

func newRotateCmd(g *globalOptions) *cobra.Command {
	o := &manualOptions{}
	cmd := &cobra.Command{
		Use:   "rotate --now --account ACCOUNT --user USER [--compromised]",
		Short: "Emergency rotation of one user's key, now",
		Long: `Rotate one user's active key now, whatever its age: create, store and verify a new key.
With --compromised the old key is deactivated as soon as the new one is verified, and the new
secret is not readable with the old key (the user is granted read only after the old key is off).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.Now {
				return usageErrorf("keyrot rotate needs --now (scheduled rotation is keyrot apply)")
			}
			return runManual(cmd.Context(), g, o, "rotate")
		},
	}
	addManualFlags(cmd, g, o)
	cmd.Flags().BoolVar(&o.Now, "now", false, "rotate now")
	cmd.Flags().BoolVar(&o.Compromised, "compromised", false, "the old key is compromised: deactivate it at once, keep the new secret from it")
	return cmd
}

func addManualFlags(cmd *cobra.Command, g *globalOptions, o *manualOptions) {
	addAWSFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.ConfigFile, "config", "c", "", "policy file (default: ./keyrot.yaml if present, else the built-in defaults)")
	f.StringVar(&o.Account, "account", "", "account ID (required)")
	f.StringVar(&o.User, "user", "", "IAM user name (required)")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database")
	f.StringVar(&o.RoleName, "role-name", "", "role to assume in the account (default: policy organization.role_name)")
	f.StringVar(&o.ExternalID, "external-id", "", "external ID for the role")
	f.StringVarP(&o.Output, "output", "o", "table", "table or json")
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	o.Progress = "none"
}

func runManual(ctx context.Context, g *globalOptions, o *manualOptions, command string) error {
	if !isAccountID(o.Account) || o.User == "" {
		return usageErrorf("--account (12 digits) and --user are required")
	}
	r, h, err := setupRotation(ctx, g, &o.rotationOptions)
	if err != nil {
		return err
	}
	defer h.Close()
	if !o.Yes {
		if !isTerminal(g.streams.Err) || !isTerminalReader(g.streams.In) {
			return usageErrorf("refusing to %s %s/%s without confirmation: pass --yes", command, o.Account, o.User)
		}
		fmt.Fprintf(g.streams.Err, "%s the access key of %s in %s? Type yes to continue: ", command, o.User, o.Account)
		line, _ := bufio.NewReader(g.streams.In).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			return withCode(ExitError, errors.New("not confirmed; nothing changed"))
		}
	}
	host, _ := os.Hostname()
	runID, err := h.StartRun(ctx, history.Run{Command: command, Mode: history.ModeEnforce, Host: host, Version: Version, Started: r.Now()})
	if err != nil {
		return err
	}
	ex := newExecutor(g, r, h, runID)
	var out execute.Outcome
	if command == "rollback" {
		out, err = ex.Rollback(ctx, o.Account, o.User, execute.Options{})
	} else {
		out, err = ex.RotateNow(ctx, o.Account, o.User, execute.RotateNowRequest{Compromised: o.Compromised}, execute.Options{})
	}
	status := history.RunSucceeded
	if err != nil || out.Status == execute.Failed {
		status = history.RunFailed
	}
	_ = h.FinishRun(context.WithoutCancel(ctx), runID, status, fmt.Sprintf("%s %s/%s: %s", command, o.Account, o.User, out.Status), r.Now())
	if perr := printOutcomes(g.streams.Out, o.Output, &execute.Result{Outcomes: []execute.Outcome{out}}); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if out.Status != execute.Succeeded {
		return withCode(ExitError, fmt.Errorf("%s %s/%s: %s: %s", command, o.Account, o.User, out.Status, out.Detail))
	}
	return nil
}
