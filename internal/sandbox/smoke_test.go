package sandbox_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/sandbox"
)

func TestSmokeCallerIdentity(t *testing.T) {
	srv := sandbox.New(sandbox.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	id, sec := srv.AdminCredentials()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, sec, ""), BaseEndpoint: aws.String(hs.URL)}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != srv.ManagementAccountID() {
		t.Fatalf("account %s", *out.Account)
	}
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, "wrong", "")
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("want SignatureDoesNotMatch, got %v", err)
	}
}

// TestServeShutsDownDespiteIdleClientConnection: a client connection that
// never sends a request does not make a clean stop fail.
func TestServeShutsDownDespiteIdleClientConnection(t *testing.T) {
	srv := sandbox.New(sandbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	conn, err := net.Dial("tcp", (<-addrc).String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // the server has accepted it
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
