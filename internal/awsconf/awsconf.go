// Package awsconf loads the AWS SDK configuration keyrot's clients use: the
// SDK's standard chain (environment, shared config and credentials files,
// profiles, SSO, IMDS), AWS_ENDPOINT_URL and its per-service forms, plus
// keyrot's --profile, --region and --endpoint-url flags.
//
// It also decides how calls behave when the network does not: every attempt
// of a call is bounded in time (connecting, the TLS handshake and waiting for
// the answer, see Options.AttemptTimeout), an endpoint that cannot be reached
// is retried only within a time budget (Options.UnreachableBudget), failures
// that retrying cannot heal (TLS and certificate errors, an http:// endpoint
// addressed as https://, an unknown host) are not retried at all, and
// Explain turns such a failure into one sentence that names the endpoint and
// what to check. Throttling and 5xx answers are still retried with backoff up
// to Options.MaxAttempts, and throttling slows the client down: calls wait
// for a client-side token bucket that adapts to the throttling answers
// (the SDK's adaptive retry mode).
package awsconf

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
)

// DefaultRegion is used when neither a flag, the environment nor a profile names one.
const DefaultRegion = "us-east-1"

// Defaults for the zero values of Options' fields.
const (
	// DefaultMaxAttempts is how often a call is tried when it is throttled or
	// answered with a 5xx.
	DefaultMaxAttempts = 8
	// DefaultMaxBackoff is the longest wait between two attempts of a
	// throttled call.
	DefaultMaxBackoff = 20 * time.Second
	// DefaultAttemptTimeout bounds each phase of one attempt: connecting, the
	// TLS handshake, and waiting for the response headers.
	DefaultAttemptTimeout = 10 * time.Second
	// DefaultUnreachableBudget bounds the time a call spends on an endpoint
	// that refuses connections or does not answer, retries included.
	DefaultUnreachableBudget = 15 * time.Second
)

// maxUnreachableBackoff is the longest wait before retrying an endpoint that
// could not be reached: the budget is short, so the retries are quick.
const maxUnreachableBackoff = time.Second

// Options are the user's choices on the command line.
type Options struct {
	Profile     string
	Region      string
	EndpointURL string
	// MaxAttempts bounds SDK retries (throttling, 5xx); 0 means DefaultMaxAttempts.
	MaxAttempts int
	// AttemptTimeout bounds, for each attempt of a call, connecting, the TLS
	// handshake and the wait for the response headers (each of them; reading
	// the body is not bounded). 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// UnreachableBudget bounds a call whose endpoint cannot be reached
	// (connection refused or reset, no answer within AttemptTimeout): it is
	// retried only while a retry that fails the same way would still end
	// within this long after the call began. 0 means DefaultUnreachableBudget.
	UnreachableBudget time.Duration
	// Observer, if set, is told about every call and every throttled
	// attempt: the one hook behind the CLI's debug log of calls and the
	// service's metrics.
	Observer CallObserver
}

// settings are Options' network choices with defaults applied.
type settings struct {
	maxAttempts int
	attempt     time.Duration
	budget      time.Duration
	observer    CallObserver
}

func (o Options) settings() settings {
	s := settings{maxAttempts: o.MaxAttempts, attempt: o.AttemptTimeout, budget: o.UnreachableBudget, observer: o.Observer}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
	}
	if s.attempt <= 0 {
		s.attempt = DefaultAttemptTimeout
	}
	if s.budget <= 0 {
		s.budget = DefaultUnreachableBudget
	}
	return s
}

// Load returns an aws.Config for opts.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	s := opts.settings()
	lo := []func(*config.LoadOptions) error{
		config.WithHTTPClient(s.httpClient()),
		config.WithRetryer(s.retryer),
		config.WithAPIOptions(s.apiOptions()),
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

// Apply returns a copy of cfg with keyrot's HTTP client, retryer and API
// options for opts (the network fields and the observer: MaxAttempts,
// AttemptTimeout, UnreachableBudget, Observer), for a configuration built without Load. It replaces
// cfg's HTTP client and retryer.
func Apply(cfg aws.Config, opts Options) aws.Config {
	s := opts.settings()
	out := cfg.Copy()
	out.HTTPClient = s.httpClient()
	out.Retryer = s.retryer
	out.APIOptions = append(append([]func(*middleware.Stack) error(nil), cfg.APIOptions...), s.apiOptions()...)
	return out
}

// httpClient is the SDK's HTTP client with each phase of an attempt bounded.
func (s settings) httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = s.attempt }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = s.attempt
			tr.ResponseHeaderTimeout = s.attempt
		})
}

// retryer is keyrot's adaptive retry mode (adaptive.go): a client-side
// pace that starts unlimited, is cut to 70% of the rate calls were going out
// at each throttling answer (Throttling, TooManyRequestsException, SNS's
// Throttled, ...) and grows back along a cubic curve while calls succeed;
// under it, the standard retryer with many attempts and backoff for
// throttling, none for failures retrying cannot heal, and a time budget for
// endpoints that cannot be reached. The pace belongs to the retryer: clients
// that share one retryer share one rate (SharedRetryer), which is how keyrot
// gives each account one rate.
func (s settings) retryer() aws.Retryer {
	var throttles retry.IsErrorThrottles
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		s.standard(o)
		throttles = o.Throttles
	})
	return newAdaptive(std, throttles)
}

// standard sets the standard retryer's options under the adaptive mode.
func (s settings) standard(o *retry.StandardOptions) {
	o.MaxAttempts = s.maxAttempts
	o.MaxBackoff = DefaultMaxBackoff
	o.RateLimiter = noRateLimit{}
	o.Retryables = append([]retry.IsErrorRetryable{reachability{s}}, o.Retryables...)
	o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: extraThrottleCodes})
	o.Throttles = append(o.Throttles, retry.ThrottleErrorCode{Codes: extraThrottleCodes})
	o.Backoff = backoff{
		next:      retry.NewExponentialJitterBackoff(DefaultMaxBackoff),
		throttles: retry.IsErrorThrottles(o.Throttles),
	}
}

// SharedRetryer returns a copy of cfg whose clients all share one retryer,
// made once from cfg's: with keyrot's adaptive retryer, one client-side
// rate that every client of the copy slows down when any of them is
// throttled. IAM throttles per account, so keyrot shares one retryer among
// the clients of each account (awsaccess).
func SharedRetryer(cfg aws.Config) aws.Config {
	out := cfg.Copy()
	if cfg.Retryer == nil {
		return out
	}
	r := cfg.Retryer()
	out.Retryer = func() aws.Retryer { return r }
	return out
}

// extraThrottleCodes are throttling answers the SDK's standard retryer does
// not know: SNS's ThrottledException has the code "Throttled" (HTTP 429),
// which is neither in retry.DefaultThrottleErrorCodes nor a retryable status.
var extraThrottleCodes = map[string]struct{}{"Throttled": {}}

// apiOptions are the middleware every client gets.
func (s settings) apiOptions() []func(*middleware.Stack) error {
	opts := []func(*middleware.Stack) error{
		// Keep the SDK from closing a connection mid-response (closerace.go).
		AddCloseRaceWorkaround,
		s.addEndpointErrors,
	}
	if s.observer != nil {
		opts = append(opts, observe(s.observer))
	}
	return opts
}

// noRateLimit disables the SDK's client-side retry token bucket, which
// otherwise stops retrying throttled calls after a burst of them; keyrot
// prefers to keep backing off until MaxAttempts.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }
