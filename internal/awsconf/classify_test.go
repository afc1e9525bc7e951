package awsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// timeoutErr is a net.Error that timed out, like net/http's.
type timeoutErr string

func (e timeoutErr) Error() string { return string(e) }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// sent wraps err the way the SDK and net/http do.
func sent(err error) error {
	return &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://sts.amazonaws.com/", Err: err}}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Problem
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, Refused},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr("i/o timeout")}, NoConnection},
		{"no response headers", timeoutErr("net/http: timeout awaiting response headers"), NoAnswer},
		{"TLS handshake timeout", timeoutErr("net/http: TLS handshake timeout"), TLSTimeout},
		{"unknown host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "sts.nowhere.invalid", IsNotFound: true}}, UnknownHost},
		{"plain HTTP", http.ErrSchemeMismatch, NotTLS},
		{"plain HTTP, wrapped", fmt.Errorf("wrapped: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'H', 'T', 'T', 'P', '/'}}), NotTLS},
		{"HTTP/0.9 answer", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'<', '!', 'D', 'O', 'C'}}, NotTLS},
		{"untrusted", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, TLSFailed},
		{"TLS alert", &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, TLSFailed},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ConnectionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(sent(tt.err)); got != tt.want {
				t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestEndpointErrorHints: AWS's own endpoints get a network hint, others
// the endpoint flag's.
func TestEndpointErrorHints(t *testing.T) {
	aws := &EndpointError{Endpoint: "https://iam.amazonaws.com", Problem: NoAnswer, Timeout: 10 * time.Second}
	if want := "no answer from https://iam.amazonaws.com within 10s (is the network up, or a proxy or firewall in the way? see HTTPS_PROXY)"; aws.Error() != want {
		t.Errorf("got  %s\nwant %s", aws.Error(), want)
	}
	local := &EndpointError{Endpoint: "http://localhost:4566", Problem: Refused}
	if want := "connection refused by http://localhost:4566 (is the endpoint right and the service up? see --endpoint-url / AWS_ENDPOINT_URL)"; local.Error() != want {
		t.Errorf("got  %s\nwant %s", local.Error(), want)
	}
}
