package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// apiCode returns the AWS error code of err, or "" if it is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// orgEnv is an organization of 45 members: 40 active, 5 suspended, in two
// OUs under the root and one nested OU.
func orgEnv(t *testing.T) (*sandboxtest.Env, *organizations.Client, string) {
	t.Helper()
	env := sandboxtest.Start(t, "")
	org := organizations.NewFromConfig(env.Admin())
	roots, err := org.ListRoots(context.Background(), &organizations.ListRootsInput{})
	mustNoErr(t, err)
	if len(roots.Roots) != 1 {
		t.Fatalf("roots: %d", len(roots.Roots))
	}
	root := aws.ToString(roots.Roots[0].Id)
	mustNoErr(t, env.Server.AddOU("ou-test-prod0001", "prod", root))
	mustNoErr(t, env.Server.AddOU("ou-test-dev00001", "dev", root))
	mustNoErr(t, env.Server.AddOU("ou-test-payments", "payments", "ou-test-prod0001"))
	for i := range 45 {
		parent, status := "ou-test-dev00001", "ACTIVE"
		switch {
		case i%3 == 0:
			parent = "ou-test-prod0001"
		case i%3 == 1:
			parent = "ou-test-payments"
		}
		if i >= 40 {
			status = "SUSPENDED"
		}
		id := fmt.Sprintf("1000000000%02d", i)
		mustNoErr(t, env.Server.AddAccount(id, fmt.Sprintf("member-%02d", i), fmt.Sprintf("aws+%02d@example.com", i), parent, status))
	}
	mustNoErr(t, env.Server.TagAccount("100000000007", "owner", "payments-team"))
	return env, org, root
}

func TestOrganizationsListAccountsPagination(t *testing.T) {
	env, org, _ := orgEnv(t)
	ctx := context.Background()
	var (
		ids       []string
		suspended int
		pages     int
	)
	p := organizations.NewListAccountsPaginator(org, &organizations.ListAccountsInput{MaxResults: aws.Int32(20)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		mustNoErr(t, err)
		pages++
		if len(out.Accounts) > 20 {
			t.Fatalf("page of %d accounts", len(out.Accounts))
		}
		for _, a := range out.Accounts {
			ids = append(ids, aws.ToString(a.Id))
			if a.Status == orgtypes.AccountStatusSuspended {
				suspended++
				if a.State != orgtypes.AccountStateSuspended {
					t.Errorf("%s: state %q for a suspended account", aws.ToString(a.Id), a.State)
				}
			}
		}
	}
	if len(ids) != 46 || pages != 3 || suspended != 5 {
		t.Fatalf("got %d accounts (%d suspended) in %d pages, want 46 (5) in 3", len(ids), suspended, pages)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("account %s listed twice", id)
		}
		seen[id] = true
	}
	if !seen[env.Server.ManagementAccountID()] {
		t.Fatal("management account not listed")
	}

	_, err := org.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
	if apiCode(err) != "InvalidInputException" {
		t.Fatalf("MaxResults 21: want InvalidInputException, got %v", err)
	}
	_, err = org.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("bogus")})
	if apiCode(err) != "InvalidInputException" {
		t.Fatalf("bad token: want InvalidInputException, got %v", err)
	}
}

func TestOrganizationsDescribeAccount(t *testing.T) {
	env, org, _ := orgEnv(t)
	ctx := context.Background()
	out, err := org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("100000000041")})
	mustNoErr(t, err)
	a := out.Account
	desc, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	mustNoErr(t, err)
	orgID := aws.ToString(desc.Organization.Id)
	got := []string{aws.ToString(a.Email), aws.ToString(a.Name), string(a.Status), string(a.State), aws.ToString(a.Arn)}
	want := []string{"aws+41@example.com", "member-41", "SUSPENDED", "SUSPENDED",
		"arn:aws:organizations::" + env.Server.ManagementAccountID() + ":account/" + orgID + "/100000000041"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("account (-want +got):\n%s", d)
	}
	if a.JoinedTimestamp == nil || time.Since(*a.JoinedTimestamp) > time.Hour {
		t.Fatalf("joined %v", a.JoinedTimestamp)
	}
	if aws.ToString(desc.Organization.MasterAccountId) != env.Server.ManagementAccountID() {
		t.Fatalf("master account %s", aws.ToString(desc.Organization.MasterAccountId))
	}

	_, err = org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
	var nf *orgtypes.AccountNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("want AccountNotFoundException, got %v", err)
	}

	tags, err := org.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String("100000000007")})
	mustNoErr(t, err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" || aws.ToString(tags.Tags[0].Value) != "payments-team" {
		t.Fatalf("tags %+v", tags.Tags)
	}
}

func TestOrganizationsTreeWalk(t *testing.T) {
	env, org, root := orgEnv(t)
	ctx := context.Background()
	// Walk the tree from the root and count accounts per OU path.
	counts := map[string]int{}
	var walk func(parent, path string)
	walk = func(parent, path string) {
		ap := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for ap.HasMorePages() {
			out, err := ap.NextPage(ctx)
			mustNoErr(t, err)
			counts[path] += len(out.Accounts)
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for op.HasMorePages() {
			out, err := op.NextPage(ctx)
			mustNoErr(t, err)
			for _, ou := range out.OrganizationalUnits {
				walk(aws.ToString(ou.Id), path+"/"+aws.ToString(ou.Name))
			}
		}
	}
	walk(root, "")
	want := map[string]int{"": 1, "/prod": 15, "/prod/payments": 15, "/dev": 15}
	if d := cmp.Diff(want, counts); d != "" {
		t.Fatalf("accounts per OU (-want +got):\n%s", d)
	}

	parents, err := org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("ou-test-payments")})
	mustNoErr(t, err)
	if len(parents.Parents) != 1 || aws.ToString(parents.Parents[0].Id) != "ou-test-prod0001" || parents.Parents[0].Type != orgtypes.ParentTypeOrganizationalUnit {
		t.Fatalf("parents of payments: %+v", parents.Parents)
	}
	parents, err = org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(env.Server.ManagementAccountID())})
	mustNoErr(t, err)
	if aws.ToString(parents.Parents[0].Id) != root || parents.Parents[0].Type != orgtypes.ParentTypeRoot {
		t.Fatalf("parent of management: %+v", parents.Parents)
	}
	_, err = org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("ou-none-00000000")})
	if apiCode(err) != "ChildNotFoundException" {
		t.Fatalf("want ChildNotFoundException, got %v", err)
	}
	_, err = org.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-none-00000000")})
	if apiCode(err) != "ParentNotFoundException" {
		t.Fatalf("want ParentNotFoundException, got %v", err)
	}
}

func TestOrganizationsMemberAccountDenied(t *testing.T) {
	env, _, _ := orgEnv(t)
	ctx := context.Background()
	mustNoErr(t, env.Server.AddRole("100000000003", "OrganizationAccountAccessRole", nil, ""))
	cfg := assume(t, env, env.Admin(), "arn:aws:iam::100000000003:role/OrganizationAccountAccessRole", "")
	_, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	var ad *orgtypes.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("member ListAccounts: want AccessDeniedException, got %v", err)
	}
}

func TestOrganizationsThrottling(t *testing.T) {
	env, _, _ := orgEnv(t)
	ctx := context.Background()
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: "throttle", Service: "organizations", Times: 2}); err != nil {
		t.Fatal(err)
	}
	// Without retries the throttle surfaces.
	_, err := organizations.NewFromConfig(env.Admin()).ListAccounts(ctx, &organizations.ListAccountsInput{})
	var tm *orgtypes.TooManyRequestsException
	if !errors.As(err, &tm) {
		t.Fatalf("want TooManyRequestsException, got %v", err)
	}
	// With the SDK's standard retryer the second throttle is retried away.
	cfg := env.Admin()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	out, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	mustNoErr(t, err)
	if len(out.Accounts) != 20 {
		t.Fatalf("accounts %d", len(out.Accounts))
	}
	if f := env.Server.Faults(); f[0].Fired != 2 {
		t.Fatalf("fault fired %d times, want 2", f[0].Fired)
	}
}
