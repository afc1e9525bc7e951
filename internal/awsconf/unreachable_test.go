package awsconf_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// guard bounds every call of these tests: a call that is still running
// then has hung, and the test fails rather than the package timing out.
const guard = 30 * time.Second

// slack is what a loaded test machine may add to a bound.
const slack = 3 * time.Second

// stsAt returns an STS client of keyrot's configuration (awsconf.Apply with
// opts) aimed at endpoint.
func stsAt(endpoint string, opts awsconf.Options) *sts.Client {
	cfg := awsconf.Apply(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}, opts)
	return sts.NewFromConfig(cfg)
}

// call makes one GetCallerIdentity and returns its error and duration.
func call(t *testing.T, c *sts.Client) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	start := time.Now()
	_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("the call was still running after %s", guard)
	}
	if err == nil {
		t.Fatal("the call succeeded")
	}
	return err, took
}

// endpointError returns the *awsconf.EndpointError in err.
func endpointError(t *testing.T, err error) *awsconf.EndpointError {
	t.Helper()
	var ee *awsconf.EndpointError
	if !errors.As(err, &ee) {
		t.Fatalf("no EndpointError in %v", err)
	}
	return ee
}

// TestSilentEndpointDefaults: an endpoint that accepts connections and never
// answers fails the call after one attempt timeout (10s; a retry would end
// past the 15s budget), with a message naming the endpoint.
func TestSilentEndpointDefaults(t *testing.T) {
	t.Parallel()
	addr, conns := sandboxtest.SilentEndpoint(t)
	err, took := call(t, stsAt("http://"+addr, awsconf.Options{}))
	if took > awsconf.DefaultUnreachableBudget+slack {
		t.Errorf("took %s, want at most %s", took, awsconf.DefaultUnreachableBudget)
	}
	ee := endpointError(t, err)
	if ee.Problem != awsconf.NoAnswer || ee.Endpoint != "http://"+addr {
		t.Errorf("problem %d at %q, want NoAnswer at http://%s", ee.Problem, ee.Endpoint, addr)
	}
	want := "STS GetCallerIdentity: no answer from http://" + addr + " within 10s (is the endpoint right and the service up? see --endpoint-url / AWS_ENDPOINT_URL)"
	if got := awsconf.Explain(err).Error(); got != want {
		t.Errorf("explained:\n got %s\nwant %s", got, want)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestSilentEndpointRetriesWithinBudget: with a short attempt timeout, a
// silent endpoint is retried, but only while the budget allows.
func TestSilentEndpointRetriesWithinBudget(t *testing.T) {
	t.Parallel()
	addr, conns := sandboxtest.SilentEndpoint(t)
	opts := awsconf.Options{AttemptTimeout: 500 * time.Millisecond, UnreachableBudget: 4 * time.Second}
	err, took := call(t, stsAt("http://"+addr, opts))
	if took > opts.UnreachableBudget+slack {
		t.Errorf("took %s, want at most %s", took, opts.UnreachableBudget)
	}
	if ee := endpointError(t, err); ee.Problem != awsconf.NoAnswer || ee.Timeout != opts.AttemptTimeout {
		t.Errorf("problem %d, timeout %s", ee.Problem, ee.Timeout)
	}
	if n := conns.Load(); n < 2 {
		t.Errorf("%d connections, want the call retried", n)
	}
}

// TestRefusedDefaults: connection refused ends well within the budget (it
// was 8 attempts over a minute or more), retried a few times.
func TestRefusedDefaults(t *testing.T) {
	t.Parallel()
	addr := sandboxtest.RefusedEndpoint(t)
	err, took := call(t, stsAt("http://"+addr, awsconf.Options{}))
	if took > awsconf.DefaultUnreachableBudget+slack {
		t.Errorf("took %s, want at most %s", took, awsconf.DefaultUnreachableBudget)
	}
	if ee := endpointError(t, err); ee.Problem != awsconf.Refused {
		t.Errorf("problem %d, want Refused", ee.Problem)
	}
	want := "STS GetCallerIdentity: connection refused by http://" + addr + " (is the endpoint right and the service up? see --endpoint-url / AWS_ENDPOINT_URL)"
	if got := awsconf.Explain(err).Error(); got != want {
		t.Errorf("explained:\n got %s\nwant %s", got, want)
	}
}

// countConns returns a ConnState hook counting new connections.
func countConns(n *atomic.Int32) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
}

// TestTLSFailuresAreNotRetried: a TLS handshake that fails (a plain HTTP
// server addressed as https://, an untrusted certificate) fails on the
// first attempt, with a message saying what to check.
func TestTLSFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   func(*httptest.Server)
		problem awsconf.Problem
		message string
	}{
		{"plain HTTP as https", (*httptest.Server).Start, awsconf.NotTLS, `^STS GetCallerIdentity: https://127\.0\.0\.1:\d+ answered without TLS \(an http:// endpoint given as https://\?`},
		{"untrusted certificate", (*httptest.Server).StartTLS, awsconf.TLSFailed, `^STS GetCallerIdentity: TLS handshake with https://127\.0\.0\.1:\d+ failed: tls: failed to verify certificate: x509: .*AWS_CA_BUNDLE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "not AWS", http.StatusTeapot)
			}))
			srv.Config.ConnState = countConns(&conns)
			srv.Config.ErrorLog = nil
			tt.start(srv)
			t.Cleanup(srv.Close)
			endpoint := "https://" + strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
			err, took := call(t, stsAt(endpoint, awsconf.Options{}))
			if took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			if ee := endpointError(t, err); ee.Problem != tt.problem || !ee.Permanent() {
				t.Errorf("problem %d (permanent %t), want %d", ee.Problem, ee.Permanent(), tt.problem)
			}
			if got := awsconf.Explain(err).Error(); !regexp.MustCompile(tt.message).MatchString(got) {
				t.Errorf("explained %q, want it to match %s", got, tt.message)
			}
			// The server may see the connection close after the call returned.
			time.Sleep(100 * time.Millisecond)
			if n := conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1 (no retries)", n)
			}
		})
	}
}

// TestExplainKeepsTheChain: the explained error still unwraps to the SDK's
// operation and transport errors.
func TestExplainKeepsTheChain(t *testing.T) {
	t.Parallel()
	err, _ := call(t, stsAt("http://"+sandboxtest.RefusedEndpoint(t), awsconf.Options{MaxAttempts: 1}))
	ex := awsconf.Explain(err)
	var oe *smithy.OperationError
	var send *smithyhttp.RequestSendError
	if !errors.As(ex, &oe) || oe.Operation() != "GetCallerIdentity" || !errors.As(ex, &send) {
		t.Errorf("explained error %v lost the SDK's errors", ex)
	}
	if again := awsconf.Explain(ex); again != ex {
		t.Errorf("explaining twice gave %v", again)
	}
	plain := errors.New("something else")
	if awsconf.Explain(plain) != plain || awsconf.Explain(nil) != nil {
		t.Error("Explain changed an error it has nothing to say about")
	}
}

// TestThrottlingIsStillRetried: the budget is for endpoints that cannot be
// reached; a throttled call is retried with backoff until it succeeds.
func TestThrottlingIsStillRetried(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "")
	f, err := env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultThrottle, Service: "sts", Operation: "GetCallerIdentity", Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := awsconf.Apply(env.Admin(), awsconf.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("throttled call: %v", err)
	}
	for _, g := range env.Server.Faults() {
		if g.ID == f.ID && g.Fired != 2 {
			t.Errorf("fault fired %d times, want 2", g.Fired)
		}
	}
}

// TestSNSThrottledIsRetried: SNS throttles with its own code, Throttled
// (HTTP 429), which the SDK's standard retryer does not retry by itself;
// keyrot's retryer does, so a throttled notification is still sent.
func TestSNSThrottledIsRetried(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	topic, err := sns.NewFromConfig(env.Admin()).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultThrottle, Service: "sns", Operation: "Publish", Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	in := &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("hello")}
	_, err = sns.NewFromConfig(env.Admin()).Publish(ctx, in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttled" {
		t.Fatalf("without keyrot's retryer: want Throttled, got %v", err)
	}
	cfg := awsconf.Apply(env.Admin(), awsconf.Options{})
	if _, err := sns.NewFromConfig(cfg).Publish(ctx, in); err != nil {
		t.Fatalf("throttled publish: %v", err)
	}
	for _, g := range env.Server.Faults() {
		if g.ID == f.ID && g.Fired != 2 {
			t.Errorf("fault fired %d times, want 2", g.Fired)
		}
	}
}
