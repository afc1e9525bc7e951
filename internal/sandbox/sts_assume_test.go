package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// assume calls AssumeRole with cfg and returns a config with the session's
// credentials, failing the test on error.
func assume(t *testing.T, env *sandboxtest.Env, cfg aws.Config, roleARN, externalID string) aws.Config {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("keyrot-test")}
	if externalID != "" {
		in.ExternalId = aws.String(externalID)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), in)
	if err != nil {
		t.Fatalf("assume %s: %v", roleARN, err)
	}
	c := out.Credentials
	return env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func stsEnv(t *testing.T) *sandboxtest.Env {
	t.Helper()
	env := sandboxtest.Start(t, "")
	mustNoErr(t, env.Server.AddAccount("111111111111", "workload", "workload@example.com", "", "ACTIVE"))
	mustNoErr(t, env.Server.AddAccount("222222222222", "partner", "partner@example.com", "", "ACTIVE"))
	mustNoErr(t, env.Server.AddAccount("333333333333", "closed", "closed@example.com", "", "SUSPENDED"))
	mustNoErr(t, env.Server.AddRole("111111111111", "OrganizationAccountAccessRole", nil, ""))
	mustNoErr(t, env.Server.AddRole("111111111111", "Audit", []string{env.Server.ManagementAccountID()}, "s3cr3t-ext"))
	mustNoErr(t, env.Server.AddRole("222222222222", "OrganizationAccountAccessRole", nil, ""))
	mustNoErr(t, env.Server.AddRole("222222222222", "FromWorkload", []string{"111111111111"}, ""))
	mustNoErr(t, env.Server.AddRole("333333333333", "OrganizationAccountAccessRole", nil, ""))
	return env
}

func TestAssumeRoleRoutesToMemberAccount(t *testing.T) {
	env := stsEnv(t)
	ctx := context.Background()
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("keyrot-audit")}
	out, err := sts.NewFromConfig(env.Admin()).AssumeRole(ctx, in)
	mustNoErr(t, err)
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/keyrot-audit" {
		t.Fatalf("assumed role ARN %s", got)
	}
	if id := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":keyrot-audit") {
		t.Fatalf("assumed role ID %s", id)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || len(aws.ToString(c.AccessKeyId)) != 20 || len(aws.ToString(c.SessionToken)) < 100 {
		t.Fatalf("credentials look wrong: key %s, token length %d", aws.ToString(c.AccessKeyId), len(aws.ToString(c.SessionToken)))
	}
	if d := time.Until(*c.Expiration); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("expiration in %v, want 1h", d)
	}
	member := env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))

	who, err := sts.NewFromConfig(member).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
	if aws.ToString(who.Account) != "111111111111" || aws.ToString(who.Arn) != aws.ToString(out.AssumedRoleUser.Arn) {
		t.Fatalf("caller identity %s %s", aws.ToString(who.Account), aws.ToString(who.Arn))
	}

	// A secret created through the session lives in the member account.
	sm := secretsmanager.NewFromConfig(member)
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), SecretString: aws.String("v1")})
	mustNoErr(t, err)
	if !strings.Contains(aws.ToString(created.ARN), ":111111111111:secret:keyrot/alice-") {
		t.Fatalf("secret ARN %s", aws.ToString(created.ARN))
	}
	mgmt := secretsmanager.NewFromConfig(env.Admin())
	_, err = mgmt.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("management account sees the member's secret: %v", err)
	}
	list, err := mgmt.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	mustNoErr(t, err)
	if len(list.SecretList) != 0 {
		t.Fatalf("management account lists %d secrets", len(list.SecretList))
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	mustNoErr(t, err)
	if aws.ToString(got.SecretString) != "v1" {
		t.Fatalf("secret %q", aws.ToString(got.SecretString))
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	env := stsEnv(t)
	ctx := context.Background()
	member := assume(t, env, env.Admin(), "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", "")
	tests := []struct {
		name       string
		cfg        aws.Config
		role       string
		externalID string
		session    string
		duration   int32
		code       string
		status     int
	}{
		{name: "missing role", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/Nope", code: "AccessDenied", status: 403},
		{name: "missing account", cfg: env.Admin(), role: "arn:aws:iam::444444444444:role/OrganizationAccountAccessRole", code: "AccessDenied", status: 403},
		{name: "external ID missing", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/Audit", code: "AccessDenied", status: 403},
		{name: "external ID wrong", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/Audit", externalID: "guess", code: "AccessDenied", status: 403},
		{name: "untrusted caller", cfg: member, role: "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole", code: "AccessDenied", status: 403},
		{name: "suspended account", cfg: env.Admin(), role: "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole", code: "AccessDenied", status: 403},
		{name: "bad ARN", cfg: env.Admin(), role: "arn:aws:s3:::bucket/thing/that-is-long", code: "ValidationError", status: 400},
		{name: "bad session name", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", session: "has space", code: "ValidationError", status: 400},
		{name: "duration too short", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", duration: 899, code: "ValidationError", status: 400},
		{name: "duration above role max", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", duration: 7200, code: "ValidationError", status: 400},
		{name: "duration above 12h", cfg: env.Admin(), role: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", duration: 43201, code: "ValidationError", status: 400},
		{name: "chained beyond 1h", cfg: member, role: "arn:aws:iam::222222222222:role/FromWorkload", duration: 3601, code: "ValidationError", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tt.role), RoleSessionName: aws.String("keyrot")}
			if tt.session != "" {
				in.RoleSessionName = aws.String(tt.session)
			}
			if tt.externalID != "" {
				in.ExternalId = aws.String(tt.externalID)
			}
			if tt.duration != 0 {
				in.DurationSeconds = aws.Int32(tt.duration)
			}
			_, err := sts.NewFromConfig(tt.cfg).AssumeRole(ctx, in)
			if apiCode(err) != tt.code || httpStatus(err) != tt.status {
				t.Fatalf("want %s (%d), got %v (%d)", tt.code, tt.status, err, httpStatus(err))
			}
			if tt.code == "AccessDenied" {
				var ae smithy.APIError
				errors.As(err, &ae)
				if !strings.Contains(ae.ErrorMessage(), "is not authorized to perform: sts:AssumeRole on resource: "+tt.role) {
					t.Fatalf("message %q", ae.ErrorMessage())
				}
			}
		})
	}
}

func TestAssumeRoleExternalIDAndChaining(t *testing.T) {
	env := stsEnv(t)
	ctx := context.Background()
	audit := assume(t, env, env.Admin(), "arn:aws:iam::111111111111:role/Audit", "s3cr3t-ext")
	who, err := sts.NewFromConfig(audit).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
	if aws.ToString(who.Arn) != "arn:aws:sts::111111111111:assumed-role/Audit/keyrot-test" {
		t.Fatalf("caller %s", aws.ToString(who.Arn))
	}
	// Role chaining: the workload session may assume a role that trusts its account.
	chained := assume(t, env, audit, "arn:aws:iam::222222222222:role/FromWorkload", "")
	who, err = sts.NewFromConfig(chained).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
	if aws.ToString(who.Account) != "222222222222" {
		t.Fatalf("chained account %s", aws.ToString(who.Account))
	}
}

// TestAssumeRoleAcrossDemoOrganization walks the demo scenario as keyrot's
// collector does: list accounts, then assume the organization role in each.
func TestAssumeRoleAcrossDemoOrganization(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx := context.Background()
	mgmt := env.Server.ManagementAccountID()
	p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(env.Admin()), &organizations.ListAccountsInput{})
	var active, suspended int
	var noRole []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		mustNoErr(t, err)
		for _, a := range page.Accounts {
			id := aws.ToString(a.Id)
			if id == mgmt {
				continue
			}
			in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + id + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("keyrot")}
			out, err := sts.NewFromConfig(env.Admin()).AssumeRole(ctx, in)
			if a.Status == orgtypes.AccountStatusSuspended {
				suspended++
				if apiCode(err) != "AccessDenied" {
					t.Errorf("suspended %s: want AccessDenied, got %v", id, err)
				}
				continue
			}
			active++
			if err != nil {
				if apiCode(err) != "AccessDenied" {
					t.Errorf("assume into %s: %v", id, err)
				}
				noRole = append(noRole, id)
				continue
			}
			c := out.Credentials
			who, err := sts.NewFromConfig(env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			mustNoErr(t, err)
			if aws.ToString(who.Account) != id {
				t.Errorf("session for %s acts in %s", id, aws.ToString(who.Account))
			}
		}
	}
	if active == 0 || suspended == 0 {
		t.Fatalf("demo has %d active and %d suspended members; want some of each", active, suspended)
	}
	// The demo's invited looker account has no organization role.
	if d := cmp.Diff([]string{"901234567801"}, noRole); d != "" {
		t.Fatalf("accounts without an assumable role (-want +got):\n%s", d)
	}
}
