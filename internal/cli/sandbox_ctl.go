package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
)

// defaultSandboxEndpoint is where `keyrot sandbox` listens by default.
const defaultSandboxEndpoint = "http://127.0.0.1:4566"

// sandboxCtlOptions are the flags every `keyrot sandbox ctl` command shares.
type sandboxCtlOptions struct {
	Endpoint string
	JSON     bool
	g        *globalOptions
}

// client returns a control API client for the chosen endpoint: the flag,
// else AWS_ENDPOINT_URL, else the sandbox's default address.
func (o *sandboxCtlOptions) client() *sandboxclient.Client {
	ep := o.Endpoint
	if ep == "" {
		ep = os.Getenv("AWS_ENDPOINT_URL")
	}
	if ep == "" {
		ep = defaultSandboxEndpoint
	}
	return sandboxclient.New(ep)
}

// ctlErr maps a control API error to an exit code: rejected input is a
// usage error, anything else a plain error.
func ctlErr(err error) error {
	var ce *sandboxclient.Error
	if errors.As(err, &ce) && ce.StatusCode == 400 {
		return withCode(ExitUsage, errors.New(ce.Message))
	}
	if errors.As(err, &ce) {
		return errors.New(ce.Message)
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newSandboxCtlCmd(g *globalOptions) *cobra.Command {
	o := &sandboxCtlOptions{g: g}
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Control a running sandbox (clock, faults, scenarios, captured messages)",
		Long: `Control a running sandbox through its control API (docs/sandbox.md).
The sandbox is found with --endpoint-url, else AWS_ENDPOINT_URL, else ` + defaultSandboxEndpoint + `.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Endpoint, "endpoint-url", "", "sandbox URL (default: AWS_ENDPOINT_URL, else "+defaultSandboxEndpoint+")")
	pf.BoolVar(&o.JSON, "json", false, "print the control API's JSON")
	cmd.AddCommand(
		newCtlHealthCmd(o),
		newCtlClockCmd(o),
		newCtlFaultCmd(o),
		newCtlNewKeyDelayCmd(o),
		newCtlLoadCmd(o),
		newCtlEmailsCmd(o),
		newCtlSNSCmd(o),
		newCtlCallsCmd(o),
		newCtlStateCmd(o),
		newCtlCredentialsCmd(o),
		newCtlAuthzCmd(o),
	)
	return cmd
}

func newCtlHealthCmd(o *sandboxCtlOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Check that the sandbox is up and summarize its organization",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := o.client().Health(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), h)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: organization %s, management account %s, %s; clock %s\n",
				h.Status, h.OrgID, h.ManagementAccountID, inventoryCounts(h.Accounts, h.Users, h.AccessKeys, h.RootAccessKeys), h.Now.Format(time.RFC3339))
			return nil
		},
	}
}

func printClock(cmd *cobra.Command, o *sandboxCtlOptions, cs sandbox.ClockState) error {
	if o.JSON {
		return printJSON(cmd.OutOrStdout(), cs)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s (offset %s)\n", cs.Now.Format(time.RFC3339), cs.Offset)
	return nil
}

func newCtlClockCmd(o *sandboxCtlOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "clock", Short: "Show, advance or set the sandbox clock"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "show", Short: "Show the sandbox time", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cs, err := o.client().Clock(cmd.Context())
				if err != nil {
					return ctlErr(err)
				}
				return printClock(cmd, o, cs)
			},
		},
		&cobra.Command{
			Use: "advance DURATION", Short: "Move the clock forward (30d, 36h) or back (-1d)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cs, err := o.client().AdvanceClock(cmd.Context(), args[0])
				if err != nil {
					return ctlErr(err)
				}
				return printClock(cmd, o, cs)
			},
		},
		&cobra.Command{
			Use: "set TIME", Short: "Set the clock to an RFC 3339 time such as 2030-01-31T12:00:00Z", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				t, err := time.Parse(time.RFC3339, args[0])
				if err != nil {
					return usageErrorf("time: want RFC 3339 such as 2030-01-31T12:00:00Z, got %q", args[0])
				}
				cs, err := o.client().SetClock(cmd.Context(), t)
				if err != nil {
					return ctlErr(err)
				}
				return printClock(cmd, o, cs)
			},
		},
	)
	return cmd
}

func newCtlFaultCmd(o *sandboxCtlOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "fault", Short: "Inject, list and clear faults (latency, throttling, rate limits, errors)"}
	var f sandbox.Fault
	add := &cobra.Command{
		Use:   "add",
		Short: "Inject a fault",
		Example: `  keyrot sandbox ctl fault add --kind throttle --service iam --probability 0.2
  keyrot sandbox ctl fault add --kind latency --latency 300ms --service organizations
  keyrot sandbox ctl fault add --kind rate --rate 5 --burst 10 --account 345678901234
  keyrot sandbox ctl fault add --kind error --service iam --operation DeleteAccessKey --code ServiceFailure --status 500 --times 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nf, err := o.client().AddFault(cmd.Context(), f)
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), nf)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added fault %s\n", nf.ID)
			return nil
		},
	}
	fl := add.Flags()
	fl.StringVar(&f.Kind, "kind", "", "latency, throttle, rate or error")
	fl.StringVar(&f.Service, "service", "", "only calls to this service (iam, sts, organizations, secretsmanager, ses, sns)")
	fl.StringVar(&f.Operation, "operation", "", "only this operation, e.g. ListUsers")
	fl.StringVar(&f.Account, "account", "", "only calls made by this account")
	fl.Float64Var(&f.Probability, "probability", 0, "chance that the fault fires on a matching call (0: always)")
	fl.StringVar(&f.Latency, "latency", "", "delay for latency faults, e.g. 200ms")
	fl.IntVar(&f.Times, "times", 0, "fire at most this many times (0: without end)")
	fl.Float64Var(&f.RatePerSecond, "rate", 0, "calls per second per account, for rate faults")
	fl.IntVar(&f.Burst, "burst", 0, "burst size for rate faults")
	fl.StringVar(&f.Code, "code", "", "AWS error code for error faults")
	fl.IntVar(&f.Status, "status", 0, "HTTP status for error faults (default 400)")
	fl.StringVar(&f.Message, "message", "", "error message for error faults")
	_ = add.MarkFlagRequired("kind")

	list := &cobra.Command{
		Use: "list", Short: "List faults and how often they fired", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := o.client().Faults(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), fs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSERVICE\tOPERATION\tACCOUNT\tDETAIL\tFIRED")
			for _, f := range fs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", f.ID, f.Kind, dash(f.Service), dash(f.Operation), dash(f.Account), faultDetail(f), f.Fired)
			}
			return tw.Flush()
		},
	}
	clear := &cobra.Command{
		Use: "clear [ID]", Short: "Remove one fault, or all", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := o.client()
			if len(args) == 1 {
				if err := c.DeleteFault(cmd.Context(), args[0]); err != nil {
					return ctlErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed fault %s\n", args[0])
				return nil
			}
			n, err := c.ClearFaults(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d faults\n", n)
			return nil
		},
	}
	cmd.AddCommand(add, list, clear)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func faultDetail(f sandbox.Fault) string {
	var parts []string
	switch f.Kind {
	case sandbox.FaultLatency:
		parts = append(parts, f.Latency)
	case sandbox.FaultRate:
		parts = append(parts, fmt.Sprintf("%g/s burst %d", f.RatePerSecond, f.Burst))
	case sandbox.FaultError:
		parts = append(parts, fmt.Sprintf("%s (HTTP %d)", f.Code, f.Status))
	}
	if f.Probability > 0 {
		parts = append(parts, fmt.Sprintf("p=%g", f.Probability))
	}
	if f.Times > 0 {
		parts = append(parts, fmt.Sprintf("times=%d", f.Times))
	}
	return dash(strings.Join(parts, " "))
}

func newCtlNewKeyDelayCmd(o *sandboxCtlOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "new-key-delay [DURATION]",
		Short: "Show or set how long new access keys take to authenticate (IAM eventual consistency)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := o.client()
			if len(args) == 1 {
				d, err := parseDurationFlag("delay", args[0])
				if err != nil {
					return err
				}
				if err := c.SetNewKeyDelay(cmd.Context(), d); err != nil {
					return ctlErr(err)
				}
			}
			d, err := c.NewKeyDelay(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new-key delay %s\n", d)
			return nil
		},
	}
}

func newCtlLoadCmd(o *sandboxCtlOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "load demo|empty|FILE",
		Short: "Replace the sandbox's organization with a built-in scenario or a scenario file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := o.client()
			var (
				res sandbox.ScenarioLoaded
				err error
			)
			if st, serr := os.Stat(args[0]); serr == nil && !st.IsDir() {
				b, rerr := os.ReadFile(args[0])
				if rerr != nil {
					return fmt.Errorf("read scenario: %w", rerr)
				}
				res, err = c.LoadScenarioYAML(cmd.Context(), args[0], b)
			} else {
				res, err = c.LoadScenario(cmd.Context(), args[0])
			}
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "loaded %s: management account %s, %s\n",
				res.Scenario, res.ManagementAccountID, inventoryCounts(res.Accounts, res.Users, res.AccessKeys, res.RootAccessKeys))
			return nil
		},
	}
}

func newCtlEmailsCmd(o *sandboxCtlOptions) *cobra.Command {
	var clear bool
	cmd := &cobra.Command{
		Use: "emails", Short: "Show (or --clear) the emails captured from SES", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.client()
			if clear {
				return ctlErr(c.ClearEmails(cmd.Context()))
			}
			es, err := c.Emails(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), es)
			}
			w := cmd.OutOrStdout()
			for i, e := range es {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "%s  from %s to %s\nSubject: %s\n", e.SentAt.Format(time.RFC3339), e.From, strings.Join(e.To, ", "), e.Subject)
				if e.Text != "" {
					fmt.Fprintf(w, "\n%s\n", strings.TrimRight(e.Text, "\n"))
				}
			}
			if len(es) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no emails captured")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clear, "clear", false, "forget the captured emails")
	return cmd
}

func newCtlSNSCmd(o *sandboxCtlOptions) *cobra.Command {
	var clear bool
	cmd := &cobra.Command{
		Use: "sns", Short: "Show (or --clear) the messages captured from SNS", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.client()
			if clear {
				return ctlErr(c.ClearSNSMessages(cmd.Context()))
			}
			ms, err := c.SNSMessages(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), ms)
			}
			for _, m := range ms {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s  %s\n%s\n", m.SentAt.Format(time.RFC3339), m.TopicARN, m.Subject, m.Message)
			}
			if len(ms) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no SNS messages captured")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clear, "clear", false, "forget the captured messages")
	return cmd
}

func newCtlCallsCmd(o *sandboxCtlOptions) *cobra.Command {
	var reset bool
	cmd := &cobra.Command{
		Use: "calls", Short: "Show (or --reset) AWS call counts by account and operation", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.client()
			if reset {
				return ctlErr(c.ResetCalls(cmd.Context()))
			}
			calls, err := c.Calls(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), calls)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tOPERATION\tCALLS")
			for _, a := range sortedMapKeys(calls.Accounts) {
				for _, op := range sortedMapKeys(calls.Accounts[a]) {
					fmt.Fprintf(tw, "%s\t%s\t%d\n", a, op, calls.Accounts[a][op])
				}
			}
			fmt.Fprintf(tw, "total\t\t%d\n", calls.Total)
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "reset the counts")
	return cmd
}

func sortedMapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func newCtlStateCmd(o *sandboxCtlOptions) *cobra.Command {
	var secrets bool
	cmd := &cobra.Command{
		Use: "state", Short: "Dump the sandbox's whole state as JSON (secret keys redacted unless --secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := o.client().StateJSON(cmd.Context(), secrets)
			if err != nil {
				return ctlErr(err)
			}
			_, err = cmd.OutOrStdout().Write(raw)
			return err
		},
	}
	cmd.Flags().BoolVar(&secrets, "secrets", false, "include the sandbox's secret access keys")
	return cmd
}

func newCtlCredentialsCmd(o *sandboxCtlOptions) *cobra.Command {
	var account, user string
	cmd := &cobra.Command{
		Use:   "credentials --account ACCOUNT --user USER",
		Short: "Print shell exports for a sandbox user's active access key (to play an application)",
		Example: `  eval "$(keyrot sandbox ctl credentials --account brightloop-prod --user ci-deploy)"
  aws sts get-caller-identity`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := o.client().Credentials(cmd.Context(), account, user)
			if err != nil {
				return ctlErr(err)
			}
			if o.JSON {
				return printJSON(cmd.OutOrStdout(), k)
			}
			// These are the sandbox's own, simulated credentials: printing
			// them is the point of the command.
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s\n", k.AccessKeyID)
			fmt.Fprintf(w, "export AWS_SECRET_ACCESS_KEY=%s\n", k.SecretAccessKey)
			fmt.Fprintln(w, "unset AWS_SESSION_TOKEN")
			fmt.Fprintf(w, "# sandbox user %s in account %s\n", k.UserName, k.AccountID)
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "account ID or name")
	cmd.Flags().StringVar(&user, "user", "", "IAM user name")
	_ = cmd.MarkFlagRequired("account")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

// inventoryCounts writes a sandbox's sizes with singular and plural nouns.
func inventoryCounts(accounts, users, keys, rootKeys int) string {
	n := func(v int, one, many string) string { return fmt.Sprintf("%d %s", v, plural(v, one, many)) }
	return strings.Join([]string{n(accounts, "account", "accounts"), n(users, "user", "users"),
		n(keys, "access key", "access keys"), n(rootKeys, "root key", "root keys")}, ", ")
}

func newCtlAuthzCmd(o *sandboxCtlOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "authz",
		Short: "Show whether IAM policies are enforced; turn enforcement on or off; record authorization decisions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.client().Authz(cmd.Context())
			if err != nil {
				return ctlErr(err)
			}
			return printAuthzState(cmd, o, st)
		},
	}
	set := func(use, short string, enforced bool) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := o.client().SetAuthzEnforced(cmd.Context(), enforced)
				if err != nil {
					return ctlErr(err)
				}
				return printAuthzState(cmd, o, st)
			},
		}
	}
	logCmd := &cobra.Command{Use: "log", Short: "Start, stop or show the authorization decision log"}
	logCmd.AddCommand(
		&cobra.Command{
			Use: "start", Short: "Clear the decision log and start recording", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return ctlErr(o.client().StartAuthzLog(cmd.Context()))
			},
		},
		&cobra.Command{
			Use: "stop", Short: "Stop recording and show the decisions recorded", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				l, err := o.client().StopAuthzLog(cmd.Context())
				if err != nil {
					return ctlErr(err)
				}
				return printAuthzLog(cmd, o, l)
			},
		},
		&cobra.Command{
			Use: "show", Short: "Show the decisions recorded so far", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				l, err := o.client().AuthzLog(cmd.Context())
				if err != nil {
					return ctlErr(err)
				}
				return printAuthzLog(cmd, o, l)
			},
		},
	)
	cmd.AddCommand(
		set("enforce", "Enforce IAM policies, SCPs and resource policies (the default)", true),
		set("permissive", "Allow every signed request (decisions are still recorded)", false),
		logCmd,
	)
	return cmd
}

func printAuthzState(cmd *cobra.Command, o *sandboxCtlOptions, st sandbox.AuthzState) error {
	if o.JSON {
		return printJSON(cmd.OutOrStdout(), st)
	}
	mode := "enforced"
	if !st.Enforced {
		mode = "permissive (not enforced)"
	}
	rec := "off"
	if st.Recording {
		rec = "recording"
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "authorization: %s\ndecision log: %s, %d decisions\n", mode, rec, st.Decisions)
	return err
}

func printAuthzLog(cmd *cobra.Command, o *sandboxCtlOptions, l sandbox.AuthzLog) error {
	if o.JSON {
		return printJSON(cmd.OutOrStdout(), l)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DECISION\tACTION\tRESOURCE\tPRINCIPAL\tPOLICY\tSTATEMENT")
	for _, e := range l.Entries {
		pol := e.Policy
		if e.PolicyType != "" {
			pol = e.PolicyType + ":" + dash(e.Policy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Decision, e.Action, e.Resource, e.Principal, dash(pol), dash(e.Statement))
	}
	return tw.Flush()
}
