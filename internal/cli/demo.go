package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// demoOptions are the flags of `keyrot demo`.
type demoOptions struct {
	Scenario    string
	KeepRunning bool
	SummaryOnly bool
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run keyrot on the demo organization in a local sandbox: audit, plan, apply, and 20 days of lifecycle",
		Long: `Start the sandbox in-process on a free loopback port with the demo organization
(docs/sandbox.md), summarize it the way keyrot sees it (Organizations ListAccounts,
STS AssumeRole into each member account, IAM users, keys by age, console passwords,
MFA and root credentials), then run the real commands against it: keyrot audit,
keyrot plan, keyrot apply; then move the sandbox clock 10 days (old keys deactivated
once quiet) and 10 more (old keys deleted). History goes to a temporary directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.Scenario, "scenario", "demo", "built-in scenario name or scenario file")
	cmd.Flags().BoolVar(&o.SummaryOnly, "summary-only", false, "only summarize the organization; do not run audit, plan and apply")
	cmd.Flags().BoolVar(&o.KeepRunning, "keep-running", false, "keep the sandbox running after the summary (Ctrl-C to stop) and print its exports on stderr")
	return cmd
}

func runDemo(ctx context.Context, g *globalOptions, o *demoOptions, out, errw io.Writer) error {
	sc, err := sandbox.LoadScenario(o.Scenario)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	srv := sandbox.New(sandbox.Options{Logger: g.logger()})
	if err := srv.ApplyScenario(sc); err != nil {
		return withCode(ExitUsage, fmt.Errorf("scenario %s: %w", o.Scenario, err))
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		return fmt.Errorf("start sandbox: %w", err)
	}
	endpoint := "http://" + addr.String()
	fmt.Fprintf(errw, "keyrot demo: sandbox at %s with scenario %q\n", endpoint, sc.Name)

	id, secret := srv.AdminCredentials()
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      func() aws.Retryer { return retry.NewStandard() },
	}
	accts, err := summarizeOrg(ctx, cfg, srv.Clock().Now())
	if err != nil {
		return err
	}
	renderDemo(out, accts)
	if !o.SummaryOnly {
		if err := runDemoSteps(ctx, g, srv, endpoint, out, errw); err != nil {
			return err
		}
	}

	if !o.KeepRunning {
		stop()
		return <-errc
	}
	fmt.Fprintf(errw, "\nThe sandbox keeps running; in another shell:\n  export AWS_ENDPOINT_URL=%s\n  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=<run: keyrot sandbox ctl credentials ...>\n  export AWS_REGION=us-east-1\nCtrl-C to stop.\n", endpoint, id)
	return <-errc
}

// The demo's small views of the AWS APIs.
type (
	demoOrgAPI interface {
		organizations.ListAccountsAPIClient
		ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
		DescribeOrganizationalUnit(context.Context, *organizations.DescribeOrganizationalUnitInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationalUnitOutput, error)
	}
	demoIAMAPI interface {
		iam.ListUsersAPIClient
		iam.ListAccessKeysAPIClient
		iam.ListMFADevicesAPIClient
		GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
		GetLoginProfile(context.Context, *iam.GetLoginProfileInput, ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
		GetAccountSummary(context.Context, *iam.GetAccountSummaryInput, ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
	}
)

var (
	_ demoOrgAPI = (*organizations.Client)(nil)
	_ demoIAMAPI = (*iam.Client)(nil)
)

// demoAgeBuckets are the key-age columns, in days.
var demoAgeBuckets = []struct {
	label string
	upTo  int // exclusive upper bound in days; 0 = no bound
}{{"<30d", 30}, {"30-89d", 90}, {"90-179d", 180}, {"180-364d", 365}, {">=365d", 0}}

// demoAccount is what the demo learned about one account.
type demoAccount struct {
	ID, Name, Status, OU string
	// Note explains why the account was not looked into.
	Note                     string
	Users, ServiceUsers      int
	ActiveKeys, InactiveKeys int
	Buckets                  [5]int // active keys by age
	NeverUsed, Unused90      int    // active keys
	TwoActive                int    // users with two active keys
	ConsoleMFA, ConsoleNoMFA int
	RootKeys                 int
	RootMFA                  bool
	Inspected                bool
}

// summarizeOrg lists the organization's accounts and summarizes each one's
// IAM credentials, assuming the organization's role in member accounts.
func summarizeOrg(ctx context.Context, cfg aws.Config, now time.Time) ([]demoAccount, error) {
	org := organizations.NewFromConfig(cfg)
	access := awsaccess.New(cfg, awsaccess.Role{SessionName: "keyrot-demo"})
	caller, err := access.Caller(ctx)
	if err != nil {
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	mgmt := caller.Account
	var accts []demoAccount
	p := organizations.NewListAccountsPaginator(org, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			da := demoAccount{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Status: string(a.Status)}
			da.OU, err = ouPath(ctx, org, da.ID)
			if err != nil {
				return nil, err
			}
			accts = append(accts, da)
		}
	}
	sort.Slice(accts, func(i, j int) bool {
		if (accts[i].ID == mgmt) != (accts[j].ID == mgmt) {
			return accts[i].ID == mgmt
		}
		return accts[i].Name < accts[j].Name
	})
	for i := range accts {
		a := &accts[i]
		if a.Status != string(orgtypes.AccountStatusActive) {
			a.Note = "skipped: account is " + strings.ToLower(a.Status)
			continue
		}
		acfg, err := access.Config(ctx, a.ID)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) {
				a.Note = "no access: cannot assume " + awsaccess.DefaultRoleName + " (" + ae.ErrorCode() + ")"
				continue
			}
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
		if err := summarizeAccount(ctx, awsconf.NewIAM(acfg), now, a); err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	return accts, nil
}

// ouPath returns the account's OU names from the root, such as
// "Workloads/Production", or "(root)".
func ouPath(ctx context.Context, org demoOrgAPI, id string) (string, error) {
	var names []string
	child := id
	for range 6 { // Organizations nests OUs at most 5 deep
		out, err := org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
		if err != nil {
			return "", fmt.Errorf("list parents of %s: %w", child, err)
		}
		if len(out.Parents) == 0 || out.Parents[0].Type == orgtypes.ParentTypeRoot {
			break
		}
		pid := aws.ToString(out.Parents[0].Id)
		ou, err := org.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(pid)})
		if err != nil {
			return "", fmt.Errorf("describe OU %s: %w", pid, err)
		}
		names = append([]string{aws.ToString(ou.OrganizationalUnit.Name)}, names...)
		child = pid
	}
	if len(names) == 0 {
		return "(root)", nil
	}
	return strings.Join(names, "/"), nil
}

func summarizeAccount(ctx context.Context, c demoIAMAPI, now time.Time, a *demoAccount) error {
	a.Inspected = true
	sum, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return fmt.Errorf("get account summary: %w", err)
	}
	a.RootKeys = int(sum.SummaryMap["AccountAccessKeysPresent"])
	a.RootMFA = sum.SummaryMap["AccountMFAEnabled"] == 1
	up := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	for up.HasMorePages() {
		page, err := up.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range page.Users {
			if err := summarizeUser(ctx, c, now, a, aws.ToString(u.UserName), aws.ToString(u.Path)); err != nil {
				return err
			}
		}
	}
	return nil
}

func summarizeUser(ctx context.Context, c demoIAMAPI, now time.Time, a *demoAccount, name, path string) error {
	a.Users++
	if strings.HasPrefix(path, "/service/") {
		a.ServiceUsers++
	}
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("list access keys of %s: %w", name, err)
	}
	active := 0
	for _, k := range keys.AccessKeyMetadata {
		if k.Status != "Active" {
			a.InactiveKeys++
			continue
		}
		active++
		a.ActiveKeys++
		days := int(now.Sub(aws.ToTime(k.CreateDate)) / (24 * time.Hour))
		for i, b := range demoAgeBuckets {
			if b.upTo == 0 || days < b.upTo {
				a.Buckets[i]++
				break
			}
		}
		lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		if err != nil {
			return fmt.Errorf("get last use of a key of %s: %w", name, err)
		}
		switch used := lu.AccessKeyLastUsed; {
		case used == nil || used.LastUsedDate == nil:
			a.NeverUsed++
		case now.Sub(*used.LastUsedDate) > 90*24*time.Hour:
			a.Unused90++
		}
	}
	if active == 2 {
		a.TwoActive++
	}
	_, err = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(name)})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity":
		return nil
	case err != nil:
		return fmt.Errorf("get login profile of %s: %w", name, err)
	}
	mfa, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("list MFA devices of %s: %w", name, err)
	}
	if len(mfa.MFADevices) > 0 {
		a.ConsoleMFA++
	} else {
		a.ConsoleNoMFA++
	}
	return nil
}

func renderDemo(w io.Writer, accts []demoAccount) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tSTATUS\tOU")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Status, a.OU)
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nActive access keys by age, console users and root credentials:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hdr := []string{"NAME", "USERS", "SERVICE"}
	for _, b := range demoAgeBuckets {
		hdr = append(hdr, b.label)
	}
	hdr = append(hdr, "NEVER USED", "UNUSED 90d+", "2 ACTIVE", "INACTIVE", "CONSOLE", "NO MFA", "ROOT KEYS", "ROOT MFA")
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	var tot demoAccount
	for _, a := range accts {
		if !a.Inspected {
			continue
		}
		row := []string{a.Name, itoa(a.Users), itoa(a.ServiceUsers)}
		for _, n := range a.Buckets {
			row = append(row, itoa(n))
		}
		row = append(row, itoa(a.NeverUsed), itoa(a.Unused90), itoa(a.TwoActive), itoa(a.InactiveKeys),
			itoa(a.ConsoleMFA+a.ConsoleNoMFA), itoa(a.ConsoleNoMFA), itoa(a.RootKeys), yesNo(a.RootMFA))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
		tot.Users += a.Users
		tot.ServiceUsers += a.ServiceUsers
		for i, n := range a.Buckets {
			tot.Buckets[i] += n
		}
		tot.NeverUsed += a.NeverUsed
		tot.Unused90 += a.Unused90
		tot.TwoActive += a.TwoActive
		tot.InactiveKeys += a.InactiveKeys
		tot.ConsoleMFA += a.ConsoleMFA
		tot.ConsoleNoMFA += a.ConsoleNoMFA
		tot.RootKeys += a.RootKeys
	}
	row := []string{"total", itoa(tot.Users), itoa(tot.ServiceUsers)}
	for _, n := range tot.Buckets {
		row = append(row, itoa(n))
	}
	row = append(row, itoa(tot.NeverUsed), itoa(tot.Unused90), itoa(tot.TwoActive), itoa(tot.InactiveKeys),
		itoa(tot.ConsoleMFA+tot.ConsoleNoMFA), itoa(tot.ConsoleNoMFA), itoa(tot.RootKeys), "")
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	_ = tw.Flush()

	var notes []string
	for _, a := range accts {
		if a.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s (%s): %s", a.Name, a.ID, a.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNot inspected:")
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
