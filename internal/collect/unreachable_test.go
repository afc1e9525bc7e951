package collect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestCollectUnreachableEndpoint: a collection against an endpoint that
// never answers, or refuses connections, ends within awsconf's default
// budget with an error naming the endpoint (a silent endpoint used to hang
// the run until it was killed).
func TestCollectUnreachableEndpoint(t *testing.T) {
	silent, _ := sandboxtest.SilentEndpoint(t)
	closed := sandboxtest.RefusedEndpoint(t)

	tests := []struct{ name, endpoint, want string }{
		{"silent", "http://" + silent, "no answer from http://" + silent + " within 10s"},
		{"refused", "http://" + closed, "connection refused by http://" + closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := awsconf.Apply(aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
				BaseEndpoint: aws.String(tt.endpoint),
			}, awsconf.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := Collect(ctx, AWSOptions(cfg, Role{}))
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatal("Collect hung")
			}
			if took > awsconf.DefaultUnreachableBudget+3*time.Second {
				t.Errorf("took %s", took)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want it to say %q", err, tt.want)
			}
		})
	}
}
