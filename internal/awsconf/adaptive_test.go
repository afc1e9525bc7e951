package awsconf

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestPacerFirstThrottleKeepsTheSendingRate: a throttling answer in a
// client's first tenth of a second (an account's first look-ups meeting
// IAM's burst) cuts the pace to 70% of the rate the calls went out at, not
// to the floor: the SDK's adaptive mode measured no rate yet at that point
// and paced the account at one call every two seconds.
func TestPacerFirstThrottleKeepsTheSendingRate(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	p := newPacer(t0)
	if p.lim.Limit() != rate.Inf {
		t.Fatalf("a new pacer's limit is %v, want none", p.lim.Limit())
	}
	for i := range 21 {
		p.send(t0.Add(time.Duration(i) * 5 * time.Millisecond))
	}
	p.answered(false, t0.Add(90*time.Millisecond))
	if p.lim.Limit() != rate.Inf {
		t.Fatalf("a success before any throttling set the limit to %v", p.lim.Limit())
	}
	p.answered(true, t0.Add(100*time.Millisecond))
	// 21 attempts over the shortest span, 100 ms: 210 calls/s, cut to 147.
	if got := float64(p.lim.Limit()); got < 140 || got > 150 {
		t.Fatalf("limit after the first throttling answer: %.1f calls/s, want 0.7 x 210", got)
	}
	// Each throttling answer cuts again, from the lower of the limit and
	// the sending rate.
	p.answered(true, t0.Add(110*time.Millisecond))
	if got := float64(p.lim.Limit()); got < 100 || got > 105 {
		t.Fatalf("limit after the second throttling answer: %.1f calls/s, want 0.7 x 147", got)
	}
}

// TestPacerGrowsBack: while calls succeed the pace grows back along the
// cubic curve to the rate of the last cut within its window, and beyond it
// after; it never falls under the floor.
func TestPacerGrowsBack(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	p := newPacer(t0)
	at := t0
	send := func(n int, over time.Duration) {
		for i := range n {
			p.send(at.Add(time.Duration(i) * over / time.Duration(n)))
		}
		at = at.Add(over)
	}
	send(40, time.Second) // 40 calls/s
	p.answered(true, at)
	cut := float64(p.lim.Limit())
	if cut < 27 || cut > 29 {
		t.Fatalf("cut to %.1f calls/s, want 0.7 x 40", cut)
	}
	window := p.window
	prev := cut
	for step := range 8 {
		send(int(prev)+1, time.Second)
		p.answered(false, at)
		got := float64(p.lim.Limit())
		if got < prev-0.01 {
			t.Fatalf("step %d: the pace fell from %.1f to %.1f while calls succeed", step, prev, got)
		}
		if elapsed := at.Sub(t0).Seconds() - 1; elapsed > window+0.5 && got < 40 {
			t.Fatalf("%.1f s after the cut (window %.2f s) the pace is %.1f, want back at 40", elapsed, window, got)
		}
		prev = got
	}
	q := newPacer(t0)
	q.answered(true, t0.Add(time.Millisecond)) // throttled before any call was counted
	if got := float64(q.lim.Limit()); got != paceMin {
		t.Fatalf("floor: %.2f, want %.2f", got, paceMin)
	}
}

// TestPacerSlowAnswerKeepsThePace: a success whose attempt started more
// than paceWindow ago (a slow answer, nothing else sent since) does not
// slow the pace: only a throttling answer cuts it.
func TestPacerSlowAnswerKeepsThePace(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	p := newPacer(t0)
	for i := range 20 {
		p.send(t0.Add(time.Duration(i) * 50 * time.Millisecond))
	}
	p.answered(true, t0.Add(time.Second))
	cut := float64(p.lim.Limit())
	p.answered(false, t0.Add(5*time.Second))
	if got := float64(p.lim.Limit()); got < cut {
		t.Fatalf("a slow success moved the pace from %.1f to %.1f calls/s", cut, got)
	}
}
