package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// BenchmarkListAccessKeys measures signed IAM requests per second through
// the real SDK: SigV4 signing, verification, routing and XML both ways.
func BenchmarkListAccessKeys(b *testing.B) {
	_, c := iamEnv(b)
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
