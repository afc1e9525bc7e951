package sandbox_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// authzSetupCalls is how many calls authzDiffSetup makes: moto authorizes
// nothing before, and everything after, that many
// (INITIAL_NO_AUTH_ACTION_COUNT).
const authzSetupCalls = 8

// authzUsers are the users authzDiffSetup creates, with their keys.
type authzUsers map[string]aws.Config

// authzDiffSetup creates three users through c: nobody (no policy), lister
// (iam:ListUsers on *) and scoped (iam:GetUser on another user's ARN only).
func authzDiffSetup(ctx context.Context, t *testing.T, c *iam.Client, account string, cfgFor func(id, secret string) aws.Config) authzUsers {
	t.Helper()
	users := authzUsers{}
	for _, name := range []string{"nobody", "lister", "scoped"} {
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		users[name] = cfgFor(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey))
	}
	put := func(user, doc string) {
		if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	put("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)
	put("scoped", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::`+account+`:user/lister"}]}`)
	return users
}

type authzObs struct {
	Call   string
	Code   string
	Status int
}

func authzObserve(call string, err error) authzObs {
	o := authzObs{Call: call, Status: 200}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		o.Code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		o.Status = re.HTTPStatusCode()
	} else if err != nil {
		o.Status = -1
	}
	return o
}

// authzCalls is the sequence both backends answer.
func authzCalls(ctx context.Context, u authzUsers) []authzObs {
	var out []authzObs
	do := func(call string, err error) { out = append(out, authzObserve(call, err)) }
	_, err := iam.NewFromConfig(u["nobody"]).ListUsers(ctx, &iam.ListUsersInput{})
	do("nobody ListUsers", err)
	_, err = iam.NewFromConfig(u["lister"]).ListUsers(ctx, &iam.ListUsersInput{})
	do("lister ListUsers", err)
	_, err = iam.NewFromConfig(u["lister"]).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	do("lister CreateUser", err)
	_, err = iam.NewFromConfig(u["scoped"]).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("lister")})
	do("scoped GetUser lister", err)
	_, err = iam.NewFromConfig(u["scoped"]).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	do("scoped GetUser nobody", err)
	_, err = sts.NewFromConfig(u["nobody"]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	do("nobody GetCallerIdentity", err)
	return out
}

// authzMotoDifferences are the calls where moto and AWS differ; the
// sandbox follows AWS.
var authzMotoDifferences = map[string]string{
	// moto's access control matches a statement's Action and evaluates every
	// request as if its resource were "*", so a statement whose Resource
	// names one user never applies. AWS matches the request's resource ARN
	// against Resource ("IAM JSON policy elements: Resource",
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html),
	// so a GetUser grant on lister allows GetUser on lister (and only on
	// lister: on nobody both deny).
	"scoped GetUser lister": "moto never applies a resource-scoped statement",
}

// motoCode reads moto's error code as AWS would send it. moto wraps its
// Query-protocol errors as <ErrorResponse><Errors><Error>, which
// aws-sdk-go-v2 does not read (it reports UnknownError); AWS and the
// sandbox send <ErrorResponse><Error> (IAM API Reference, "Common
// Errors"). moto's 403 is its AccessDenied. Its message also stops after
// the action, where AWS names the resource and the reason ("... on
// resource: arn:... because no identity-based policy allows the
// iam:ListUsers action", IAM User Guide, "Troubleshoot access denied error
// messages"), which TestAuthzDeniedShapes checks on the sandbox.
func motoCode(o authzObs) authzObs {
	if o.Code == "UnknownError" && o.Status == 403 {
		o.Code = "AccessDenied"
	}
	return o
}

// TestAuthzDifferentialMoto runs the same authorization cases against the
// sandbox and against moto with its IAM enforcement on
// (INITIAL_NO_AUTH_ACTION_COUNT): identity policies allow and deny alike,
// except where moto matches actions only.
func TestAuthzDifferentialMoto(t *testing.T) {
	ctx := context.Background()
	motoURL := mototest.StartWithEnv(t, "INITIAL_NO_AUTH_ACTION_COUNT="+strconv.Itoa(authzSetupCalls))
	motoUsers := authzDiffSetup(ctx, t, iam.NewFromConfig(mototest.Config(motoURL)), "123456789012", func(id, secret string) aws.Config {
		cfg := mototest.Config(motoURL)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
		return cfg
	})
	moto := authzCalls(ctx, motoUsers)

	env := sandboxtest.Start(t, "")
	acct := env.Server.ManagementAccountID()
	sbUsers := authzDiffSetup(ctx, t, iam.NewFromConfig(env.Admin()), acct, func(id, secret string) aws.Config { return env.Config(id, secret, "") })
	sb := authzCalls(ctx, sbUsers)

	want := map[string]authzObs{
		"nobody ListUsers":         {Code: "AccessDenied", Status: 403},
		"lister ListUsers":         {Status: 200},
		"lister CreateUser":        {Code: "AccessDenied", Status: 403},
		"scoped GetUser lister":    {Status: 200},
		"scoped GetUser nobody":    {Code: "AccessDenied", Status: 403},
		"nobody GetCallerIdentity": {Status: 200}, // needs no permission in AWS
	}
	for i, o := range sb {
		w := want[o.Call]
		w.Call = o.Call
		if diff := cmp.Diff(w, o); diff != "" {
			t.Errorf("sandbox %s (-AWS +sandbox):\n%s", o.Call, diff)
		}
		m := motoCode(moto[i])
		if why, known := authzMotoDifferences[o.Call]; known {
			if m == o {
				t.Errorf("%s: moto now agrees with the sandbox (%s no longer holds): drop it from authzMotoDifferences", o.Call, why)
			}
			continue
		}
		if diff := cmp.Diff(m, o); diff != "" {
			t.Errorf("%s: sandbox and moto differ (-moto +sandbox):\n%s", o.Call, diff)
		}
	}
}
