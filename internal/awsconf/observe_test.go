package awsconf_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// recorder is a CallObserver that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	calls     []awsconf.Call
	throttled []string
}

func (r *recorder) ObserveCall(_ context.Context, c awsconf.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) ObserveThrottle(_ context.Context, service, operation string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.throttled = append(r.throttled, service+":"+operation)
}

// TestObserver: the observer hears of every call once, retries included,
// with its service, operation and final error, and of every throttled
// attempt; both observers of an Observers list are told.
func TestObserver(t *testing.T) {
	env := sandboxtest.Start(t, "empty")
	id, secret := env.Server.AdminCredentials()
	a, b := &recorder{}, &recorder{}
	cfg := awsconf.Apply(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(env.URL)}, awsconf.Options{Observer: awsconf.Observers{a, b}})
	c := iam.NewFromConfig(cfg)
	ctx := context.Background()
	// A throttled attempt, then the retry goes through: one call.
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "ListUsers", Code: "Throttling", Status: 400, Message: "Rate exceeded", Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	// A call that fails for good.
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")}); err == nil {
		t.Fatal("GetUser of a user that does not exist succeeded")
	}
	for _, r := range []*recorder{a, b} {
		if len(r.calls) != 2 || r.calls[0].Service != "IAM" || r.calls[0].Operation != "ListUsers" || r.calls[0].Err != nil ||
			r.calls[1].Operation != "GetUser" || r.calls[1].Err == nil {
			t.Errorf("calls observed: %+v", r.calls)
		}
		if len(r.throttled) != 1 || r.throttled[0] != "IAM:ListUsers" {
			t.Errorf("throttled attempts observed: %v, want 1 of IAM:ListUsers", r.throttled)
		}
	}
}
