// Package collect reads AWS Organizations, STS and IAM and turns what it
// finds into an inventory.Snapshot.
//
// # Discovery
//
// The caller's identity comes from STS GetCallerIdentity. In organization
// mode, Organizations ListAccounts (paginated) lists every account with its
// name, email and state; accounts that are not ACTIVE are kept as skipped.
// OU paths, when asked for (Options.OUPaths), come from one walk of the
// organization tree from its roots (ListRoots, ListOrganizationalUnitsForParent,
// ListAccountsForParent): it costs two calls per OU instead of one ListParents
// call per account and per OU level, which is cheaper in every organization
// with more accounts than OUs. An OU filter without OU paths walks only the
// named OUs' subtrees. If the caller's account is in no organization, or
// Options.SingleAccount is set, only the caller's account is audited and
// Organizations is not called at all.
//
// # Cost per account
//
// Each account's users come from its credential report, which already holds
// every user's ARN (and so path), creation time, password, MFA and both
// access-key slots with creation and last-use facts. A compliant account
// therefore costs GenerateCredentialReport (once), GetCredentialReport (once,
// or a few times while the report is being generated) and, for a member account,
// AssumeRole: no ListUsers. Live calls are made only where the report cannot
// answer:
//
//   - keys at least Options.ResolveKeysOlderThan old, and users holding two
//     keys, need their access key IDs (for an action or a finding naming the
//     key): ListAccessKeys for that user, matched to report slots by creation
//     time to the second. Their last-used facts are the report's; only keys
//     the report does not know (created since) cost GetAccessKeyLastUsed.
//     The executor reads last use live again before it acts on a key;
//   - with Options.Fresh (or a report older than Options.FreshAfter; IAM
//     serves a report up to four hours old), ListUsers and ListAccessKeys for
//     every user, so that users and keys created after the report are found
//     and deleted ones dropped, and GetAccessKeyLastUsed for every key;
//     users missing from the report also cost GetLoginProfile and
//     ListMFADevices;
//   - with Options.NeedTagsGroups, the tags and groups of the users that
//     hold a credential (an access key or a password), the only users a
//     finding or an exemption can be about: for one user, ListUserTags and
//     ListGroupsForUser; for more, GetAccountAuthorizationDetails filtered to
//     users, which gives every user's tags and groups a page per 1,000 users
//     (if it is denied, the per-user calls are made instead).
//
// # Facts, not guesses
//
// The report's N/A in access_key_N_last_used_date means the key was never
// used (AWS also writes N/A for a key unused since IAM started tracking key
// use on 2015-04-22, which is the same for any rotation policy): LastUsedKnown
// is true and LastUsed nil. Any other word there (no_information, or moto's
// not_supported) is not documented by AWS for keys and is taken as unknown:
// LastUsedKnown false. For passwords, no_information (never used since
// 2014-10-20) gives a nil Password.LastUsed. A failed call is never turned
// into a fact: a user's keys that could not be listed keep their report
// facts without IDs, a key whose GetAccessKeyLastUsed failed has
// LastUsedKnown false, and both add an entry to Account.Errors. An account
// whose credential report cannot be read is failed with the AWS error code
// in its Reason; the other accounts are still audited.
//
// Throttling is left to the SDK retryer configured by awsconf (standard
// retryer, many attempts, no client-side retry quota), and so are endpoints
// that do not answer (each attempt bounded in time, retries within a short
// budget); a call that still fails after its retries is an error for its item.
package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/inventory"
)

// DefaultConcurrency is how many accounts are collected at once by default.
const DefaultConcurrency = 8

// Options configure a collection. Organizations, STS and IAM are the
// dependencies; AWSOptions fills them from an aws.Config.
type Options struct {
	Organizations OrganizationsAPI
	STS           STSAPI
	IAM           IAMFactory

	// SingleAccount audits only the caller's account and never calls Organizations.
	SingleAccount bool
	// Accounts and OUs select accounts (an account selected by either is
	// audited); both empty selects every account. OUs are searched recursively.
	Accounts []string
	OUs      []string
	// ExcludeAccounts are listed as skipped and not audited.
	ExcludeAccounts []string
	// Listed, if set, are the accounts to collect as an earlier listing of
	// the organization gave them (the Lambda coordinator lists once for
	// all its workers): Organizations is not asked for the account list,
	// and Accounts, OUs and ExcludeAccounts are not applied again.
	Listed *Listing
	// OUPaths fills Account.OUPath (needed for OU exemptions).
	OUPaths bool
	// AccountTags fills Account.Tags (Organizations ListTagsForResource, one call per account).
	AccountTags bool

	// Concurrency bounds how many accounts are collected at once; 0 means DefaultConcurrency.
	Concurrency int

	// Fresh lists users and keys live in every account, so that anything
	// created or deleted after the credential report was generated is seen.
	Fresh bool
	// FreshAfter, when positive, collects an account as with Fresh when its
	// report is older than this.
	FreshAfter time.Duration
	// ResolveKeysOlderThan: keys at least this old (and every key of a user
	// with two keys) get their IDs and live last-used facts. 0 resolves every key.
	ResolveKeysOlderThan time.Duration
	// KeyIDsFor, when set, replaces ResolveKeysOlderThan: the users it
	// returns true for (judged on the credential report's facts) get their
	// key IDs and live last-used facts.
	KeyIDsFor func(a *inventory.Account, u *inventory.User) bool
	// NeedTagsGroups fills User.Tags and User.Groups for users holding a credential.
	NeedTagsGroups bool
	// TagsGroupsFor, when set, limits the tag and group look-ups of
	// NeedTagsGroups to the users it returns true for (for example only
	// users with a finding, whose exemptions matter). It sees the user's
	// report and live key facts, without tags.
	TagsGroupsFor func(a *inventory.Account, u *inventory.User) bool

	// IAMKinds collects the users' service-specific credentials and signing
	// certificate IDs and the account's password policy: four calls per
	// account, plus one per user whose report shows a signing certificate
	// (iamkinds.go). Signing certificates' status and age come from the
	// credential report whether or not it is set.
	IAMKinds bool
	// SSHKeys lists each user's SSH public keys: one call per user, as no
	// account-wide listing has them (iamkinds.go).
	SSHKeys bool
	// Kinds, when set, also collects the account's IAM server
	// certificates, ACM certificates and secrets (accountkinds.go).
	Kinds *Kinds

	// ReportPoll bounds waiting for a credential report; zero fields take defaults.
	ReportPoll Poll

	// Collected, if set, is called with each account as soon as it is
	// audited, from that account's goroutine, before the account's slot
	// goes to the next one: concurrently with other accounts' collection.
	// A caller that needs more calls per account makes them here, so that
	// they overlap the other accounts' collection instead of waiting for
	// the slowest account.
	Collected func(ctx context.Context, a *inventory.Account)
	// Progress, if set, is called after each account is collected (or fails),
	// never concurrently.
	Progress func(done, total int, account string)
	Logger   *slog.Logger
	// Now is the clock used for key ages; time.Now when nil.
	Now func() time.Time
}

// Listing is a list of an organization's accounts made once and handed to
// later collections (Options.Listed).
type Listing struct {
	OrganizationID string              `json:"organization_id,omitempty"`
	Accounts       []inventory.Account `json:"accounts"`
}

// ListingOf returns the listing of snap's accounts: each account's ID,
// name, e-mail, OU path, and whether (and why) it was skipped, without
// what collecting it found.
func ListingOf(snap *inventory.Snapshot) *Listing {
	l := &Listing{OrganizationID: snap.OrganizationID}
	for _, a := range snap.Accounts {
		la := inventory.Account{ID: a.ID, Name: a.Name, Email: a.Email, OUPath: slices.Clone(a.OUPath)}
		if a.Status == inventory.AccountSkipped {
			la.Status, la.Reason = a.Status, a.Reason
		}
		l.Accounts = append(l.Accounts, la)
	}
	return l
}

// Poll is a bounded exponential backoff.
type Poll struct {
	Initial  time.Duration // first wait; default 2s, about what IAM takes to build a report
	Max      time.Duration // longest wait; default 15s
	Attempts int           // credential report calls at most; default 20
}

func (p Poll) withDefaults() Poll {
	if p.Initial <= 0 {
		p.Initial = 2 * time.Second
	}
	if p.Max <= 0 {
		p.Max = 15 * time.Second
	}
	if p.Attempts <= 0 {
		p.Attempts = 20
	}
	return p
}

// ErrNoIAM is returned when Options has no IAM factory.
var ErrNoIAM = errors.New("collect: no IAM client factory")

// collector is one run's state.
type collector struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	self      string
	partition string
}

// Collect discovers the accounts to audit and collects each of them.
func Collect(ctx context.Context, opts Options) (*inventory.Snapshot, error) {
	if opts.IAM == nil || opts.STS == nil {
		return nil, ErrNoIAM
	}
	c := &collector{opts: opts, log: opts.Logger, now: opts.Now}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.opts.Concurrency <= 0 {
		c.opts.Concurrency = DefaultConcurrency
	}
	c.opts.ReportPoll = c.opts.ReportPoll.withDefaults()

	id, err := opts.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	c.self = aws.ToString(id.Account)
	c.partition = partitionOf(aws.ToString(id.Arn))

	snap := &inventory.Snapshot{ManagementAccountID: c.self}
	var accounts []inventory.Account
	switch {
	case opts.Listed != nil:
		snap.OrganizationID = opts.Listed.OrganizationID
		for _, a := range opts.Listed.Accounts {
			a.OUPath = slices.Clone(a.OUPath)
			a.Tags, a.Users, a.Errors, a.Root = nil, nil, nil, nil
			accounts = append(accounts, a)
		}
	case opts.SingleAccount || opts.Organizations == nil:
		accounts = []inventory.Account{{ID: c.self}}
	default:
		orgID, accts, err := c.discover(ctx)
		if err != nil {
			return nil, err
		}
		snap.OrganizationID = orgID
		accounts = accts
	}
	if err := c.collectAll(ctx, accounts); err != nil {
		return nil, err
	}
	snap.Accounts = accounts
	snap.CollectedAt = c.now()
	return snap, nil
}

// partitionOf returns an ARN's partition, "aws" if it cannot tell.
func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// discover lists the organization's accounts and selects those to audit.
func (c *collector) discover(ctx context.Context) (string, []inventory.Account, error) {
	org := c.opts.Organizations
	desc, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		if apiCode(err) == "AWSOrganizationsNotInUseException" {
			c.log.Info("account is not in an organization; auditing it alone", "account", c.self)
			return "", []inventory.Account{{ID: c.self}}, nil
		}
		return "", nil, fmt.Errorf("describe organization: %w", err)
	}
	orgID := ""
	if desc.Organization != nil {
		orgID = aws.ToString(desc.Organization.Id)
	}

	var all []inventory.Account
	byID := map[string]int{}
	pages := organizations.NewListAccountsPaginator(org, &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("list accounts (keyrot must run in the management account or a delegated administrator, or in single-account mode): %w", err)
		}
		for _, a := range page.Accounts {
			acct := inventory.Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Email: aws.ToString(a.Email)}
			if state := accountState(a); state != "ACTIVE" {
				acct.Status = inventory.AccountSkipped
				acct.Reason = "account is " + state
			}
			byID[acct.ID] = len(all)
			all = append(all, acct)
		}
	}

	var paths map[string][]string
	if c.opts.OUPaths {
		paths, err = c.walkOrganization(ctx)
		if err != nil {
			return "", nil, err
		}
		for i := range all {
			all[i].OUPath = paths[all[i].ID]
		}
	}

	selected := map[string]bool{}
	filtered := len(c.opts.Accounts) > 0 || len(c.opts.OUs) > 0
	var missing []inventory.Account
	for _, id := range c.opts.Accounts {
		if _, ok := byID[id]; ok {
			selected[id] = true
		} else if !slices.ContainsFunc(missing, func(a inventory.Account) bool { return a.ID == id }) {
			missing = append(missing, inventory.Account{ID: id, Status: inventory.AccountFailed, Reason: "account is not in the organization " + orgID})
		}
	}
	if len(c.opts.OUs) > 0 {
		inOU, err := c.accountsInOUs(ctx, paths)
		if err != nil {
			return "", nil, err
		}
		for id := range inOU {
			selected[id] = true
		}
	}

	var out []inventory.Account
	for _, a := range all {
		if filtered && !selected[a.ID] {
			continue
		}
		if slices.Contains(c.opts.ExcludeAccounts, a.ID) && a.Status == "" {
			a.Status = inventory.AccountSkipped
			a.Reason = "excluded by configuration"
		}
		out = append(out, a)
	}
	out = append(out, missing...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return orgID, out, nil
}

// accountState returns the account's State, or its older Status.
func accountState(a orgtypes.Account) string {
	if a.State != "" {
		return string(a.State)
	}
	if a.Status != "" {
		return string(a.Status)
	}
	return "ACTIVE"
}

// walkOrganization returns each account's OU path (OU IDs from below the root
// down to the account's parent).
func (c *collector) walkOrganization(ctx context.Context) (map[string][]string, error) {
	paths := map[string][]string{}
	pages := organizations.NewListRootsPaginator(c.opts.Organizations, &organizations.ListRootsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roots: %w", err)
		}
		for _, r := range page.Roots {
			if err := c.walk(ctx, aws.ToString(r.Id), nil, paths); err != nil {
				return nil, err
			}
		}
	}
	return paths, nil
}

// walk records every account below parent with its path.
func (c *collector) walk(ctx context.Context, parent string, path []string, paths map[string][]string) error {
	org := c.opts.Organizations
	accts := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
	for accts.HasMorePages() {
		page, err := accts.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list accounts for parent %s: %w", parent, err)
		}
		for _, a := range page.Accounts {
			paths[aws.ToString(a.Id)] = slices.Clone(path)
		}
	}
	ous := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
	for ous.HasMorePages() {
		page, err := ous.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list organizational units for parent %s: %w", parent, err)
		}
		for _, ou := range page.OrganizationalUnits {
			id := aws.ToString(ou.Id)
			if err := c.walk(ctx, id, append(slices.Clone(path), id), paths); err != nil {
				return err
			}
		}
	}
	return nil
}

// accountsInOUs returns the accounts anywhere below Options.OUs. With paths
// from a full walk it needs no calls; otherwise it walks each OU's subtree.
func (c *collector) accountsInOUs(ctx context.Context, paths map[string][]string) (map[string]bool, error) {
	in := map[string]bool{}
	if paths != nil {
		for id, p := range paths {
			for _, ou := range c.opts.OUs {
				if slices.Contains(p, ou) || strings.HasPrefix(ou, "r-") {
					in[id] = true
				}
			}
		}
		return in, nil
	}
	for _, ou := range c.opts.OUs {
		sub := map[string][]string{}
		if err := c.walk(ctx, ou, []string{ou}, sub); err != nil {
			return nil, err
		}
		for id := range sub {
			in[id] = true
		}
	}
	return in, nil
}

// collectAll audits the accounts that are not skipped, at most
// Options.Concurrency at once, filling accounts in place.
func (c *collector) collectAll(ctx context.Context, accounts []inventory.Account) error {
	var todo []int
	for i, a := range accounts {
		if a.Status == "" {
			todo = append(todo, i)
		}
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, c.opts.Concurrency)
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("collect: %w", ctx.Err())
		}
		wg.Add(1)
		go func(a *inventory.Account) {
			defer wg.Done()
			defer func() { <-sem }()
			c.collectAccount(ctx, a)
			if c.opts.Collected != nil && a.Status == inventory.AccountAudited && ctx.Err() == nil {
				c.opts.Collected(ctx, a)
			}
			mu.Lock()
			defer mu.Unlock()
			done++
			if c.opts.Progress != nil && ctx.Err() == nil {
				c.opts.Progress(done, len(todo), a.ID)
			}
		}(&accounts[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	return nil
}

// apiCode returns the AWS error code inside err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// describe renders err for a Reason or CollectError: the operation, then the
// AWS error code and message when there is one, without the SDK's request
// details.
func describe(op string, err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			return op + ": " + ae.ErrorCode()
		}
		return op + ": " + ae.ErrorCode() + ": " + msg
	}
	return op + ": " + err.Error()
}
