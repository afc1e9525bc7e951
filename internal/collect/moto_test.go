package collect

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/mototest"
)

func startMoto(t *testing.T) string { return mototest.Start(t) }

func motoConfig(url string) aws.Config { return mototest.Config(url) }

var fastPoll = Poll{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Attempts: 10}

// TestMotoSingleAccount collects more than 100 users (the AWS sample's
// first-page bug) from moto, resolving every key to its ID.
func TestMotoSingleAccount(t *testing.T) {
	ctx := context.Background()
	cfg := motoConfig(startMoto(t))
	ic := iam.NewFromConfig(cfg)
	const n = 105
	wantKeys := map[string][]string{}
	for i := range n {
		name := fmt.Sprintf("user-%03d", i)
		path := "/"
		if i%10 == 0 {
			path = "/eng/team/"
		}
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String(path)}); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < i%3; k++ {
			out, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			wantKeys[name] = append(wantKeys[name], aws.ToString(out.AccessKey.AccessKeyId))
		}
	}
	if _, err := ic.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("user-001"), Password: aws.String("Passw0rd!Passw0rd")}); err != nil {
		t.Fatal(err)
	}

	opts := AWSOptions(cfg, Role{})
	opts.SingleAccount = true
	opts.ReportPoll = fastPoll
	var progress []string
	opts.Progress = func(done, total int, account string) {
		progress = append(progress, fmt.Sprintf("%d/%d %s", done, total, account))
	}
	snap, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != 1 {
		t.Fatalf("accounts = %d, want 1", len(snap.Accounts))
	}
	a := snap.Accounts[0]
	if a.Status != inventory.AccountAudited || a.ID != "123456789012" {
		t.Fatalf("account = %s %s (%s), want 123456789012 audited", a.ID, a.Status, a.Reason)
	}
	if diff := cmp.Diff([]string{"1/1 123456789012"}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if a.Root != nil {
		t.Errorf("moto's report has no root row, got Root %+v", a.Root)
	}
	if a.ReportGeneratedAt.IsZero() {
		t.Error("ReportGeneratedAt is zero")
	}
	if len(a.Users) != n {
		t.Fatalf("users = %d, want %d", len(a.Users), n)
	}
	gotKeys := map[string][]string{}
	for _, u := range a.Users {
		for _, k := range u.Keys {
			if k.ID == "" || k.Status != inventory.KeyActive || !k.LastUsedKnown || k.Slot == 0 {
				t.Errorf("%s key %+v: want ID, Active, slot and known last use", u.Name, k)
			}
			gotKeys[u.Name] = append(gotKeys[u.Name], k.ID)
		}
	}
	sortAll := cmp.Transformer("sort", func(in []string) []string { out := append([]string(nil), in...); sort.Strings(out); return out })
	if diff := cmp.Diff(wantKeys, gotKeys, sortAll); diff != "" {
		t.Errorf("key IDs (-want +got):\n%s", diff)
	}
	u0, u1 := a.Users[0], a.Users[1]
	if u0.Name != "user-000" || u0.Path != "/eng/team/" || u0.ARN != "arn:aws:iam::123456789012:user/eng/team/user-000" {
		t.Errorf("user-000 = %q %q %q", u0.Name, u0.Path, u0.ARN)
	}
	if u1.Password == nil || !u1.Password.Enabled || u0.Password != nil {
		t.Errorf("passwords: user-001 %+v, user-000 %+v", u1.Password, u0.Password)
	}
}

// TestMotoOrganization collects an organization of three accounts, two of
// them reached through AssumeRole, with OU paths and an OU filter.
func TestMotoOrganization(t *testing.T) {
	ctx := context.Background()
	cfg := motoConfig(startMoto(t))
	oc := organizations.NewFromConfig(cfg)
	if _, err := oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	rootID := aws.ToString(roots.Roots[0].Id)
	ou, err := oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(rootID), Name: aws.String("workloads")})
	if err != nil {
		t.Fatal(err)
	}
	ouID := aws.ToString(ou.OrganizationalUnit.Id)
	var members []string
	for _, name := range []string{"prod", "dev"} {
		out, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		members = append(members, id)
		if name == "prod" {
			if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(rootID), DestinationParentId: aws.String(ouID)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A user in prod, created through the role keyrot will assume.
	role := Role{Name: "KeyrotAudit"}
	assumed, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role.ARN("aws", members[0])), RoleSessionName: aws.String("setup")})
	if err != nil {
		t.Fatal(err)
	}
	pcfg := cfg.Copy()
	c := assumed.Credentials
	pcfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	if _, err := iam.NewFromConfig(pcfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")}); err != nil {
		t.Fatal(err)
	}

	opts := AWSOptions(cfg, role)
	opts.ReportPoll = fastPoll
	opts.OUPaths = true
	snap, err := Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	type acct struct {
		ID, Name string
		Status   inventory.AccountStatus
		OUPath   []string
		Users    []string
	}
	summarize := func(s *inventory.Snapshot) []acct {
		var out []acct
		for _, a := range s.Accounts {
			x := acct{ID: a.ID, Name: a.Name, Status: a.Status, OUPath: a.OUPath}
			for _, u := range a.Users {
				x.Users = append(x.Users, u.Name)
			}
			out = append(out, x)
		}
		return out
	}
	want := []acct{
		{ID: "123456789012", Name: "master", Status: inventory.AccountAudited},
		{ID: members[0], Name: "prod", Status: inventory.AccountAudited, OUPath: []string{ouID}, Users: []string{"deployer"}},
		{ID: members[1], Name: "dev", Status: inventory.AccountAudited},
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	if diff := cmp.Diff(want, summarize(snap)); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	if snap.OrganizationID == "" || snap.ManagementAccountID != "123456789012" {
		t.Errorf("organization %q management %q", snap.OrganizationID, snap.ManagementAccountID)
	}

	// Only the OU, without paths: walks the OU's subtree.
	opts.OUPaths = false
	opts.OUs = []string{ouID}
	opts.ExcludeAccounts = nil
	snap, err = Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]acct{{ID: members[0], Name: "prod", Status: inventory.AccountAudited, Users: []string{"deployer"}}}, summarize(snap)); diff != "" {
		t.Errorf("OU filter (-want +got):\n%s", diff)
	}
}
