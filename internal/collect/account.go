package collect

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/keyrot/keyrot/internal/credreport"
	"github.com/keyrot/keyrot/internal/inventory"
)

// maxItems is the page size asked of IAM list calls (IAM's maximum).
const maxItems = 1000

// accountRun is the collection of one account.
type accountRun struct {
	c    *collector
	iam  IAMAPI
	acct *inventory.Account
	// mu guards acct.Errors: users are looked up several at once.
	mu sync.Mutex
}

// perAccountLookups is how many users of one account are looked up at once
// (key IDs, last use): an account with many due users is not worked one
// by one, and stays well inside IAM's per-account rate.
const perAccountLookups = 4

// errf records a per-item problem on the account.
func (r *accountRun) errf(user, keyID, op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acct.Errors = append(r.acct.Errors, inventory.CollectError{User: user, KeyID: keyID, Op: op, Message: describe(op, err)})
	r.c.log.Warn("collect item", "account", r.acct.ID, "user", user, "key", inventory.MaskKeyID(keyID), "op", op, "code", apiCode(err))
}

// collectAccount fills a with what its IAM holds, or marks it failed.
func (c *collector) collectAccount(ctx context.Context, a *inventory.Account) {
	fail := func(op string, err error) {
		if ctx.Err() != nil {
			return
		}
		a.Status = inventory.AccountFailed
		a.Reason = describe(op, err)
		a.Root, a.Users = nil, nil
		c.log.Info("account failed", "account", a.ID, "reason", a.Reason) // the report and the exit message say it; a warning would say it twice
	}
	if c.opts.AccountTags && c.opts.Organizations != nil && a.ID != "" && !c.opts.SingleAccount {
		c.accountTags(ctx, a)
	}
	client, err := c.opts.IAM(ctx, Target{AccountID: a.ID, Partition: c.partition, Own: a.ID == c.self})
	if err != nil {
		fail(stepOf(err, "get IAM client"))
		return
	}
	r := &accountRun{c: c, iam: client, acct: a}
	if err := r.run(ctx); err != nil {
		fail(stepOf(err, "collect"))
		return
	}
	a.Status = inventory.AccountAudited
}

// StepError is a failure of one step of collecting an account; Op names the
// step ("assume role arn:...", "generate credential report", ...).
type StepError struct {
	Op  string
	Err error
}

// Error implements error.
func (e *StepError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// stepOf splits err into its step and cause, naming it op if it has no step.
func stepOf(err error, op string) (string, error) {
	var se *StepError
	if errors.As(err, &se) {
		return se.Op, se.Err
	}
	return op, err
}

func (c *collector) accountTags(ctx context.Context, a *inventory.Account) {
	pages := organizations.NewListTagsForResourcePaginator(c.opts.Organizations, &organizations.ListTagsForResourceInput{ResourceId: aws.String(a.ID)})
	tags := map[string]string{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			op := "ListTagsForResource"
			a.Errors = append(a.Errors, inventory.CollectError{Op: op, Message: describe(op, err)})
			return
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if len(tags) > 0 {
		a.Tags = tags
	}
}

func (r *accountRun) run(ctx context.Context) error {
	rep, generated, err := r.credentialReport(ctx)
	if err != nil {
		return err
	}
	r.acct.ReportGeneratedAt = generated
	if rep.Root != nil {
		root := &inventory.Root{MFAActive: rep.Root.MFAActive.True(), PasswordLastUsed: rep.Root.PasswordLastUsed.Ptr()}
		root.Keys = keysFromRow(*rep.Root)
		r.acct.Root = root
	}
	users := make([]inventory.User, 0, len(rep.Users))
	for _, row := range rep.Users {
		users = append(users, userFromRow(row))
	}

	fresh := r.c.opts.Fresh || (r.c.opts.FreshAfter > 0 && r.c.now().Sub(generated) > r.c.opts.FreshAfter)
	if fresh {
		users, err = r.liveUsers(ctx, users)
		if err != nil {
			return err
		}
	}
	now := r.c.now()
	sem := make(chan struct{}, perAccountLookups)
	var wg sync.WaitGroup
	for i := range users {
		if err := ctx.Err(); err != nil {
			break
		}
		u := &users[i]
		if !fresh && !r.needsKeyIDs(*u, now) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.resolveKeys(ctx, u, fresh)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	r.iamKinds(ctx, users)
	var wantTags []*inventory.User
	for i := range users {
		u := &users[i]
		if r.c.opts.NeedTagsGroups && u.Name != "" && r.wantTagsGroups(u) {
			wantTags = append(wantTags, u)
		}
	}
	r.readTagsGroups(ctx, wantTags)
	// Users found deleted since the report have lost their names: drop them.
	kept := users[:0]
	for _, u := range users {
		if u.Name != "" {
			kept = append(kept, u)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
	r.acct.Users = kept
	r.accountKinds(ctx)
	return ctx.Err()
}

// credentialReport asks IAM for a report and reads it once it is
// complete. A report younger than four hours is served at once
// (GenerateCredentialReport answers COMPLETE); otherwise IAM starts one,
// and it is then polled with GetCredentialReport alone, which answers
// ReportInProgress until it is ready: a new report costs two calls, not
// three. A report gone missing or expired meanwhile is generated again.
func (r *accountRun) credentialReport(ctx context.Context) (*credreport.Report, time.Time, error) {
	poll := r.c.opts.ReportPoll
	delay := poll.Initial
	generate := true
	var state iamtypes.ReportStateType
	for attempt := 1; ; attempt++ {
		if generate {
			gen, err := r.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
			if err != nil {
				return nil, time.Time{}, &StepError{"generate credential report", err}
			}
			state = gen.State
		}
		if generate && state != iamtypes.ReportStateTypeComplete {
			generate = false // started or in progress: read it after a wait
		} else {
			out, err := r.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
			switch code := apiCode(err); {
			case err == nil:
				rep, err := credreport.Parse(bytes.NewReader(out.Content))
				if err != nil {
					return nil, time.Time{}, &StepError{"parse credential report", err}
				}
				return rep, aws.ToTime(out.GeneratedTime).UTC(), nil
			case code == "ReportInProgress":
				generate, state = false, iamtypes.ReportStateTypeInprogress
			case code == "ReportExpired" || code == "ReportNotPresent":
				generate = true
			default:
				return nil, time.Time{}, &StepError{"get credential report", err}
			}
		}
		if attempt >= poll.Attempts {
			return nil, time.Time{}, &StepError{"generate credential report", fmt.Errorf("report not complete after %d attempts (state %s)", attempt, state)}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, time.Time{}, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, poll.Max)
	}
}

// userFromRow builds a user from its report row. The strings it keeps are
// copies: a row's fields share one string per report line, which would
// otherwise stay in memory for the whole run.
func userFromRow(row credreport.Row) inventory.User {
	arn := strings.Clone(row.ARN)
	u := inventory.User{
		Name:       strings.Clone(row.User),
		ARN:        arn,
		Path:       pathFromARN(arn),
		CreateDate: row.UserCreationTime.Time,
		MFAActive:  row.MFAActive.True(),
	}
	if row.PasswordEnabled.True() {
		u.Password = &inventory.Password{
			Enabled:      true,
			LastUsed:     row.PasswordLastUsed.Ptr(),
			LastChanged:  row.PasswordLastChanged.Ptr(),
			NextRotation: row.PasswordNextRotation.Ptr(),
		}
	}
	u.Keys = keysFromRow(row)
	u.SigningCertificates = certsFromRow(row)
	return u
}

// keysFromRow returns the row's occupied key slots.
func keysFromRow(row credreport.Row) []inventory.AccessKey {
	var keys []inventory.AccessKey
	for i, k := range row.AccessKeys {
		if !k.Present() {
			continue
		}
		ak := inventory.AccessKey{Slot: i + 1, Status: inventory.KeyInactive, CreateDate: k.LastRotated.Time}
		if k.Active.True() {
			ak.Status = inventory.KeyActive
		}
		switch k.LastUsedDate.State {
		case credreport.StateValue:
			ak.LastUsed = k.LastUsedDate.Ptr()
			ak.LastUsedKnown = true
			if k.LastUsedService.State == credreport.StateValue {
				ak.LastUsedService = unique.Make(k.LastUsedService.Value).Value()
			}
			if k.LastUsedRegion.State == credreport.StateValue {
				ak.LastUsedRegion = unique.Make(k.LastUsedRegion.Value).Value()
			}
		case credreport.StateNotApplicable:
			ak.LastUsedKnown = true // never used
		}
		keys = append(keys, ak)
	}
	return keys
}

// pathFromARN returns an IAM user's path from its ARN
// (arn:aws:iam::123456789012:user/division/team/alice -> /division/team/).
func pathFromARN(arn string) string {
	i := strings.Index(arn, ":user/")
	if i < 0 {
		return ""
	}
	res := arn[i+len(":user"):]
	j := strings.LastIndex(res, "/")
	return res[:j+1]
}

// needsKeyIDs reports whether the report's facts are not enough for u.
func (r *accountRun) needsKeyIDs(u inventory.User, now time.Time) bool {
	if len(u.Keys) == 0 {
		return false
	}
	if f := r.c.opts.KeyIDsFor; f != nil {
		return f(r.acct, &u)
	}
	if len(u.Keys) > 1 {
		return true
	}
	for _, k := range u.Keys {
		if now.Sub(k.CreateDate) >= r.c.opts.ResolveKeysOlderThan {
			return true
		}
	}
	return false
}

// liveUsers lists users live: report users that no longer exist are dropped,
// users created since the report are added.
func (r *accountRun) liveUsers(ctx context.Context, fromReport []inventory.User) ([]inventory.User, error) {
	byName := map[string]inventory.User{}
	for _, u := range fromReport {
		byName[u.Name] = u
	}
	var out []inventory.User
	pages := iam.NewListUsersPaginator(r.iam, &iam.ListUsersInput{MaxItems: aws.Int32(maxItems)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, &StepError{"list users", err}
		}
		for _, lu := range page.Users {
			name := aws.ToString(lu.UserName)
			if u, ok := byName[name]; ok {
				out = append(out, u)
				continue
			}
			out = append(out, r.newUser(ctx, lu))
		}
	}
	return out, nil
}

// newUser builds a user the report does not know yet.
func (r *accountRun) newUser(ctx context.Context, lu iamtypes.User) inventory.User {
	u := inventory.User{
		Name:       aws.ToString(lu.UserName),
		ARN:        aws.ToString(lu.Arn),
		Path:       aws.ToString(lu.Path),
		CreateDate: aws.ToTime(lu.CreateDate).UTC(),
	}
	lp, err := r.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: lu.UserName})
	switch {
	case err == nil:
		u.Password = &inventory.Password{Enabled: true, LastUsed: utcPtr(lu.PasswordLastUsed)}
		if lp.LoginProfile != nil {
			u.Password.LastChanged = utcPtr(lp.LoginProfile.CreateDate)
		}
	case apiCode(err) == "NoSuchEntity":
	default:
		r.errf(u.Name, "", "GetLoginProfile", err)
	}
	mfa, err := r.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: lu.UserName, MaxItems: aws.Int32(maxItems)})
	if err != nil {
		r.errf(u.Name, "", "ListMFADevices", err)
	} else {
		u.MFAActive = len(mfa.MFADevices) > 0
	}
	return u
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// resolveKeys lists u's keys and maps them to report slots by creation
// time. Last-used facts come from the report for keys it knows; they are
// read live (GetAccessKeyLastUsed) when live is set, and for keys the
// report does not know or could not say. The executor reads them live
// again before it deactivates or deletes a key. A user that no longer
// exists gets an empty name, which run drops. On a failed listing the
// report's facts stay.
func (r *accountRun) resolveKeys(ctx context.Context, u *inventory.User, live bool) {
	var listed []iamtypes.AccessKeyMetadata
	pages := iam.NewListAccessKeysPaginator(r.iam, &iam.ListAccessKeysInput{UserName: aws.String(u.Name), MaxItems: aws.Int32(maxItems)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if apiCode(err) == "NoSuchEntity" {
				u.Name = "" // deleted since the report (or since ListUsers)
				return
			}
			r.errf(u.Name, "", "ListAccessKeys", err)
			return
		}
		listed = append(listed, page.AccessKeyMetadata...)
	}
	sort.Slice(listed, func(i, j int) bool { return aws.ToTime(listed[i].CreateDate).Before(aws.ToTime(listed[j].CreateDate)) })

	var keys []inventory.AccessKey
	used := make([]bool, len(u.Keys))
	for _, lk := range listed {
		created := aws.ToTime(lk.CreateDate).UTC()
		k := inventory.AccessKey{ID: aws.ToString(lk.AccessKeyId), Status: inventory.KeyStatus(lk.Status), CreateDate: created}
		var fromReport *inventory.AccessKey
		for i, rk := range u.Keys {
			if !used[i] && rk.CreateDate.Equal(created.Truncate(time.Second)) {
				used[i] = true
				k.Slot = rk.Slot
				fromReport = &u.Keys[i]
				break
			}
		}
		if !live && fromReport != nil && fromReport.LastUsedKnown {
			k.LastUsed, k.LastUsedService, k.LastUsedRegion, k.LastUsedKnown = fromReport.LastUsed, fromReport.LastUsedService, fromReport.LastUsedRegion, true
		} else {
			r.lastUsed(ctx, u.Name, &k)
		}
		keys = append(keys, k)
	}
	u.Keys = keys
}

// lastUsed reads a key's last-used facts; on failure they stay unknown.
func (r *accountRun) lastUsed(ctx context.Context, user string, k *inventory.AccessKey) {
	k.LastUsed, k.LastUsedService, k.LastUsedRegion, k.LastUsedKnown = nil, "", "", false
	out, err := r.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(k.ID)})
	if err != nil {
		r.errf(user, k.ID, "GetAccessKeyLastUsed", err)
		return
	}
	k.LastUsedKnown = true
	if lu := out.AccessKeyLastUsed; lu != nil {
		k.LastUsed = utcPtr(lu.LastUsedDate)
		if s := aws.ToString(lu.ServiceName); s != "N/A" {
			k.LastUsedService = s
		}
		if s := aws.ToString(lu.Region); s != "N/A" {
			k.LastUsedRegion = s
		}
	}
}

// wantTagsGroups reports whether u's tags and groups should be read: by
// Options.TagsGroupsFor when set, else for every user with a credential.
func (r *accountRun) wantTagsGroups(u *inventory.User) bool {
	if f := r.c.opts.TagsGroupsFor; f != nil {
		return f(r.acct, u)
	}
	return len(u.Keys) > 0 || u.Password != nil || u.HasOtherCredentials()
}

// bulkTagsMin is how many users must need tags and groups before one
// GetAccountAuthorizationDetails listing (tags and groups of every user,
// a page per 1,000 users) is cheaper than ListUserTags and
// ListGroupsForUser for each of them.
const bulkTagsMin = 2

// readTagsGroups fills the tags and groups of users: for a few, with two
// calls each; for more, from the account's authorization details, falling
// back to per-user calls if that is denied or fails.
func (r *accountRun) readTagsGroups(ctx context.Context, users []*inventory.User) {
	if len(users) >= bulkTagsMin {
		err := r.bulkTagsGroups(ctx, users)
		if err == nil {
			return
		}
		r.c.log.Info("authorization details unavailable; reading tags and groups per user", "account", r.acct.ID, "code", apiCode(err))
	}
	for _, u := range users {
		if ctx.Err() != nil {
			return
		}
		r.tagsAndGroups(ctx, u)
	}
}

// bulkTagsGroups fills the users' tags and groups from
// GetAccountAuthorizationDetails (Filter User). Nothing is filled unless
// every page was read.
func (r *accountRun) bulkTagsGroups(ctx context.Context, users []*inventory.User) error {
	type details struct {
		tags   map[string]string
		groups []string
	}
	byName := map[string]details{}
	sets := tagSets{}
	pages := iam.NewGetAccountAuthorizationDetailsPaginator(r.iam, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []iamtypes.EntityType{iamtypes.EntityTypeUser}, MaxItems: aws.Int32(maxItems)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, d := range page.UserDetailList {
			groups := append([]string(nil), d.GroupList...)
			sort.Strings(groups)
			byName[aws.ToString(d.UserName)] = details{tags: sets.of(d.Tags), groups: groups}
		}
	}
	for _, u := range users {
		d, ok := byName[u.Name]
		if !ok {
			// Created or deleted since the listing: ask for it alone.
			r.tagsAndGroups(ctx, u)
			continue
		}
		u.Tags, u.Groups = d.tags, d.groups
	}
	return nil
}

// tagSets shares one map among the users of an account whose tags are the
// same (owner, team and cost-centre tags repeat across users): an
// organization's users hold one map per set of tags, not one each. The
// inventory's tag maps are only ever read.
type tagSets map[string]map[string]string

// of returns the map of tags (nil for none), shared with every user
// given the same tags before.
func (ts tagSets) of(tags []iamtypes.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	sorted := slices.SortedFunc(slices.Values(tags), func(a, b iamtypes.Tag) int {
		return cmp.Compare(aws.ToString(a.Key), aws.ToString(b.Key))
	})
	var id strings.Builder
	for _, t := range sorted {
		id.WriteString(aws.ToString(t.Key))
		id.WriteByte(0)
		id.WriteString(aws.ToString(t.Value))
		id.WriteByte(0)
	}
	if m, ok := ts[id.String()]; ok {
		return m
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	ts[id.String()] = m
	return m
}

// tagsAndGroups fills u's tags and group names.
func (r *accountRun) tagsAndGroups(ctx context.Context, u *inventory.User) {
	if u.Name == "" {
		return
	}
	tags := map[string]string{}
	tp := iam.NewListUserTagsPaginator(r.iam, &iam.ListUserTagsInput{UserName: aws.String(u.Name), MaxItems: aws.Int32(maxItems)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			r.errf(u.Name, "", "ListUserTags", err)
			tags = nil
			break
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if len(tags) > 0 {
		u.Tags = tags
	}
	var groups []string
	gp := iam.NewListGroupsForUserPaginator(r.iam, &iam.ListGroupsForUserInput{UserName: aws.String(u.Name), MaxItems: aws.Int32(maxItems)})
	for gp.HasMorePages() {
		page, err := gp.NextPage(ctx)
		if err != nil {
			r.errf(u.Name, "", "ListGroupsForUser", err)
			return
		}
		for _, g := range page.Groups {
			groups = append(groups, aws.ToString(g.GroupName))
		}
	}
	sort.Strings(groups)
	u.Groups = groups
}
