package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// BenchmarkListAccessKeys measures signed IAM requests per second through
// the real SDK: SigV4 signing, verification, routing, authorization and XML
// both ways.
func BenchmarkListAccessKeys(b *testing.B) {
	benchListAccessKeys(b, false)
}

// BenchmarkListAccessKeysPermissive is BenchmarkListAccessKeys without
// authorization, to show what evaluating the caller's policies costs.
func BenchmarkListAccessKeysPermissive(b *testing.B) {
	benchListAccessKeys(b, true)
}

func benchListAccessKeys(b *testing.B, permissive bool) {
	env, c := iamEnv(b)
	env.Server.SetPermissive(permissive)
	mustCreateUser(b, c, "bench")
	mustCreateKey(b, c, "bench")
	mustCreateKey(b, c, "bench")
	ctx := context.Background()
	in := &iam.ListAccessKeysInput{UserName: aws.String("bench")}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := c.ListAccessKeys(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(out.AccessKeyMetadata) != 2 {
			b.Fatalf("%d keys", len(out.AccessKeyMetadata))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkListAccessKeysLargeOrg is BenchmarkListAccessKeys signed with a
// user's own key in an organization of 100 accounts of 500 users, so that
// finding the signing key among ~50,000 is part of every request.
func BenchmarkListAccessKeysLargeOrg(b *testing.B) {
	env := sandboxtest.Start(b, "")
	sc := sandbox.GenerateScenario(100, 500, 7)
	acct := sc.Accounts[len(sc.Accounts)/2]
	for i := range acct.Users { // they may read their own keys
		acct.Users[i].Policies.Inline = map[string]sandbox.PolicyDocument{"self-service": sandbox.Doc(selfServicePolicy)}
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		b.Fatal(err)
	}
	var k sandbox.UserKey
	for _, u := range acct.Users {
		var err error
		if k, err = env.Server.ActiveKey(acct.ID, u.Name); err == nil {
			break
		}
	}
	if k.AccessKeyID == "" {
		b.Fatal("no user with an active key")
	}
	c := iam.NewFromConfig(env.Config(k.AccessKeyID, k.SecretAccessKey, ""))
	ctx := context.Background()
	in := &iam.ListAccessKeysInput{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ListAccessKeys(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
