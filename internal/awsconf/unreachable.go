package awsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Middleware IDs of addEndpointErrors.
const (
	callStartID     = "keyrot.CallStart"
	endpointErrorID = "keyrot.EndpointError"
)

// Problem says why a call could not reach its endpoint.
type Problem int

// Problems an EndpointError reports.
const (
	// ConnectionFailed is any other failure to send the request or read
	// the answer (for example a connection reset).
	ConnectionFailed Problem = iota
	// Refused: nothing listens at the endpoint's port.
	Refused
	// NoConnection: connecting did not complete within the attempt timeout.
	NoConnection
	// NoAnswer: the endpoint took the request and did not answer within the
	// attempt timeout.
	NoAnswer
	// TLSTimeout: the TLS handshake did not complete within the attempt timeout.
	TLSTimeout
	// UnknownHost: the endpoint's host name does not resolve.
	UnknownHost
	// NotTLS: an https:// endpoint answered without TLS, typically in plain HTTP.
	NotTLS
	// TLSFailed: the TLS handshake failed (certificate, protocol).
	TLSFailed
)

// EndpointError is a call's failure to reach its endpoint: no answer,
// connection refused, a failed TLS handshake. Its message is one sentence
// naming the endpoint, what happened and what to check; Unwrap returns the
// SDK's error (a *smithyhttp.RequestSendError).
type EndpointError struct {
	// Endpoint is the scheme and host of the request, such as https://iam.amazonaws.com.
	Endpoint string
	Problem  Problem
	// Timeout is the attempt timeout that expired, for the timeout problems.
	Timeout time.Duration
	Err     error

	start time.Time // when the call began, for the retry budget
}

// Error implements error.
func (e *EndpointError) Error() string {
	hint := "is the endpoint right and the service up? see --endpoint-url / AWS_ENDPOINT_URL"
	if isAWSHost(e.Endpoint) {
		hint = "is the network up, or a proxy or firewall in the way? see HTTPS_PROXY"
	}
	switch e.Problem {
	case Refused:
		return fmt.Sprintf("connection refused by %s (%s)", e.Endpoint, hint)
	case NoConnection:
		return fmt.Sprintf("no connection to %s within %s (%s)", e.Endpoint, e.Timeout, hint)
	case NoAnswer:
		return fmt.Sprintf("no answer from %s within %s (%s)", e.Endpoint, e.Timeout, hint)
	case TLSTimeout:
		if !isAWSHost(e.Endpoint) {
			hint = "is the endpoint right, up, and serving https? see --endpoint-url / AWS_ENDPOINT_URL"
		}
		return fmt.Sprintf("TLS handshake with %s got no answer within %s (%s)", e.Endpoint, e.Timeout, hint)
	case UnknownHost:
		return fmt.Sprintf("cannot resolve the host of %s: %v (is the endpoint or region right? see --endpoint-url / AWS_ENDPOINT_URL, --region)", e.Endpoint, cause(e.Err))
	case NotTLS:
		return fmt.Sprintf("%s answered without TLS (an http:// endpoint given as https://? see --endpoint-url / AWS_ENDPOINT_URL)", e.Endpoint)
	case TLSFailed:
		return fmt.Sprintf("TLS handshake with %s failed: %v (is its certificate trusted and issued for this host? AWS_CA_BUNDLE names extra CAs)", e.Endpoint, cause(e.Err))
	default:
		return fmt.Sprintf("connection to %s failed: %v (%s)", e.Endpoint, cause(e.Err), hint)
	}
}

// Unwrap returns the SDK's error.
func (e *EndpointError) Unwrap() error { return e.Err }

// Permanent reports whether retrying the call cannot help: the endpoint was
// reached, and what it said will not change.
func (e *EndpointError) Permanent() bool {
	switch e.Problem {
	case UnknownHost, NotTLS, TLSFailed:
		return true
	}
	return false
}

// cause is err without the SDK's and net/http's wrapping ("request send
// failed, Post \"https://...\": ").
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isAWSHost reports whether endpoint is one of AWS's own.
func isAWSHost(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") || strings.HasSuffix(h, ".api.aws")
}

// classify says what kind of connection failure err is.
func classify(err error) Problem {
	var (
		dns    *net.DNSError
		rec    tls.RecordHeaderError
		verify *tls.CertificateVerificationError
		ua     x509.UnknownAuthorityError
		host   x509.HostnameError
		inval  x509.CertificateInvalidError
		ne     net.Error
		op     *net.OpError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &rec):
		// A first record that is not TLS: net/http turns it into
		// ErrSchemeMismatch when it starts with "HTTP/", but an HTTP/0.9
		// style answer (an error page alone) is just as plain.
		return NotTLS
	case errors.As(err, &verify), errors.As(err, &ua), errors.As(err, &host), errors.As(err, &inval),
		strings.Contains(err.Error(), "tls: "):
		if errors.As(err, &ne) && ne.Timeout() {
			return TLSTimeout
		}
		return TLSFailed
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.As(err, &dns) && dns.IsNotFound:
		return UnknownHost
	case errors.As(err, &ne) && ne.Timeout():
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			return NoConnection
		case strings.Contains(err.Error(), "TLS handshake timeout"):
			return TLSTimeout
		}
		return NoAnswer
	}
	return ConnectionFailed
}

// callStartKey is the context key of the time a call began.
type callStartKey struct{}

// addEndpointErrors adds the middleware that turn a failure to reach the
// endpoint into an *EndpointError: one notes when the call begins (before
// its retries), the other, next to the transport, wraps each attempt's
// connection failure.
func (s settings) addEndpointErrors(stack *middleware.Stack) error {
	if _, ok := stack.Deserialize.Get(endpointErrorID); ok {
		return nil
	}
	start := middleware.InitializeMiddlewareFunc(callStartID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		return next.HandleInitialize(context.WithValue(ctx, callStartKey{}, time.Now()), in)
	})
	if err := stack.Initialize.Add(start, middleware.Before); err != nil {
		return fmt.Errorf("add %s: %w", callStartID, err)
	}
	wrap := middleware.DeserializeMiddlewareFunc(endpointErrorID, func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleDeserialize(ctx, in)
		var send *smithyhttp.RequestSendError
		if err == nil || !errors.As(err, &send) {
			return out, md, err
		}
		ee := &EndpointError{Problem: classify(err), Err: err, Timeout: s.attempt}
		ee.start, _ = ctx.Value(callStartKey{}).(time.Time)
		if ee.start.IsZero() {
			ee.start = time.Now()
		}
		if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
			ee.Endpoint = req.URL.Scheme + "://" + req.URL.Host
		}
		return out, md, ee
	})
	if err := stack.Deserialize.Add(wrap, middleware.After); err != nil {
		return fmt.Errorf("add %s: %w", endpointErrorID, err)
	}
	return nil
}

// reachability decides the retries of an *EndpointError: never when the
// failure is permanent, and only while a retry that fails the same way
// still ends within the budget; the standard checks decide the rest.
type reachability struct{ s settings }

func (r reachability) IsErrorRetryable(err error) aws.Ternary {
	var ee *EndpointError
	if !errors.As(err, &ee) {
		return aws.UnknownTernary
	}
	if ee.Permanent() {
		return aws.FalseTernary
	}
	if time.Since(ee.start)+maxUnreachableBackoff+r.s.attempt > r.s.budget {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// throttleBackoffDivisor shortens the wait before retrying a throttled call:
// an eighth of the standard exponential backoff with jitter, at most 250 ms
// before the first retry, 500 ms before the second, and so on. The wait need
// not be long because it is not what slows keyrot down: the adaptive mode's
// client-side bucket, cut at every throttling answer, holds each retry (and
// every other call of the account) until the account's rate allows it. The
// standard backoff (up to 2 s, then 4 s) left an account idle for seconds
// after each throttling answer it met before the bucket had learned its rate.
const throttleBackoffDivisor = 8

// backoff waits at most maxUnreachableBackoff before retrying an
// unreachable endpoint, an eighth of next's wait before retrying a throttled
// call (throttleBackoffDivisor), and as next says otherwise.
type backoff struct {
	next      retry.BackoffDelayer
	throttles retry.IsErrorThrottle
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	d, derr := b.next.BackoffDelay(attempt, err)
	if derr != nil {
		return 0, derr
	}
	var ee *EndpointError
	switch {
	case errors.As(err, &ee):
		d = min(d, maxUnreachableBackoff)
	case b.throttles != nil && b.throttles.IsErrorThrottle(err) == aws.TrueTernary:
		d /= throttleBackoffDivisor
	}
	return d, nil
}

// explained is an error whose message Explain rewrote.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// Explain returns err with a one-sentence message when an AWS call in it
// could not reach its endpoint: the call (service and operation), then the
// EndpointError's sentence, such as
//
//	STS GetCallerIdentity: no answer from http://127.0.0.1:4566 within 10s (is the endpoint right and the service up? see --endpoint-url / AWS_ENDPOINT_URL)
//
// The result wraps err, so errors.Is and errors.As still find everything err
// holds (smithy.OperationError, the SDK's transport error). Any other error,
// and an error Explain already rewrote, is returned unchanged.
func Explain(err error) error {
	var ee *EndpointError
	if err == nil || !errors.As(err, &ee) {
		return err
	}
	var done *explained
	if errors.As(err, &done) {
		return err
	}
	msg := ee.Error()
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		msg = oe.Service() + " " + oe.Operation() + ": " + msg
	}
	return &explained{msg: msg, err: err}
}
