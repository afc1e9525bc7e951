package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/report"
	"github.com/keyrot/keyrot/internal/selfrotate"
)

type rotationOptions struct {
	scopeOptions
	Output     string
	OutFile    string
	StateDir   string
	MaxChanges int
	// DetailedExitcode (plan) exits ExitChangesPending when changes are pending.
	DetailedExitcode bool
}

func addRotationFlags(cmd *cobra.Command, g *globalOptions, o *rotationOptions) {
	addScopeFlags(cmd, &o.scopeOptions)
	addAWSFlags(cmd, g)
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "table", "table or json")
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.IntVar(&o.MaxChanges, "max-changes", 0, "at most this many changes in this run, at least 2 (default: policy rotation.max_changes)")
	cmd.PreRunE = func(c *cobra.Command, _ []string) error {
		if c.Flags().Changed("max-changes") && o.MaxChanges < 2 {
			return usageErrorf("--max-changes must be at least 2: one user's rotation can be two changes, delete then create (got %d)", o.MaxChanges)
		}
		return nil
	}
}

func newPlanCmd(g *globalOptions) *cobra.Command {
	o := &rotationOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change, with reasons and dates; changes nothing",
		Long: `Compute the rotation plan: keys to create (rotation due), to deactivate (replaced and gone
quiet, or unused), to delete (inactive long enough), items blocked for a human, items held back
by the guardrails, and the deadlines ahead. Nothing is changed. Save it with -o json --out-file
plan.json and run exactly that plan later with keyrot apply --plan-file plan.json.

With --detailed-exitcode (as terraform plan's) a script can tell whether anything is to do:
0 nothing to change, 10 changes pending; errors keep their own codes (2 usage, 4 AWS auth,
5 some accounts could not be read, 1 other).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd.Context(), g, o) },
	}
	addRotationFlags(cmd, g, o)
	cmd.Flags().StringVar(&o.OutFile, "out-file", "", "write the plan to this file (JSON) for apply --plan-file")
	cmd.Flags().BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing is to change and 10 when changes are pending (to make now or held back by guardrails); errors keep their codes")
	return cmd
}

// setupRotation checks a rotation command's flags and builds its App with
// the history store open; the caller closes the store.
func setupRotation(ctx context.Context, g *globalOptions, o *rotationOptions) (*app.App, *history.Store, error) {
	if o.Output != "table" && o.Output != "json" {
		return nil, nil, usageErrorf("--output must be table or json (got %q)", o.Output)
	}
	if o.MaxChanges < 0 || o.MaxChanges == 1 {
		return nil, nil, usageErrorf("--max-changes must be at least 2: one user's rotation can be two changes, delete then create (got %d)", o.MaxChanges)
	}
	a, err := newApp(ctx, g, &o.scopeOptions)
	if err != nil {
		return nil, nil, err
	}
	path, err := historyPath(o.StateDir)
	if err != nil {
		return nil, nil, err
	}
	h, err := history.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	a.History = h
	return a, h, nil
}

func runPlan(ctx context.Context, g *globalOptions, o *rotationOptions) error {
	ctx, cancel, err := g.withDeadline(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	a, h, err := setupRotation(ctx, g, o)
	if err != nil {
		return err
	}
	defer h.Close()
	rp, err := a.Plan(ctx, app.PlanRequest{Scope: o.Scope, MaxChanges: o.MaxChanges})
	if err != nil {
		return err
	}
	if o.OutFile != "" {
		b, err := plan.Encode(rp.Plan)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(o.OutFile, b); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		warnf(g, "plan written to %s (%d actions)", o.OutFile, len(rp.Plan.Actions))
	}
	scopeNotices(g, &o.scopeOptions, rp.Snapshot)
	werr := report.Plan(g.streams.Out, o.Output, rp.Plan)
	if err := errors.Join(notInOrganization(rp.Snapshot), app.Partial(rp.Snapshot), outputError(werr, false)); err != nil {
		return err
	}
	return pendingExit(o, rp.Plan)
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
proven to authenticate. Asks for confirmation on a terminal unless --yes.

The outcome table is printed when the run is over; owners are told, and the run is recorded,
even when standard output is closed early (keyrot apply --yes | head -1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd.Context(), g, o) },
	}
	addRotationFlags(cmd, g, &o.rotationOptions)
	f := cmd.Flags()
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.DryRun, "dry-run", false, "change nothing and make no write call; report what would be done")
	f.BoolVar(&o.AuditOnly, "audit-only", false, "check every live gate but change nothing (also policy rotation.mode: audit-only)")
	f.StringVar(&o.PlanFile, "plan-file", "", "run this saved plan, if the accounts still match it")
	durationVar(cmd, &o.PlanMaxAge, "plan-max-age", 24*time.Hour, "refuse a saved plan older than this")
	f.BoolVar(&o.AllowPartial, "allow-partial", false, "act on the accounts that could be read even when others could not")
	return cmd
}

func runApply(ctx context.Context, g *globalOptions, o *applyOptions) error {
	ctx, cancel, err := g.withDeadline(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	req := app.ApplyRequest{Scope: o.Scope, MaxChanges: o.MaxChanges, DryRun: o.DryRun, AuditOnly: o.AuditOnly,
		PlanMaxAge: o.PlanMaxAge, AllowPartial: o.AllowPartial}
	if o.PlanFile != "" {
		b, err := os.ReadFile(o.PlanFile)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("read plan file: %w", err))
		}
		if req.SavedPlan, err = plan.Decode(b); err != nil {
			return usageErrorf("%s %v", o.PlanFile, err)
		}
	}
	a, h, err := setupRotation(ctx, g, &o.rotationOptions)
	if err != nil {
		return err
	}
	defer h.Close()
	if !o.Yes {
		req.Confirm = func(_ context.Context, p *plan.Plan) error { return confirm(g, p) }
	}
	res, err := a.Apply(ctx, req)
	if res == nil {
		return err
	}
	for _, w := range res.Warnings {
		warnf(g, "warning: %s", w)
	}
	var werr error
	if res.Result != nil {
		// Rendered once the run is over: a closed pipe cannot cut it short.
		info := report.RunInfo{RunID: res.RunID}
		if res.Plan != nil {
			info.Plan = res.Plan.Plan
		}
		werr = report.RunOutcomes(g.streams.Out, o.Output, info, res.Result.Outcomes)
	}
	if res.Plan != nil && res.Result == nil && err == nil {
		werr = report.Plan(g.streams.Out, o.Output, res.Plan.Plan)
	}
	switch {
	case res.NotifyErr != nil:
		warnf(g, "notifications not sent: %v", res.NotifyErr)
	case res.Notify != nil && (res.Notify.Digests > 0 || len(res.Notify.Failed()) > 0):
		warnf(g, "%s sent, %s, %s already sent before", countOf(res.Notify.Digests, "notice digest", "notice digests"),
			countOf(len(res.Notify.Failed()), "delivery failure", "delivery failures"), countOf(res.Notify.Suppressed, "notice", "notices"))
	}
	if len(res.Recovered) > 0 {
		warnf(g, "sent the notices owed by %d earlier run(s) that ended before notifying (runs %v)", len(res.Recovered), res.Recovered)
	}
	if res.Plan != nil && res.Result != nil {
		p := res.Plan.Plan
		held, left := 0, 0
		for _, a := range p.Deferred {
			if a.Deferred == plan.NotInSavedPlan {
				left++
			} else {
				held++
			}
		}
		savedText := ""
		if req.SavedPlan != nil {
			savedText = fmt.Sprintf(", %d left out by the saved plan", left)
		}
		// The summary repeats the warnings printed just above: not twice.
		summary := res.Summary
		for _, w := range res.Warnings {
			summary = strings.ReplaceAll(summary, "; warning: "+w, "")
		}
		warnf(g, "run %d: %s planned, %d held back by guardrails%s, %d blocked; %s", res.RunID, countOf(len(p.Actions), "change", "changes"), held, savedText, len(p.Blocked), summary)
	}
	return errors.Join(err, outputError(werr, true))
}

// confirm asks on a terminal; without one it refuses, so that unattended
// runs must say --yes.
func confirm(g *globalOptions, p *plan.Plan) error {
	if !isTerminal(g.streams.Err) || !isTerminalReader(g.streams.In) {
		return usageErrorf("refusing to change %d key(s) without confirmation: run keyrot plan to review, then apply --yes", len(p.Actions))
	}
	_ = report.Plan(g.streams.Err, "table", p)
	fmt.Fprintln(g.streams.Err)
	if !askYes(g, fmt.Sprintf("Apply %d %s?", len(p.Actions), plural(len(p.Actions), "change", "changes"))) {
		return app.ErrNotConfirmed
	}
	return nil
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

type manualOptions struct {
	rotationOptions
	Account     string
	User        string
	KeyID       string
	Now         bool
	Compromised bool
	Yes         bool
	// rollback --console
	Console bool
	// Service (rollback): the service-specific credential's service.
	Service string
	// rotate --self
	Self         bool
	Force        bool
	DeleteOld    bool
	SwitchWindow time.Duration
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	o := &manualOptions{}
	cmd := &cobra.Command{
		Use:   "rollback --account ACCOUNT --user USER [--console | --service codecommit|keyspaces|bedrock]",
		Short: "Re-activate the old key keyrot deactivated (while it still exists), or restore console access or a service credential",
		Long: `Re-activate the key keyrot itself deactivated for the user, while it still exists, and hold
further deactivation of it until a new rotation. A key that was already inactive when keyrot
first met it is refused: keyrot did not deactivate it.

With --console, restore the console access keyrot disabled for the user: a new random password
that meets the account's password policy, to be changed at the first sign-in, stored in Secrets
Manager (the secret named in the output; docs/console-passwords.md) before the login profile is
created. The password is never printed. Console access keyrot did not disable is refused.

With --service, re-activate instead the service-specific credential of that service
(codecommit, keyspaces or bedrock) that keyrot deactivated for the user; keyrot then leaves it
active until a person decides.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runManual(cmd.Context(), g, o, "rollback")
		},
	}
	addManualFlags(cmd, g, o)
	cmd.Flags().BoolVar(&o.Console, "console", false, "restore the console password keyrot disabled, not a key")
	cmd.Flags().StringVar(&o.Service, "service", "", "re-activate the service-specific credential of this service instead: codecommit, keyspaces or bedrock")
	return cmd
}

func newRotateCmd(g *globalOptions) *cobra.Command {
	o := &manualOptions{}
	cmd := &cobra.Command{
		Use:   "rotate --now --account ACCOUNT --user USER [--compromised] [--key ID] | rotate --self --profile NAME",
		Short: "Emergency rotation of one user's key, now; or your own key (--self)",
		Long: `Rotate one user's active key now, whatever its age: create, store and verify a new key.
With --compromised the old key is deactivated as soon as the new one is verified, and the new
secret is not readable with the old key (the user is granted read only after the old key is off).
A user with two active keys needs --key to say which one.

With --self --profile NAME, rotate your own key, the one in profile NAME of the shared
credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), calling IAM as
yourself: a new key is created, verified with STS signed with it, written to the profile (the
previous file kept as credentials.keyrot.bak) and verified again as read back. Run it again
after --switch-window: the old key is deactivated once nothing has used it since the switch
(--force: at once), and deleted on the run after (--delete-old: at once). See docs/delivery.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Self {
				return runSelf(cmd.Context(), g, o)
			}
			if !o.Now {
				return usageErrorf("keyrot rotate needs --now (scheduled rotation is keyrot apply) or --self")
			}
			return runManual(cmd.Context(), g, o, "rotate")
		},
	}
	addManualFlags(cmd, g, o)
	cmd.Flags().BoolVar(&o.Self, "self", false, "rotate your own key: the one in the shared credentials file profile --profile names")
	cmd.Flags().BoolVar(&o.Force, "force", false, "--self: deactivate the old key without waiting for the usage gate")
	cmd.Flags().BoolVar(&o.DeleteOld, "delete-old", false, "--self: delete the old key in this run once it is inactive")
	durationVar(cmd, &o.SwitchWindow, "switch-window", selfrotate.DefaultSwitchWindow, "--self: how long after the switch the old key's use is judged (IAM reports last use late)")
	cmd.Flags().BoolVar(&o.Now, "now", false, "rotate now")
	cmd.Flags().BoolVar(&o.Compromised, "compromised", false, "the old key is compromised: deactivate it at once, keep the new secret from it")
	cmd.Flags().StringVar(&o.KeyID, "key", "", "the access key ID to rotate (needed when the user has two active keys)")
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
	ctx, cancel, err := g.withDeadline(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if !inventory.IsAccountID(o.Account) || o.User == "" {
		return usageErrorf("--account (12 digits) and --user are required")
	}
	if o.Service != "" && credentialService(o.Service) == "" {
		return usageErrorf("--service must be codecommit, keyspaces or bedrock (got %q)", o.Service)
	}
	if o.Service != "" && o.Console {
		return usageErrorf("--console and --service name different credentials: give one")
	}
	a, h, err := setupRotation(ctx, g, &o.rotationOptions)
	if err != nil {
		return err
	}
	defer h.Close()
	if !o.Yes {
		if !isTerminal(g.streams.Err) || !isTerminalReader(g.streams.In) {
			return usageErrorf("refusing to %s %s/%s without confirmation: pass --yes", command, o.Account, o.User)
		}
		if !askYes(g, manualQuestion(o, command)) {
			return app.ErrNotConfirmed
		}
	}
	req := app.KeyRequest{Account: o.Account, User: o.User, KeyID: o.KeyID, Compromised: o.Compromised, Scope: o.Scope}
	if o.Service != "" {
		if req.Service = credentialService(o.Service); req.Service == "" {
			return usageErrorf("--service must be codecommit, keyspaces or bedrock (got %q)", o.Service)
		}
	}
	var res *app.KeyResult
	switch {
	case command == "rollback" && o.Console:
		res, err = a.RollbackConsole(ctx, req)
	case command == "rollback":
		res, err = a.Rollback(ctx, req)
	default:
		res, err = a.RotateNow(ctx, req)
	}
	switch {
	case isAPIError(err, "NoSuchEntity"):
		err = usageErrorf("user %s does not exist in account %s", o.User, o.Account)
	case isAPIError(err, "AccessDenied") && strings.Contains(err.Error(), "assume role"):
		// Still an access problem (exit 4), but the likely cause is named.
		err = withCode(ExitAuth, fmt.Errorf("cannot assume the role in account %s: is it a member of the organization, with the role keyrot uses (--role-name)? %w", o.Account, err))
	}
	if res == nil {
		return err
	}
	werr := report.Outcomes(g.streams.Out, o.Output, []execute.Outcome{res.Outcome})
	switch {
	case res.NotifyErr != nil:
		warnf(g, "the owner was not told (the next apply tells them): %v", res.NotifyErr)
	case res.Notify != nil && len(res.Notify.Failed()) > 0:
		warnf(g, "%d notice delivery failure(s); the next apply tries again", len(res.Notify.Failed()))
	case res.Notify != nil && res.Notify.Digests > 0:
		warnf(g, "%d notice digest(s) sent to the owner", res.Notify.Digests)
	}
	return errors.Join(err, outputError(werr, true))
}

// runSelf is rotate --self: the person's own key, in their credentials
// file, with IAM called as themselves.
func runSelf(ctx context.Context, g *globalOptions, o *manualOptions) error {
	ctx, cancel, err := g.withDeadline(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	switch {
	case g.AWS.Profile == "":
		return usageErrorf("rotate --self needs --profile NAME: the profile of the shared credentials file whose key to rotate")
	case o.Now || o.Compromised || o.Account != "" || o.User != "" || o.KeyID != "":
		return usageErrorf("rotate --self takes --profile, not --now, --compromised, --account, --user or --key: it rotates the profile's own key")
	case o.Output != "table" && o.Output != "json":
		return usageErrorf("-o must be table or json (got %q)", o.Output)
	}
	home, _ := os.UserHomeDir()
	file := profile.DefaultFile(os.Getenv, home)
	opts := g.AWS
	opts.Profile = "" // keyrot signs with the profile's keys itself
	cfg, err := awsconf.Load(ctx, opts)
	if err != nil {
		return explainConfigError(g, err)
	}
	now, err := g.now(ctx)
	if err != nil {
		return err
	}
	rot := &selfrotate.Rotator{Clients: selfrotate.SDKClients(cfg), Now: now, Logger: g.logger()}
	res, err := rot.Run(ctx, selfrotate.Request{File: file, Profile: g.AWS.Profile, Force: o.Force, DeleteOld: o.DeleteOld, SwitchWindow: o.SwitchWindow})
	if res != nil {
		var werr error
		if o.Output == "json" {
			enc := json.NewEncoder(g.streams.Out)
			enc.SetIndent("", "  ")
			werr = enc.Encode(res)
		} else {
			werr = writeSelfResult(g.streams.Out, res)
		}
		if err == nil && res.Blocked != "" {
			err = withCode(ExitBlocked, errors.New("the old key stays active: "+res.Blocked))
		}
		err = errors.Join(err, outputError(werr, false))
	}
	if errors.Is(err, selfrotate.ErrNoRoom) || errors.Is(err, selfrotate.ErrNotUser) {
		err = withCode(ExitBlocked, err)
	}
	return err
}

// writeSelfResult prints what rotate --self did and what is next.
func writeSelfResult(w io.Writer, res *selfrotate.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "user %s", res.User)
	if res.NewKey != "" {
		fmt.Fprintf(&b, ": old key %s, new key %s", inventory.MaskKeyID(res.OldKey), inventory.MaskKeyID(res.NewKey))
	}
	b.WriteString("\n")
	for _, d := range res.Done {
		fmt.Fprintf(&b, "  done: %s\n", d)
	}
	if res.Blocked != "" {
		fmt.Fprintf(&b, "  blocked: %s\n", res.Blocked)
	}
	if res.Next != "" {
		fmt.Fprintf(&b, "  next: %s\n", res.Next)
	}
	if len(res.Done) == 0 && res.Blocked == "" && res.Next == "" {
		b.WriteString("  nothing to do\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// manualQuestion is the confirmation asked before rollback or rotate --now.
// With --compromised it says that the old key stops working at once.
func manualQuestion(o *manualOptions, command string) string {
	key := "the access key"
	if o.KeyID != "" {
		key = "access key " + inventory.MaskKeyID(o.KeyID)
	}
	switch {
	case command == "rollback" && o.Console:
		return fmt.Sprintf("Restore the console access keyrot disabled for %s in %s, with a new password stored in Secrets Manager?", o.User, o.Account)
	case command == "rollback" && o.Service != "":
		return fmt.Sprintf("Re-activate the %s credential keyrot deactivated for %s in %s?", o.Service, o.User, o.Account)
	case command == "rollback":
		return fmt.Sprintf("Re-activate the key keyrot deactivated for %s in %s?", o.User, o.Account)
	case o.Compromised:
		return fmt.Sprintf("Rotate %s of %s in %s as compromised? The old key is deactivated at once, as soon as the new key is verified: anything still using it stops working now.", key, o.User, o.Account)
	}
	return fmt.Sprintf("Rotate %s of %s in %s now? The old key stays active until a later apply finds it unused.", key, o.User, o.Account)
}

// credentialService maps --service's short name (or the full one) to the
// service of a service-specific credential; "" if it is none.
func credentialService(name string) string {
	for _, svc := range inventory.CredentialServices {
		if name == svc || name == plan.ServiceShort(svc) {
			return svc
		}
	}
	return ""
}
