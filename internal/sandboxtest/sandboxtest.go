// Package sandboxtest starts an in-process sandbox on a loopback port for
// tests and returns aws.Config values that reach it through the real SDK.
package sandboxtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// Env is a running sandbox.
type Env struct {
	Server *sandbox.Server
	URL    string
	// client is shared by every Config of the Env, so the many short-lived
	// SDK clients of a test reuse connections instead of each keeping its
	// own transport's idle connections open (a long chaos run ran out of
	// file descriptors that way).
	client *http.Client
}

// Start runs a sandbox for the test's lifetime. scenario is a built-in name
// or a file path; "" means an empty organization.
func Start(t testing.TB, scenario string) *Env {
	t.Helper()
	srv := sandbox.New(sandbox.Options{})
	if scenario != "" {
		sc, err := sandbox.LoadScenario(scenario)
		if err != nil {
			t.Fatalf("load scenario %s: %v", scenario, err)
		}
		if err := srv.ApplyScenario(sc); err != nil {
			t.Fatalf("apply scenario %s: %v", scenario, err)
		}
	}
	hs := httptest.NewServer(srv)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	return &Env{Server: srv, URL: hs.URL, client: &http.Client{Transport: tr}}
}

// Config returns an aws.Config signing with the given static credentials.
func (e *Env) Config(keyID, secret, token string) aws.Config {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, token),
		BaseEndpoint: aws.String(e.URL),
		Retryer:      func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
		// Without this, a large response (over the transport's 4 KiB read
		// buffer) failed now and then with "use of closed network
		// connection" (TestIAMListUsersPagination: 1 run in 15 to 100,
		// 1 in 3 under -race): the SDK closes the request body while
		// net/http's write loop still uses it, and the transport then
		// closes the connection. See awsconf.AddCloseRaceWorkaround; keyrot's real
		// clients get the same option from awsconf.Load.
		APIOptions: []func(*middleware.Stack) error{awsconf.AddCloseRaceWorkaround},
	}
	if e.client != nil { // an Env made by Start; a literal Env gets the SDK's own client
		cfg.HTTPClient = e.client
	}
	return cfg
}

// Admin returns an aws.Config with the management account's admin key and no retries.
func (e *Env) Admin() aws.Config {
	id, sec := e.Server.AdminCredentials()
	return e.Config(id, sec, "")
}
