package awsaccess_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// The demo scenario's management account, its active members with the
// organization role, and the member without it.
const (
	management = "210987654321"
	noRole     = "901234567801"
)

var members = []string{"345678901234", "456789012345", "567890123456", "678901234567", "789012345678", "890123456780"}

// TestConfigAssumesOncePerAccount: many concurrent requests for each member
// account cost one AssumeRole per account and one GetCallerIdentity in all,
// and each configuration acts in its account.
func TestConfigAssumesOncePerAccount(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "demo")
	acc := awsaccess.New(env.Admin(), awsaccess.Role{})
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 10*len(members))
	for range 10 {
		for _, id := range members {
			wg.Go(func() {
				if _, err := acc.Config(ctx, id); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range append([]string{management}, members...) {
		cfg, err := acc.Config(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(who.Account); got != id {
			t.Errorf("config for %s acts in %s", id, got)
		}
		if id != management && !strings.Contains(aws.ToString(who.Arn), ":assumed-role/OrganizationAccountAccessRole/keyrot") {
			t.Errorf("config for %s acts as %s", id, aws.ToString(who.Arn))
		}
	}
	calls := env.Server.CallCounts()[management]
	if calls["sts:AssumeRole"] != len(members) {
		t.Errorf("%d AssumeRole calls for %d accounts", calls["sts:AssumeRole"], len(members))
	}
	// One from Caller, one from the check above.
	if calls["sts:GetCallerIdentity"] != 2 {
		t.Errorf("%d GetCallerIdentity calls by the management account, want 2", calls["sts:GetCallerIdentity"])
	}
}

// TestConfigRoleMissing: an account without the role is an AssumeRoleError
// carrying STS's code, and the failure is not cached.
func TestConfigRoleMissing(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "demo")
	acc := awsaccess.New(env.Admin(), awsaccess.Role{SessionName: "test"})
	for range 2 {
		_, err := acc.Config(context.Background(), noRole)
		var are *awsaccess.AssumeRoleError
		var api smithy.APIError
		if !errors.As(err, &are) || !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
			t.Fatalf("got %v, want an AssumeRoleError with AccessDenied", err)
		}
		if want := "arn:aws:iam::" + noRole + ":role/OrganizationAccountAccessRole"; are.RoleARN != want || are.Account != noRole {
			t.Errorf("role %s in %s, want %s", are.RoleARN, are.Account, want)
		}
	}
	if n := env.Server.CallCounts()[management]["sts:AssumeRole"]; n != 2 {
		t.Errorf("%d AssumeRole calls, want 2 (a failure is tried again)", n)
	}
}

// TestCallerSilentEndpoint: the access layer over keyrot's configuration
// gives up on an endpoint that never answers, with an explained error.
func TestCallerSilentEndpoint(t *testing.T) {
	t.Parallel()
	addr, _ := sandboxtest.SilentEndpoint(t)
	endpoint := "http://" + addr
	cfg := awsconf.Apply(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}, awsconf.Options{})
	acc := awsaccess.New(cfg, awsaccess.Role{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := acc.Config(ctx, "123456789012")
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatal("Config hung")
	}
	if took > awsconf.DefaultUnreachableBudget+3*time.Second {
		t.Errorf("took %s", took)
	}
	want := "STS GetCallerIdentity: no answer from " + endpoint + " within 10s"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s ...", err, want)
	}
}

// fakeSTS answers as a caller in the China partition and records the roles
// asked for.
type fakeSTS struct {
	mu      sync.Mutex
	callers int
	roles   []string
}

func (f *fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callers++
	return &sts.GetCallerIdentityOutput{Account: aws.String("111111111111"), Arn: aws.String("arn:aws-cn:iam::111111111111:user/ops"), UserId: aws.String("AIDAEXAMPLE")}, nil
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles = append(f.roles, aws.ToString(in.RoleArn)+" "+aws.ToString(in.RoleSessionName)+" "+aws.ToString(in.ExternalId))
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIAEXAMPLE"), SecretAccessKey: aws.String("secret"), SessionToken: aws.String("token"),
		Expiration: aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

// TestConfigPartitionAndRole: the role ARN is built in the caller's
// partition with the role's path, and the session name and external ID are
// passed on.
func TestConfigPartitionAndRole(t *testing.T) {
	f := &fakeSTS{}
	acc := awsaccess.NewWithSTS(aws.Config{Region: "cn-north-1"}, awsaccess.Role{Name: "Auditor", Path: "/keyrot/", ExternalID: "x-1"}, f)
	ctx := context.Background()
	id, err := acc.Caller(ctx)
	if err != nil || id.Partition != "aws-cn" || id.Account != "111111111111" {
		t.Fatalf("caller %+v, %v", id, err)
	}
	if _, err := acc.Config(ctx, "222222222222"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Config(ctx, "111111111111"); err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws-cn:iam::222222222222:role/keyrot/Auditor keyrot x-1"}
	if strings.Join(f.roles, "\n") != strings.Join(want, "\n") || f.callers != 1 {
		t.Errorf("roles %q, %d GetCallerIdentity calls; want %q, 1", f.roles, f.callers, want)
	}
	if got := (awsaccess.Role{}).ARN("", "333333333333"); got != "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole" {
		t.Errorf("default role ARN %s", got)
	}
}

// TestConfigSharesOneRetryerPerAccount: every client made from one
// account's configuration gets the same retryer (keyrot's adaptive
// retryer, whose client-side rate that account's throttling slows down),
// and different accounts, the caller's own included, get different ones.
func TestConfigSharesOneRetryerPerAccount(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "demo")
	acc := awsaccess.New(awsconf.Apply(env.Admin(), awsconf.Options{}), awsaccess.Role{})
	ctx := context.Background()
	seen := map[aws.Retryer]string{}
	for _, id := range []string{management, members[0], members[1]} {
		first, err := acc.Config(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		again, err := acc.Config(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r := first.Retryer()
		if !awsconf.IsAdaptive(r) {
			t.Errorf("account %s: retryer %T, want the adaptive retry mode", id, r)
		}
		if r != first.Retryer() || r != again.Retryer() {
			t.Errorf("account %s: clients of one account get different retryers", id)
		}
		if other, ok := seen[r]; ok {
			t.Errorf("accounts %s and %s share a retryer", other, id)
		}
		seen[r] = id
	}
	if own := acc.Own(); own.Retryer() != own.Retryer() {
		t.Error("the own account's clients get different retryers")
	}
	if base := acc.Base(); base.Retryer() == base.Retryer() {
		t.Error("the base configuration's clients share a retryer; only per-account configurations should")
	}
}
