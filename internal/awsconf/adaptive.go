package awsconf

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"golang.org/x/time/rate"
)

// The pacing of an account's calls after a throttling answer follows the
// SDK's adaptive retry mode (and the other AWS SDKs'): the rate is cut to
// beta times the rate at which calls were going out, then grows back along
// a cubic curve (CUBIC congestion control) while calls succeed.
const (
	paceBeta  = 0.7
	paceScale = 0.4
	// paceMin is the slowest pace: one call every two seconds.
	paceMin = 0.5
	// paceWindow is how far back the sending rate is measured.
	paceWindow = time.Second
	// paceShortest is the shortest span a rate is measured over, so that
	// the first calls of a client do not read as an unbounded rate.
	paceShortest = 100 * time.Millisecond
)

// adaptive is keyrot's adaptive retry mode: the standard retryer, with every
// attempt first waiting for the client-side pace (a pacer) that throttling
// answers set. It replaces the SDK's retry.AdaptiveMode, whose rate
// measurement starts at zero and is only updated every half second: a
// throttling answer within a client's first half second (an account's burst
// of look-ups meeting IAM's limit) cut its rate to the floor of 0.5 calls per
// second, from which the cubic growth took seconds to recover. Here the
// sending rate is measured over the last second of attempts from the first
// one on.
type adaptive struct {
	aws.RetryerV2
	throttles retry.IsErrorThrottles
	pace      *pacer
}

// newAdaptive returns an adaptive retryer over standard that counts the
// answers throttles recognises as throttling.
func newAdaptive(standard aws.RetryerV2, throttles retry.IsErrorThrottles) *adaptive {
	return &adaptive{RetryerV2: standard, throttles: throttles, pace: newPacer(time.Now())}
}

// GetAttemptToken waits for the pace, then takes the standard retryer's
// token; the release records whether the attempt was throttled.
func (a *adaptive) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if err := a.pace.wait(ctx); err != nil {
		return nil, fmt.Errorf("wait for the client-side call rate: %w", err)
	}
	release, err := a.RetryerV2.GetAttemptToken(ctx)
	if err != nil {
		return nil, err
	}
	return func(opErr error) error {
		a.pace.answered(a.throttles.IsErrorThrottle(opErr) == aws.TrueTernary, time.Now())
		return release(opErr)
	}, nil
}

// pacer is a client-side call rate: unlimited until the first throttling
// answer, then cut at each one and grown back while calls succeed.
type pacer struct {
	lim *rate.Limiter

	mu      sync.Mutex
	created time.Time
	// sent are the start times of the attempts of the last paceWindow.
	sent []time.Time
	// paced is set once a throttling answer has been seen.
	paced bool
	// lastMax is the rate cut at the last throttling answer, at lastCut;
	// window is how long the cubic curve takes to grow back to it.
	lastMax float64
	lastCut time.Time
	window  float64
}

func newPacer(now time.Time) *pacer {
	return &pacer{lim: rate.NewLimiter(rate.Inf, 1), created: now}
}

// wait blocks until an attempt may start, and counts it.
func (p *pacer) wait(ctx context.Context) error {
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	p.send(time.Now())
	return nil
}

// send counts an attempt started at now.
func (p *pacer) send(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trim(now)
	p.sent = append(p.sent, now)
}

// trim drops the attempts older than paceWindow.
func (p *pacer) trim(now time.Time) {
	i := 0
	for i < len(p.sent) && now.Sub(p.sent[i]) > paceWindow {
		i++
	}
	p.sent = append(p.sent[:0], p.sent[i:]...)
}

// sending is the rate at which attempts went out over the last
// paceWindow (over the pacer's life when it is younger, but at least
// paceShortest).
func (p *pacer) sending(now time.Time) float64 {
	p.trim(now)
	span := min(now.Sub(p.created), paceWindow)
	span = max(span, paceShortest)
	return float64(len(p.sent)) / span.Seconds()
}

// answered updates the pace after an attempt's answer.
func (p *pacer) answered(throttled bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sending := p.sending(now)
	var next float64
	switch {
	case throttled:
		r := sending
		if p.paced {
			r = min(r, float64(p.lim.Limit()))
		}
		p.lastMax, p.lastCut, p.paced = r, now, true
		p.window = math.Cbrt(r * (1 - paceBeta) / paceScale)
		next = r * paceBeta
	case p.paced:
		dt := now.Sub(p.lastCut).Seconds()
		next = paceScale*math.Pow(dt-p.window, 3) + p.lastMax
		// Grow no faster than twice what is being sent, so that a quiet
		// spell does not open the pace wide; but a success never slows
		// the pace (an answer slower than paceWindow leaves no attempt
		// in the window, and would otherwise drop it to the floor).
		next = max(min(next, 2*sending), float64(p.lim.Limit()))
	default:
		return
	}
	p.lim.SetLimitAt(now, rate.Limit(max(next, paceMin)))
}

// IsAdaptive reports whether r is keyrot's adaptive retryer (the retryer
// of configurations made by Load and Apply).
func IsAdaptive(r aws.Retryer) bool {
	_, ok := r.(*adaptive)
	return ok
}
