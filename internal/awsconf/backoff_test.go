package awsconf

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// TestThrottledCallsBackOffBriefly: a throttled call waits an eighth of the
// standard backoff (the adaptive bucket paces its retry), any other
// retryable failure the standard backoff, an unreachable endpoint at most a
// second.
func TestThrottledCallsBackOffBriefly(t *testing.T) {
	var o retry.StandardOptions
	o.Throttles = retry.DefaultThrottles
	o.Retryables = retry.DefaultRetryables
	Options{}.settings().standard(&o)

	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	snsThrottled := &smithy.GenericAPIError{Code: "Throttled", Message: "Rate exceeded"}
	failed := &smithy.GenericAPIError{Code: "InternalFailure", Message: "try again"}
	unreachable := &EndpointError{}

	longest := func(attempt int, err error) time.Duration {
		var m time.Duration
		for range 400 {
			d, derr := o.Backoff.BackoffDelay(attempt, err)
			if derr != nil {
				t.Fatalf("BackoffDelay(%d, %v): %v", attempt, err, derr)
			}
			m = max(m, d)
		}
		return m
	}
	for attempt, bound := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 4: 2 * time.Second} {
		for _, err := range []error{throttled, snsThrottled} {
			if got := longest(attempt, err); got >= bound || got < bound/2 {
				t.Errorf("attempt %d after %v: longest of 400 waits %v, want in [%v, %v)", attempt, err, got, bound/2, bound)
			}
		}
		standard := bound * throttleBackoffDivisor
		if got := longest(attempt, failed); got < standard/2 || got >= standard {
			t.Errorf("attempt %d after %v: longest of 400 waits %v, want in [%v, %v)", attempt, failed, got, standard/2, standard)
		}
	}
	if got := longest(5, unreachable); got > maxUnreachableBackoff {
		t.Errorf("unreachable endpoint: longest wait %v, want at most %v", got, maxUnreachableBackoff)
	}
}
