package collect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

const day = 24 * time.Hour

// sandboxPoll waits out the sandbox's two-second report generation.
var sandboxPoll = Poll{Initial: 200 * time.Millisecond, Max: 500 * time.Millisecond, Attempts: 30}

// retrying gives cfg a retryer like awsconf's (many attempts, no client-side
// retry quota) with backoffs short enough for tests.
func retrying(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 15
			o.MaxBackoff = 20 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

func sandboxOptions(env *sandboxtest.Env, cfg aws.Config) Options {
	opts := AWSOptions(cfg, Role{})
	opts.ReportPoll = sandboxPoll
	opts.Now = env.Server.Clock().Now
	opts.ResolveKeysOlderThan = 90 * day
	return opts
}

func accountByID(t *testing.T, s *inventory.Snapshot, id string) inventory.Account {
	t.Helper()
	for _, a := range s.Accounts {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no account %s in snapshot", id)
	return inventory.Account{}
}

func TestSandboxDemo(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx := context.Background()
	opts := sandboxOptions(env, env.Admin())
	opts.OUPaths = true
	var progress []int
	opts.Progress = func(done, total int, _ string) {
		if total != 8 { // 9 accounts, one suspended
			t.Errorf("progress total = %d, want 8", total)
		}
		progress = append(progress, done)
	}
	snap, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if snap.OrganizationID != "o-brightl00p1" || snap.ManagementAccountID != "210987654321" {
		t.Errorf("organization %q management %q", snap.OrganizationID, snap.ManagementAccountID)
	}
	var ids []string
	status := map[string]inventory.AccountStatus{}
	for _, a := range snap.Accounts {
		ids = append(ids, a.ID)
		status[a.ID] = a.Status
	}
	if diff := cmp.Diff([]string{"210987654321", "345678901234", "456789012345", "567890123456", "678901234567", "789012345678", "890123456780", "901234567801", "912345678012"}, ids); diff != "" {
		t.Errorf("account order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	legacy := accountByID(t, snap, "901234567801")
	if legacy.Status != inventory.AccountFailed || !strings.Contains(legacy.Reason, "AccessDenied") ||
		!strings.Contains(legacy.Reason, "arn:aws:iam::901234567801:role/OrganizationAccountAccessRole") || legacy.Users != nil {
		t.Errorf("account without the role: %s %q users=%d", legacy.Status, legacy.Reason, len(legacy.Users))
	}
	if susp := accountByID(t, snap, "912345678012"); susp.Status != inventory.AccountSkipped || susp.Reason != "account is SUSPENDED" {
		t.Errorf("suspended account: %s %q", susp.Status, susp.Reason)
	}

	mgmt := accountByID(t, snap, "210987654321")
	if mgmt.Status != inventory.AccountAudited || mgmt.Root == nil || !mgmt.Root.MFAActive || mgmt.Root.PasswordLastUsed == nil {
		t.Fatalf("management: %s %q root %+v", mgmt.Status, mgmt.Reason, mgmt.Root)
	}
	now := env.Server.Clock().Now()
	for _, a := range snap.Accounts {
		if a.Status != inventory.AccountAudited {
			continue
		}
		if len(a.OUPath) == 0 && a.ID != "210987654321" {
			t.Errorf("%s has no OU path", a.ID)
		}
		for _, u := range a.Users {
			for _, k := range u.Keys {
				old := now.Sub(k.CreateDate) >= 90*day
				if (old || len(u.Keys) > 1) && k.ID == "" {
					t.Errorf("%s/%s: key created %s has no ID", a.ID, u.Name, k.CreateDate)
				}
				if !old && len(u.Keys) == 1 && k.ID != "" {
					t.Errorf("%s/%s: young single key was resolved live (%s)", a.ID, u.Name, inventory.MaskKeyID(k.ID))
				}
			}
		}
	}

	// The resolved key IDs are the ones IAM lists.
	ic := iam.NewFromConfig(env.Admin())
	for _, u := range mgmt.Users {
		out, err := ic.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u.Name)})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, k := range out.AccessKeyMetadata {
			want[aws.ToString(k.AccessKeyId)] = true
		}
		for _, k := range u.Keys {
			if k.ID != "" && !want[k.ID] {
				t.Errorf("%s: collected key %s that IAM does not list", u.Name, inventory.MaskKeyID(k.ID))
			}
		}
		if len(u.Keys) != len(out.AccessKeyMetadata) {
			t.Errorf("%s: %d keys collected, IAM lists %d", u.Name, len(u.Keys), len(out.AccessKeyMetadata))
		}
	}
}

// TestSandboxThrottled collects the demo with 20% of calls throttled and
// must get exactly what an unthrottled run gets.
func TestSandboxThrottled(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx := context.Background()
	opts := sandboxOptions(env, retrying(env.Admin()))
	opts.NeedTagsGroups = true
	opts.OUPaths = true
	opts.AccountTags = true
	clean, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: "throttle", Probability: 0.2}); err != nil {
		t.Fatal(err)
	}
	throttled, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(clean, throttled, cmpopts.IgnoreFields(inventory.Snapshot{}, "CollectedAt")); diff != "" {
		t.Errorf("throttled run differs (-clean +throttled):\n%s", diff)
	}
	var fired int
	for _, f := range env.Server.Faults() {
		fired += f.Fired
	}
	if fired == 0 {
		t.Error("the throttle fault never fired")
	}
	a := accountByID(t, clean, "210987654321")
	for _, u := range a.Users {
		if u.Name == "alice.martin" && (u.Tags["team"] != "platform" || !cmp.Equal(u.Groups, []string{"admins"})) {
			t.Errorf("alice tags %v groups %v", u.Tags, u.Groups)
		}
	}
	if prod := accountByID(t, clean, "345678901234"); prod.Tags["env"] != "prod" {
		t.Errorf("prod account tags = %v", prod.Tags)
	}
}

// TestSandboxItemErrors: a failing GetAccessKeyLastUsed (read live with
// Fresh) leaves the key's use unknown and is recorded; it is never "never
// used".
func TestSandboxItemErrors(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: "error", Operation: "GetAccessKeyLastUsed", Account: "210987654321", Code: "AccessDenied", Status: 403, Message: "no"}); err != nil {
		t.Fatal(err)
	}
	opts := sandboxOptions(env, env.Admin())
	opts.SingleAccount = true
	opts.Fresh = true
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := snap.Accounts[0]
	if a.Status != inventory.AccountAudited {
		t.Fatalf("account %s: %s", a.Status, a.Reason)
	}
	failed := map[string]bool{}
	for _, e := range a.Errors {
		if e.Op != "GetAccessKeyLastUsed" || !strings.Contains(e.Message, "AccessDenied") {
			t.Errorf("unexpected error entry %+v", e)
		}
		failed[e.KeyID] = true
	}
	var resolved int
	for _, u := range a.Users {
		for _, k := range u.Keys {
			if k.ID == "" {
				continue
			}
			resolved++
			if k.LastUsedKnown || k.LastUsed != nil || !failed[k.ID] {
				t.Errorf("%s key %s: known=%v lastUsed=%v recorded=%v", u.Name, inventory.MaskKeyID(k.ID), k.LastUsedKnown, k.LastUsed, failed[k.ID])
			}
		}
	}
	if resolved == 0 || len(a.Errors) != resolved {
		t.Errorf("resolved %d keys, %d errors", resolved, len(a.Errors))
	}
}

// bigScenario writes a scenario with one member account of n users, each
// with one young, recently used key.
func bigScenario(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString(`description: big compliant account
organization:
  id: o-big0000001
  role_name: OrganizationAccountAccessRole
  management:
    id: "111111111111"
    name: mgmt
    email: mgmt@big.example
accounts:
  - id: "222222222222"
    name: big
    email: big@big.example
    users:
`)
	for i := range n {
		fmt.Fprintf(&b, "      - name: user-%04d\n        keys:\n          - {age: %dd, last_used: 1d, service: s3, region: us-east-1}\n", i, 5+i%60)
	}
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func callTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestSandboxCompliantAccountIsCheap: 500 users with young keys cost no more
// than five IAM/STS calls in that account.
func TestSandboxCompliantAccountIsCheap(t *testing.T) {
	env := sandboxtest.Start(t, bigScenario(t, 500))
	opts := sandboxOptions(env, env.Admin())
	opts.Accounts = []string{"222222222222"}
	// The sandbox, like IAM, takes about two seconds to build a report:
	// the default first wait sees it complete at the second call.
	opts.ReportPoll = Poll{}
	env.Server.ResetCallCounts()
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := accountByID(t, snap, "222222222222")
	if a.Status != inventory.AccountAudited || len(a.Users) != 500 {
		t.Fatalf("account %s %q with %d users", a.Status, a.Reason, len(a.Users))
	}
	counts := env.Server.CallCounts()
	calls := callTotal(counts["222222222222"]) + counts["111111111111"]["sts:AssumeRole"]
	if calls > 5 {
		t.Errorf("compliant 500-user account cost %d calls, want <= 5: %v, assume %d", calls, counts["222222222222"], counts["111111111111"]["sts:AssumeRole"])
	}
	if counts["222222222222"]["iam:GetCredentialReport"] != 1 {
		t.Errorf("calls %v", counts["222222222222"])
	}
}

// TestSandboxFreshFindsKeysAfterReport: IAM serves the same report for four
// hours, so a key created after it is only seen with Fresh; more than 100
// users also checks ListUsers pagination.
func TestSandboxFreshFindsKeysAfterReport(t *testing.T) {
	env := sandboxtest.Start(t, bigScenario(t, 150))
	ctx := context.Background()
	opts := sandboxOptions(env, env.Admin())
	opts.Accounts = []string{"222222222222"}
	if _, err := Collect(ctx, opts); err != nil {
		t.Fatal(err)
	}
	member, err := NewIAMFactory(env.Admin(), Role{})(ctx, Target{AccountID: "222222222222", Partition: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	ic := member.(*iam.Client)
	created, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("user-0120")})
	if err != nil {
		t.Fatal(err)
	}
	newID := aws.ToString(created.AccessKey.AccessKeyId)
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("zz-new")}); err != nil {
		t.Fatal(err)
	}

	keysOf := func(s *inventory.Snapshot, user string) []inventory.AccessKey {
		for _, u := range accountByID(t, s, "222222222222").Users {
			if u.Name == user {
				return u.Keys
			}
		}
		return nil
	}
	stale, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(keysOf(stale, "user-0120")); n != 1 {
		t.Fatalf("without Fresh, user-0120 has %d keys; the cached report should show 1", n)
	}

	opts.Fresh = true
	env.Server.ResetCallCounts()
	fresh, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := accountByID(t, fresh, "222222222222")
	if len(a.Users) != 151 || a.Users[150].Name != "zz-new" {
		t.Fatalf("fresh run has %d users (last %q), want 151 ending with zz-new", len(a.Users), a.Users[len(a.Users)-1].Name)
	}
	var found bool
	for _, k := range keysOf(fresh, "user-0120") {
		if k.ID == newID {
			found = true
			if k.Slot != 0 || !k.LastUsedKnown || k.LastUsed != nil || k.Status != inventory.KeyActive {
				t.Errorf("new key = %+v, want no slot, known never used, active", k)
			}
		} else if k.Slot != 1 || k.LastUsed == nil {
			t.Errorf("report key = %+v, want slot 1 with last use", k)
		}
	}
	if !found {
		t.Errorf("key created after the report not found with Fresh: %+v", keysOf(fresh, "user-0120"))
	}
	if n := env.Server.CallCounts()["222222222222"]["iam:ListUsers"]; n < 1 {
		t.Errorf("ListUsers calls = %d", n)
	}
}

// TestSandboxCancel stops cleanly when the context is cancelled mid-run.
func TestSandboxCancel(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := sandboxOptions(env, env.Admin())
	opts.Concurrency = 1
	var calls int
	opts.Progress = func(done, total int, account string) {
		calls++
		cancel()
	}
	snap, err := Collect(ctx, opts)
	if !errors.Is(err, context.Canceled) || snap != nil {
		t.Fatalf("Collect = %v, %v; want nil, context.Canceled", snap, err)
	}
	if calls != 1 {
		t.Errorf("progress called %d times after cancel, want 1", calls)
	}
}

// TestSandboxReportPolledWithGet: a report IAM has just started is waited
// for with GetCredentialReport (ReportInProgress until it is built), so
// GenerateCredentialReport is called once however long the build takes;
// with an instant build the account's report costs exactly two calls.
func TestSandboxReportPolledWithGet(t *testing.T) {
	for _, tc := range []struct {
		name      string
		build     time.Duration
		wantGets  func(int) bool
		wantWords string
	}{
		{"instant", 0, func(n int) bool { return n == 1 }, "exactly 1"},
		{"three seconds", 3 * time.Second, func(n int) bool { return n >= 2 }, "at least 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := sandboxtest.Start(t, bigScenario(t, 20))
			env.Server.SetReportBuildTime(tc.build)
			opts := sandboxOptions(env, env.Admin())
			opts.Accounts = []string{"222222222222"}
			opts.ReportPoll = Poll{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Attempts: 40}
			env.Server.ResetCallCounts()
			snap, err := Collect(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if a := accountByID(t, snap, "222222222222"); a.Status != inventory.AccountAudited || len(a.Users) != 20 {
				t.Fatalf("account %s %q with %d users", a.Status, a.Reason, len(a.Users))
			}
			ops := env.Server.CallCounts()["222222222222"]
			if n := ops["iam:GenerateCredentialReport"]; n != 1 {
				t.Errorf("%d GenerateCredentialReport calls, want 1: %v", n, ops)
			}
			if n := ops["iam:GetCredentialReport"]; !tc.wantGets(n) {
				t.Errorf("%d GetCredentialReport calls, want %s: %v", n, tc.wantWords, ops)
			}
		})
	}
}

// TestSandboxCollectedHook: Options.Collected is called once for each
// audited account, as soon as it is collected (its users are there), and
// never for a failed or skipped one.
func TestSandboxCollectedHook(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	env.Server.SetReportBuildTime(0)
	opts := sandboxOptions(env, env.Admin())
	opts.ReportPoll = Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
	var mu sync.Mutex
	seen := map[string]int{}
	users := map[string]int{}
	opts.Collected = func(_ context.Context, a *inventory.Account) {
		mu.Lock()
		defer mu.Unlock()
		seen[a.ID]++
		users[a.ID] = len(a.Users)
	}
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	notAudited := 0
	for _, a := range snap.Accounts {
		if a.Status == inventory.AccountAudited {
			want[a.ID] = 1
			if users[a.ID] != len(a.Users) {
				t.Errorf("account %s: the hook saw %d users, the snapshot has %d", a.ID, users[a.ID], len(a.Users))
			}
		} else {
			notAudited++
		}
	}
	if notAudited == 0 {
		t.Fatal("the demo organization should have an account that is not audited")
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("accounts the hook saw (-audited +seen):\n%s", diff)
	}
}
