package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestLastUseFirstInSpan checks IAM's granularity of a key's last use: when
// a key is used more than once in a 15-minute span, only the first use (its
// date, service and region) is recorded (IAM User Guide, "Getting
// credential reports": access_key_1_last_used_date and the columns after).
func TestLastUseFirstInSpan(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "app")
	k := mustCreateKey(t, c, "app")
	lastUse := func() (time.Time, string) {
		t.Helper()
		out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		mustNoErr(t, err)
		return aws.ToTime(out.AccessKeyLastUsed.LastUsedDate), aws.ToString(out.AccessKeyLastUsed.Region)
	}
	mustNoErr(t, callerVia(env, k, "us-east-1"))
	first, _ := lastUse()
	env.Server.Clock().Advance(14 * time.Minute)
	mustNoErr(t, callerVia(env, k, "eu-west-1"))
	if at, region := lastUse(); !at.Equal(first) || region != "us-east-1" {
		t.Fatalf("a use 14 minutes after the first: recorded %v in %s, want the first use %v in us-east-1", at, region, first)
	}
	env.Server.Clock().Advance(time.Minute)
	mustNoErr(t, callerVia(env, k, "eu-west-1"))
	if at, region := lastUse(); at.Sub(first) < 15*time.Minute || region != "eu-west-1" {
		t.Fatalf("a use 15 minutes after the first: recorded %v in %s", at, region)
	}
}
