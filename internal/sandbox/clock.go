package sandbox

import (
	"sync"
	"time"
)

// Clock is the sandbox's notion of time: wall-clock time shifted by an offset
// that the control API can set or advance. Key ages, last-used dates and the
// credential report's regeneration rule all follow it; signatures and STS
// session lifetimes do not (clients sign with their own wall clock, and
// temporary credentials expire in real time, as in AWS).
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	real   func() time.Time
}

// NewClock returns a clock that starts at wall-clock time.
func NewClock() *Clock { return &Clock{real: time.Now} }

// Now returns the sandbox time, in UTC, truncated to the second as AWS dates are.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.real().Add(c.offset).UTC().Truncate(time.Second)
}

// Advance moves the clock forward (or back, for a negative d).
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// Set makes the clock read t now; it keeps running from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = t.Sub(c.real())
	c.mu.Unlock()
}

// Offset returns how far the clock is from wall-clock time.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
