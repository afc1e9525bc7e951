// Package awsconf loads the AWS SDK configuration keyrot's clients use: the
// SDK's standard chain (environment, shared config and credentials files,
// profiles, SSO, IMDS), AWS_ENDPOINT_URL and its per-service forms, plus
// keyrot's --profile, --region and --endpoint-url flags.
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
)

// DefaultRegion is used when neither a flag, the environment nor a profile names one.
const DefaultRegion = "us-east-1"

// Options are the user's choices on the command line.
type Options struct {
	Profile     string
	Region      string
	EndpointURL string
	// MaxAttempts bounds SDK retries (throttling, 5xx); 0 means 8.
	MaxAttempts int
}

// Load returns an aws.Config for opts.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = 8
	}
	lo := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 20e9
				o.RateLimiter = noRateLimit{}
			})
		}),
		// Keep the SDK from closing a connection mid-response (closerace.go).
		config.WithAPIOptions([]func(*middleware.Stack) error{AddCloseRaceWorkaround}),
	}
	if opts.Profile != "" {
		lo = append(lo, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		lo = append(lo, config.WithRegion(opts.Region))
	}
	if opts.EndpointURL != "" {
		lo = append(lo, config.WithBaseEndpoint(opts.EndpointURL))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// noRateLimit disables the SDK's client-side retry token bucket, which
// otherwise stops retrying throttled calls after a burst of them; keyrot
// prefers to keep backing off until MaxAttempts.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }
