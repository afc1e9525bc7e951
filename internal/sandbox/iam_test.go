package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// iamEnv starts an empty sandbox and returns it with an admin IAM client.
func iamEnv(t testing.TB) (*sandboxtest.Env, *iam.Client) {
	t.Helper()
	env := sandboxtest.Start(t, "")
	return env, iam.NewFromConfig(env.Admin())
}

// wantAPIError checks that err is an AWS error with the code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s (%d), got %v", code, status, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want code %s, got %s: %v", code, ae.ErrorCode(), err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("%s: want HTTP %d, got %d", code, status, re.HTTPStatusCode())
	}
	return ae
}

func mustCreateUser(t testing.TB, c *iam.Client, name string) *types.User {
	t.Helper()
	out, err := c.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return out.User
}

func mustCreateKey(t testing.TB, c *iam.Client, user string) *types.AccessKey {
	t.Helper()
	in := &iam.CreateAccessKeyInput{}
	if user != "" {
		in.UserName = aws.String(user)
	}
	out, err := c.CreateAccessKey(context.Background(), in)
	if err != nil {
		t.Fatalf("create access key for %q: %v", user, err)
	}
	return out.AccessKey
}

// callerVia makes an STS call signed with the key in the given region.
func callerVia(env *sandboxtest.Env, k *types.AccessKey, region string) error {
	cfg := env.Config(*k.AccessKeyId, *k.SecretAccessKey, "")
	cfg.Region = region
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

func TestIAMUsers(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	acct := env.Server.ManagementAccountID()

	out, err := c.CreateUser(ctx, &iam.CreateUserInput{
		UserName: aws.String("alice"), Path: aws.String("/eng/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}, {Key: aws.String("owner"), Value: aws.String("")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if got, want := *u.Arn, "arn:aws:iam::"+acct+":user/eng/alice"; got != want {
		t.Errorf("arn %s, want %s", got, want)
	}
	if !strings.HasPrefix(*u.UserId, "AIDA") || len(*u.UserId) != 21 {
		t.Errorf("user id %s", *u.UserId)
	}
	if *u.Path != "/eng/" || u.CreateDate == nil {
		t.Errorf("path %s create %v", *u.Path, u.CreateDate)
	}

	got, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ALICE")})
	if err != nil {
		t.Fatal(err)
	}
	if *got.User.UserName != "alice" {
		t.Errorf("case-insensitive lookup got %s", *got.User.UserName)
	}
	tags := map[string]string{}
	for _, tg := range got.User.Tags {
		tags[*tg.Key] = *tg.Value
	}
	if d := cmp.Diff(map[string]string{"team": "core", "owner": ""}, tags); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}

	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice")})
	ae := wantAPIError(t, err, "EntityAlreadyExists", 409)
	if ae.ErrorMessage() != "User with name Alice already exists." {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	ae = wantAPIError(t, err, "NoSuchEntity", 404)
	if ae.ErrorMessage() != "The user with name nobody cannot be found." {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("SDK did not map NoSuchEntity to its typed error: %T", err)
	}

	mustCreateUser(t, c, "bob")
	lu, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/eng")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lu.Users) != 1 || *lu.Users[0].UserName != "alice" || lu.IsTruncated {
		t.Errorf("path prefix /eng listed %+v", lu.Users)
	}

	// Admin GetUser without a name describes the sandbox admin.
	me, err := c.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *me.User.Arn != "arn:aws:iam::"+acct+":user/sandbox-admin" {
		t.Errorf("admin GetUser arn %s", *me.User.Arn)
	}

	// Tags.
	if _, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []types.Tag{{Key: aws.String("TEAM"), Value: aws.String("sec")}, {Key: aws.String("cost"), Value: aws.String("42")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	var kv []string
	for _, tg := range lt.Tags {
		kv = append(kv, *tg.Key+"="+*tg.Value)
	}
	if d := cmp.Diff([]string{"TEAM=sec", "cost=42"}, kv); d != "" {
		t.Errorf("tags after tag/untag (-want +got):\n%s", d)
	}
	_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}})
	wantAPIError(t, err, "InvalidInput", 400)
	_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("nobody"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantAPIError(t, err, "NoSuchEntity", 404)

	// Validation of names and paths.
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad name")})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(strings.Repeat("x", 65))})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol"), Path: aws.String("eng")})
	wantAPIError(t, err, "ValidationError", 400)
}

func TestIAMDeleteUserConflicts(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "dave")
	k := mustCreateKey(t, c, "dave")
	if _, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dave"), Password: aws.String("Correct-Horse-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("dave"), SerialNumber: aws.String("arn:aws:iam::" + env.Server.ManagementAccountID() + ":mfa/dave"), AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		msg     string
		resolve func() error
	}{
		{"Cannot delete entity, must delete access keys first.", func() error {
			_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("dave"), AccessKeyId: k.AccessKeyId})
			return err
		}},
		{"Cannot delete entity, must delete login profile first.", func() error {
			_, err := c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("dave")})
			return err
		}},
		{"Cannot delete entity, must delete MFA device first.", func() error {
			_, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("dave"), SerialNumber: aws.String("arn:aws:iam::" + env.Server.ManagementAccountID() + ":mfa/dave")})
			return err
		}},
		{"Cannot delete entity, must remove users from group first.", func() error {
			_, err := c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dave")})
			return err
		}},
	}
	for _, st := range steps {
		_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dave")})
		ae := wantAPIError(t, err, "DeleteConflict", 409)
		if ae.ErrorMessage() != st.msg {
			t.Errorf("message %q, want %q", ae.ErrorMessage(), st.msg)
		}
		if err := st.resolve(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dave")})
	wantAPIError(t, err, "NoSuchEntity", 404)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dave")})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestIAMListUsersPagination(t *testing.T) {
	_, c := iamEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 250 {
		n := fmt.Sprintf("user-%03d", i)
		mustCreateUser(t, c, n)
		want = append(want, n)
	}
	var got []string
	var pages []int
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{MaxItems: aws.Int32(100)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(out.Users))
		for _, u := range out.Users {
			got = append(got, *u.UserName)
		}
	}
	if d := cmp.Diff([]int{100, 100, 50}, pages); d != "" {
		t.Errorf("page sizes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("users in name order (-want +got):\n%s", d)
	}

	// The default page is 100 items.
	out, err := c.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 100 || !out.IsTruncated || out.Marker == nil {
		t.Errorf("default page: %d users, truncated %v", len(out.Users), out.IsTruncated)
	}

	for _, max := range []int32{0, -1, 1001} {
		_, err := c.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(max)})
		wantAPIError(t, err, "ValidationError", 400)
	}
	_, err = c.ListUsers(ctx, &iam.ListUsersInput{Marker: aws.String("not-a-marker")})
	wantAPIError(t, err, "ValidationError", 400)
}

func TestIAMGroups(t *testing.T) {
	_, c := iamEnv(t)
	ctx := context.Background()
	g, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops"), Path: aws.String("/teams/")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*g.Group.GroupId, "AGPA") || !strings.HasSuffix(*g.Group.Arn, ":group/teams/ops") {
		t.Errorf("group %s %s", *g.Group.GroupId, *g.Group.Arn)
	}
	_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("OPS")})
	wantAPIError(t, err, "EntityAlreadyExists", 409)
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("audit")}); err != nil {
		t.Fatal(err)
	}

	var members []string
	for i := range 5 {
		n := fmt.Sprintf("m%d", i)
		mustCreateUser(t, c, n)
		members = append(members, n)
		if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("audit"), UserName: aws.String("m0")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("nope"), UserName: aws.String("m0")})
	ae := wantAPIError(t, err, "NoSuchEntity", 404)
	if ae.ErrorMessage() != "The group with name nope cannot be found." {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String("ghost")})
	wantAPIError(t, err, "NoSuchEntity", 404)

	var got []string
	pages := 0
	p := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: aws.String("ops"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if *out.Group.GroupName != "ops" {
			t.Errorf("group %s", *out.Group.GroupName)
		}
		for _, u := range out.Users {
			got = append(got, *u.UserName)
		}
	}
	if d := cmp.Diff(members, got); d != "" || pages != 3 {
		t.Errorf("GetGroup over %d pages (-want +got):\n%s", pages, d)
	}

	lg, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("m0")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range lg.Groups {
		names = append(names, *g.GroupName)
	}
	if d := cmp.Diff([]string{"audit", "ops"}, names); d != "" {
		t.Errorf("groups for m0 (-want +got):\n%s", d)
	}
}

func TestIAMAccessKeys(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "erin")
	mustCreateUser(t, c, "frank")
	k1 := mustCreateKey(t, c, "erin")
	if !strings.HasPrefix(*k1.AccessKeyId, "AKIA") || len(*k1.AccessKeyId) != 20 || len(*k1.SecretAccessKey) != 40 {
		t.Errorf("key shape %s / %d-char secret", *k1.AccessKeyId, len(*k1.SecretAccessKey))
	}
	if k1.Status != types.StatusTypeActive || *k1.UserName != "erin" {
		t.Errorf("new key %s %s", k1.Status, *k1.UserName)
	}
	if err := callerVia(env, k1, "us-east-1"); err != nil {
		t.Fatalf("new key does not authenticate: %v", err)
	}

	// Deactivate: the key stops authenticating but still counts to the quota.
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k1.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, callerVia(env, k1, "us-east-1"), "InvalidClientTokenId", 403)
	k2 := mustCreateKey(t, c, "erin")
	_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("erin")})
	ae := wantAPIError(t, err, "LimitExceeded", 409)
	if ae.ErrorMessage() != "Cannot exceed quota for AccessKeysPerUser: 2" {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k1.AccessKeyId, Status: types.StatusTypeActive}); err != nil {
		t.Fatal(err)
	}
	if err := callerVia(env, k1, "us-east-1"); err != nil {
		t.Fatalf("reactivated key: %v", err)
	}

	// A wrong secret does not match the signature.
	bad := *k2
	bad.SecretAccessKey = aws.String(strings.Repeat("x", 40))
	wantAPIError(t, callerVia(env, &bad, "us-east-1"), "SignatureDoesNotMatch", 403)

	// Listing, by pages of one.
	var ids []string
	p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: aws.String("erin"), MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AccessKeyMetadata) != 1 {
			t.Fatalf("page of %d keys", len(out.AccessKeyMetadata))
		}
		m := out.AccessKeyMetadata[0]
		if *m.UserName != "erin" || m.Status != types.StatusTypeActive || m.CreateDate == nil {
			t.Errorf("metadata %+v", m)
		}
		ids = append(ids, *m.AccessKeyId)
	}
	if d := cmp.Diff([]string{*k1.AccessKeyId, *k2.AccessKeyId}, ids); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
	_, err = c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("erin"), MaxItems: aws.Int32(1001)})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ghost")})
	wantAPIError(t, err, "NoSuchEntity", 404)

	// Errors of UpdateAccessKey and DeleteAccessKey.
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k1.AccessKeyId, Status: "Paused"})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("frank"), AccessKeyId: k1.AccessKeyId, Status: types.StatusTypeInactive})
	ae = wantAPIError(t, err, "NoSuchEntity", 404)
	if ae.ErrorMessage() != "The Access Key with id "+*k1.AccessKeyId+" cannot be found." {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: aws.String("short")})
	wantAPIError(t, err, "ValidationError", 400)
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k1.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, callerVia(env, k1, "us-east-1"), "InvalidClientTokenId", 403)
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k1.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", 404)
	mustCreateKey(t, c, "erin") // room again after the delete
}

func TestIAMAccessKeyLastUsed(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "gina")
	k := mustCreateKey(t, c, "gina")

	out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
	if err != nil {
		t.Fatal(err)
	}
	if *out.UserName != "gina" || out.AccessKeyLastUsed.LastUsedDate != nil ||
		*out.AccessKeyLastUsed.ServiceName != "N/A" || *out.AccessKeyLastUsed.Region != "N/A" {
		t.Errorf("never-used key: user %s date %v service %s region %s", *out.UserName, out.AccessKeyLastUsed.LastUsedDate,
			*out.AccessKeyLastUsed.ServiceName, *out.AccessKeyLastUsed.Region)
	}

	env.Server.Clock().Advance(72 * time.Hour)
	if err := callerVia(env, k, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	before := env.Server.Clock().Now()
	out, err = c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
	if err != nil {
		t.Fatal(err)
	}
	lu := out.AccessKeyLastUsed
	if lu.LastUsedDate == nil || before.Sub(*lu.LastUsedDate) > 2*time.Second || lu.LastUsedDate.After(before) {
		t.Errorf("last used %v, sandbox now %v", lu.LastUsedDate, before)
	}
	if *lu.ServiceName != "sts" || *lu.Region != "eu-west-1" {
		t.Errorf("last used via %s in %s, want sts in eu-west-1", *lu.ServiceName, *lu.Region)
	}

	_, err = c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA")})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestIAMNewKeyDelay(t *testing.T) {
	env, c := iamEnv(t)
	mustCreateUser(t, c, "hank")

	env.Server.SetNewKeyDelay(time.Hour)
	late := mustCreateKey(t, c, "hank")
	wantAPIError(t, callerVia(env, late, "us-east-1"), "InvalidClientTokenId", 403)

	env.Server.SetNewKeyDelay(0)
	if _, err := c.DeleteAccessKey(context.Background(), &iam.DeleteAccessKeyInput{UserName: aws.String("hank"), AccessKeyId: late.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	now := mustCreateKey(t, c, "hank")
	if err := callerVia(env, now, "us-east-1"); err != nil {
		t.Fatalf("key with no delay: %v", err)
	}

	// A short delay: refused at first, accepted once it has passed.
	env.Server.SetNewKeyDelay(300 * time.Millisecond)
	soon := mustCreateKey(t, c, "hank")
	wantAPIError(t, callerVia(env, soon, "us-east-1"), "InvalidClientTokenId", 403)
	deadline := time.Now().Add(10 * time.Second)
	for callerVia(env, soon, "us-east-1") != nil {
		if time.Now().After(deadline) {
			t.Fatal("key never became usable")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selfServicePolicy lets a user read itself and manage its own access keys,
// MFA devices and password, after the IAM User Guide's example (with a
// second resource for users on a path, which user/${aws:username} does not
// match).
const selfServicePolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "OwnCredentials",
    "Effect": "Allow",
    "Action": ["iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey",
               "iam:GetAccessKeyLastUsed", "iam:ListMFADevices", "iam:GetLoginProfile"],
    "Resource": ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:user/*/${aws:username}"]
  }]
}`

func TestIAMNonAdminUser(t *testing.T) {
	env, admin := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, admin, "ivy")
	mustCreateUser(t, admin, "jack")
	ivyKey := mustCreateKey(t, admin, "ivy")
	jackKey := mustCreateKey(t, admin, "jack")
	ivy := iam.NewFromConfig(env.Config(*ivyKey.AccessKeyId, *ivyKey.SecretAccessKey, ""))

	// A user with no policy may do nothing, not even read itself.
	_, err := ivy.GetUser(ctx, &iam.GetUserInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	// The IAM User Guide's example policy that lets users manage their own
	// credentials ("IAM: Allows IAM users to manage their own credentials").
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ivy"), PolicyName: aws.String("self-service"), PolicyDocument: aws.String(selfServicePolicy)}); err != nil {
		t.Fatal(err)
	}

	me, err := ivy.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *me.User.UserName != "ivy" {
		t.Errorf("GetUser without a name returned %s", *me.User.UserName)
	}
	if _, err := ivy.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("IVY")}); err != nil {
		t.Errorf("GetUser own name: %v", err)
	}
	keys, err := ivy.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != *ivyKey.AccessKeyId {
		t.Errorf("own keys %+v", keys.AccessKeyMetadata)
	}
	// Self-service rotation: create, deactivate, delete own keys.
	nk := mustCreateKey(t, ivy, "")
	if *nk.UserName != "ivy" {
		t.Errorf("new key for %s", *nk.UserName)
	}
	if _, err := ivy.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{AccessKeyId: nk.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Errorf("update own key: %v", err)
	}
	if _, err := ivy.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: ivyKey.AccessKeyId}); err != nil {
		t.Errorf("last used of own key: %v", err)
	}
	if _, err := ivy.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: nk.AccessKeyId}); err != nil {
		t.Errorf("delete own key: %v", err)
	}
	if _, err := ivy.ListMFADevices(ctx, &iam.ListMFADevicesInput{}); err != nil {
		t.Errorf("own MFA devices: %v", err)
	}
	_, err = ivy.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("ivy")})
	wantAPIError(t, err, "NoSuchEntity", 404) // allowed, but ivy has no password

	denied := []struct {
		name string
		call func() error
	}{
		{"GetUser other", func() error { _, err := ivy.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("jack")}); return err }},
		{"ListUsers", func() error { _, err := ivy.ListUsers(ctx, &iam.ListUsersInput{}); return err }},
		{"CreateUser", func() error {
			_, err := ivy.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
			return err
		}},
		{"ListAccessKeys other", func() error {
			_, err := ivy.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("jack")})
			return err
		}},
		{"CreateAccessKey other", func() error {
			_, err := ivy.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("jack")})
			return err
		}},
		{"UpdateAccessKey other", func() error {
			_, err := ivy.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("jack"), AccessKeyId: jackKey.AccessKeyId, Status: types.StatusTypeInactive})
			return err
		}},
		{"DeleteAccessKey other", func() error {
			_, err := ivy.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("jack"), AccessKeyId: jackKey.AccessKeyId})
			return err
		}},
		{"GetAccessKeyLastUsed other", func() error {
			_, err := ivy.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: jackKey.AccessKeyId})
			return err
		}},
		{"ListMFADevices other", func() error {
			_, err := ivy.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("jack")})
			return err
		}},
		{"GetLoginProfile other", func() error {
			_, err := ivy.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("jack")})
			return err
		}},
		{"GenerateCredentialReport", func() error {
			_, err := ivy.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
			return err
		}},
		{"GetAccountSummary", func() error { _, err := ivy.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); return err }},
		{"TagUser self", func() error {
			_, err := ivy.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("ivy"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			ae := wantAPIError(t, tt.call(), "AccessDenied", 403)
			if !strings.Contains(ae.ErrorMessage(), "arn:aws:iam::"+env.Server.ManagementAccountID()+":user/ivy is not authorized") {
				t.Errorf("message %q", ae.ErrorMessage())
			}
		})
	}
}

func TestIAMLoginProfileAndMFA(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	acct := env.Server.ManagementAccountID()
	mustCreateUser(t, c, "kim")

	lp, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("kim"), Password: aws.String("pa55-Word!"), PasswordResetRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	if *lp.LoginProfile.UserName != "kim" || !lp.LoginProfile.PasswordResetRequired {
		t.Errorf("login profile %+v", lp.LoginProfile)
	}
	_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("kim"), Password: aws.String("other-Pass1")})
	wantAPIError(t, err, "EntityAlreadyExists", 409)
	got, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("kim")})
	if err != nil {
		t.Fatal(err)
	}
	if !got.LoginProfile.CreateDate.Equal(*lp.LoginProfile.CreateDate) {
		t.Errorf("create date %v vs %v", got.LoginProfile.CreateDate, lp.LoginProfile.CreateDate)
	}
	_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("kim")})
	wantAPIError(t, err, "ValidationError", 400)

	serial := "arn:aws:iam::" + acct + ":mfa/kim"
	enable := func(serial, c1, c2 string) error {
		_, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("kim"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(c1), AuthenticationCode2: aws.String(c2)})
		return err
	}
	wantAPIError(t, enable(serial, "12345", "123456"), "ValidationError", 400)
	wantAPIError(t, enable(serial, "12345a", "123456"), "ValidationError", 400)
	wantAPIError(t, enable("short", "123456", "654321"), "ValidationError", 400)
	wantAPIError(t, enable(serial, "111111", "111111"), "InvalidAuthenticationCode", 403)
	if err := enable(serial, "111111", "222222"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, enable(serial, "333333", "444444"), "EntityAlreadyExists", 409)
	md, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("kim")})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.MFADevices) != 1 || *md.MFADevices[0].SerialNumber != serial || *md.MFADevices[0].UserName != "kim" || md.MFADevices[0].EnableDate == nil {
		t.Errorf("MFA devices %+v", md.MFADevices)
	}
}

func TestIAMAccountSummary(t *testing.T) {
	_, c := iamEnv(t)
	ctx := context.Background()
	for _, n := range []string{"a1", "a2", "a3"} {
		mustCreateUser(t, c, n)
	}
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{
		"Users": 3, "UsersQuota": 5000, "Groups": 1, "AccessKeysPerUserQuota": 2,
		"AccountAccessKeysPresent": 0, "AccountMFAEnabled": 0, "MFADevices": 0,
	}
	for k, v := range want {
		if got, ok := out.SummaryMap[k]; !ok || got != v {
			t.Errorf("SummaryMap[%s] = %d (present %v), want %d", k, got, ok, v)
		}
	}
	// Every key the SDK knows is one IAM documents.
	for k := range out.SummaryMap {
		known := false
		for _, v := range types.SummaryKeyType("").Values() {
			if string(v) == k {
				known = true
			}
		}
		if !known {
			t.Errorf("undocumented summary key %s", k)
		}
	}
}

func TestIAMAccountAuthorizationDetails(t *testing.T) {
	_, c := iamEnv(t)
	ctx := context.Background()
	for i := range 5 {
		mustCreateUser(t, c, fmt.Sprintf("d%d", i))
	}
	if _, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("d1"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("admins")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("admins"), UserName: aws.String("d1")}); err != nil {
		t.Fatal(err)
	}

	var users []types.UserDetail
	pages := 0
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeUser}, MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.GroupDetailList) != 0 {
			t.Errorf("Filter=User returned groups")
		}
		users = append(users, out.UserDetailList...)
	}
	if pages != 3 || len(users) != 5 {
		t.Fatalf("%d users over %d pages", len(users), pages)
	}
	d1 := users[1]
	if *d1.UserName != "d1" || len(d1.Tags) != 1 || *d1.Tags[0].Key != "env" || *d1.Tags[0].Value != "prod" {
		t.Errorf("d1 detail %+v", d1)
	}
	if d := cmp.Diff([]string{"admins"}, d1.GroupList); d != "" {
		t.Errorf("d1 groups (-want +got):\n%s", d)
	}

	all, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.UserDetailList) != 5 || len(all.GroupDetailList) != 1 {
		t.Errorf("no filter: %d users %d groups", len(all.UserDetailList), len(all.GroupDetailList))
	}
	_, err = c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{"Robot"}})
	wantAPIError(t, err, "ValidationError", 400)
}
