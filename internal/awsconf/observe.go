package awsconf

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Call is one AWS API call as seen by a CallObserver: its retries included.
type Call struct {
	// Service is the SDK's service ID ("IAM", "STS"); Operation the API
	// operation ("ListUsers").
	Service, Operation string
	Duration           time.Duration
	// Err is the call's final error, nil if it succeeded.
	Err error
}

// CallObserver is told about every AWS call made with a configuration
// from Load or Apply, and about every attempt of a call that AWS
// throttled (retried or not). Its methods must be safe for concurrent use
// and quick: they run on the call's path.
type CallObserver interface {
	ObserveCall(ctx context.Context, c Call)
	ObserveThrottle(ctx context.Context, service, operation string)
}

// throttles is the SDK's own test of a throttling error.
var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// observe adds o's hooks to a client's stack: one around the whole call
// (Initialize) and one around each attempt (after the retry middleware).
func observe(o CallObserver) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("keyrotObserveCall",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				o.ObserveCall(ctx, Call{Service: awsmiddleware.GetServiceID(ctx), Operation: awsmiddleware.GetOperationName(ctx), Duration: time.Since(start), Err: err})
				return out, md, err
			}), middleware.Before)
		if err != nil {
			return err
		}
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("keyrotObserveAttempt",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				if err != nil && throttles.IsErrorThrottle(err) == aws.TrueTernary {
					o.ObserveThrottle(ctx, awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
				}
				return out, md, err
			}), "Retry", middleware.After)
	}
}

// Observers joins several observers into one.
type Observers []CallObserver

// ObserveCall tells each observer.
func (os Observers) ObserveCall(ctx context.Context, c Call) {
	for _, o := range os {
		o.ObserveCall(ctx, c)
	}
}

// ObserveThrottle tells each observer.
func (os Observers) ObserveThrottle(ctx context.Context, service, operation string) {
	for _, o := range os {
		o.ObserveThrottle(ctx, service, operation)
	}
}
