package sandbox

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Fault kinds.
const (
	FaultLatency  = "latency"  // delay matching calls by Latency
	FaultThrottle = "throttle" // throttle matching calls with Probability
	FaultRate     = "rate"     // per-account token bucket of RatePerSecond, Burst
	FaultError    = "error"    // fail matching calls with Code/Status/Message
)

// Fault is one injected fault. Empty Service, Operation or Account match any.
type Fault struct {
	ID        string `json:"id,omitempty"`
	Kind      string `json:"kind"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	Account   string `json:"account,omitempty"`
	// Probability that the fault fires on a matching call; 0 means always.
	Probability float64 `json:"probability,omitempty"`
	// Latency is a Go duration string such as "200ms", for latency faults.
	Latency string `json:"latency,omitempty"`
	// Times bounds how often the fault fires; 0 means without end.
	Times int `json:"times,omitempty"`
	// Skip lets the first Skip matching calls through before the fault
	// fires (to fail, say, the second PutResourcePolicy of a run).
	Skip int `json:"skip,omitempty"`
	// Skipped counts the matching calls let through by Skip.
	Skipped int `json:"skipped,omitempty"`
	// RatePerSecond and Burst define a rate fault's token bucket per account.
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int     `json:"burst,omitempty"`
	// Code, Status and Message define an error fault's response.
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Fired counts how often the fault has fired.
	Fired int `json:"fired"`

	latency time.Duration
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

type faultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults []*Fault
	nextID int
	// newKeyDelay is how long a new access key takes to authenticate.
	newKeyDelay time.Duration
	// reportBuildTime overrides defaultReportBuildTime when set.
	reportBuildTime *time.Duration
}

func newFaultSet(seed uint64) *faultSet {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &faultSet{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// faultError is a fault that fired as an error; its code is mapped to the
// service's own throttling code.
type faultError struct {
	throttle bool
	err      *apiError
}

var throttleCodes = map[string]*apiError{
	"iam":            {Status: 400, Code: "Throttling", Message: "Rate exceeded"},
	"sts":            {Status: 400, Code: "Throttling", Message: "Rate exceeded"},
	"sns":            {Status: 429, Code: "Throttled", Message: "Rate exceeded"}, // SNS's ThrottledException
	"organizations":  {Status: 400, Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress. Try again later."},
	"secretsmanager": {Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
	"ses":            {Status: 429, Code: "TooManyRequestsException", Message: "Too many requests"},
}

func (f *faultError) forProtocol(_ protocol, service string) *apiError {
	if f.throttle {
		if e := throttleCodes[service]; e != nil {
			c := *e
			return &c
		}
		return &apiError{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	}
	return f.err
}

func (fs *faultSet) matches(f *Fault, service, action, account string) bool {
	return (f.Service == "" || f.Service == service) &&
		(f.Operation == "" || f.Operation == action) &&
		(f.Account == "" || f.Account == account) &&
		(f.Times == 0 || f.Fired < f.Times)
}

// apply runs the faults matching a call: it sleeps for latency faults and
// returns the first error fault that fires. A client that goes away during
// the injected latency is taken as a request that never arrived: the call
// is not carried out.
func (fs *faultSet) apply(ctx context.Context, service, action, account string) *faultError {
	var sleep time.Duration
	var fired *faultError
	fs.mu.Lock()
	for _, f := range fs.faults {
		if !fs.matches(f, service, action, account) {
			continue
		}
		if f.Probability > 0 && fs.rng.Float64() >= f.Probability {
			continue
		}
		if f.Skipped < f.Skip {
			f.Skipped++
			continue
		}
		switch f.Kind {
		case FaultLatency:
			sleep += f.latency
			f.Fired++
		case FaultThrottle:
			if fired == nil {
				f.Fired++
				fired = &faultError{throttle: true}
			}
		case FaultRate:
			if fired == nil && !f.take(account, time.Now()) {
				f.Fired++
				fired = &faultError{throttle: true}
			}
		case FaultError:
			if fired == nil {
				f.Fired++
				st := f.Status
				if st == 0 {
					st = 400
				}
				msg := f.Message
				if msg == "" {
					msg = "injected fault"
				}
				fired = &faultError{err: &apiError{Status: st, Code: f.Code, Message: msg}}
			}
		}
	}
	fs.mu.Unlock()
	if sleep > 0 {
		t := time.NewTimer(sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return &faultError{err: &apiError{Status: 408, Code: "RequestTimeout", Message: "the client went away before the request arrived"}}
		}
	}
	return fired
}

func (f *Fault) take(account string, now time.Time) bool {
	if f.buckets == nil {
		f.buckets = map[string]*bucket{}
	}
	burst := float64(f.Burst)
	if burst < 1 {
		burst = 1
	}
	b := f.buckets[account]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		f.buckets[account] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * f.RatePerSecond
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// AddFault installs a fault and returns it with its ID set.
func (s *Server) AddFault(f Fault) (Fault, error) {
	switch f.Kind {
	case FaultLatency:
		d, err := time.ParseDuration(f.Latency)
		if err != nil || d < 0 {
			return Fault{}, errf(400, "ValidationError", "latency fault needs a duration such as \"200ms\", got %q", f.Latency)
		}
		f.latency = d
	case FaultThrottle:
	case FaultRate:
		if f.RatePerSecond <= 0 {
			return Fault{}, errf(400, "ValidationError", "rate fault needs rate_per_second > 0")
		}
	case FaultError:
		if f.Code == "" {
			return Fault{}, errf(400, "ValidationError", "error fault needs a code")
		}
	default:
		return Fault{}, errf(400, "ValidationError", "unknown fault kind %q (want latency, throttle, rate or error)", f.Kind)
	}
	if f.Probability < 0 || f.Probability > 1 {
		return Fault{}, errf(400, "ValidationError", "probability must be between 0 and 1, got %v", f.Probability)
	}
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	if f.ID == "" {
		f.ID = "f" + itoa(fs.nextID)
	}
	f.Fired = 0
	nf := f
	fs.faults = append(fs.faults, &nf)
	return nf, nil
}

// Faults returns the installed faults with their fire counts.
func (s *Server) Faults() []Fault {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.faults))
	for _, f := range fs.faults {
		c := *f
		c.buckets = nil
		out = append(out, c)
	}
	return out
}

// ClearFaults removes every fault, or only the one with the given ID.
func (s *Server) ClearFaults(id string) {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if id == "" {
		fs.faults = nil
		return
	}
	kept := fs.faults[:0]
	for _, f := range fs.faults {
		if f.ID != id {
			kept = append(kept, f)
		}
	}
	fs.faults = kept
}

// SetNewKeyDelay makes new access keys authenticate only after d of wall
// time, as IAM's eventual consistency does.
func (s *Server) SetNewKeyDelay(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.newKeyDelay = d
	s.faults.mu.Unlock()
}

// NewKeyDelay returns the delay set by SetNewKeyDelay.
func (s *Server) NewKeyDelay() time.Duration {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.newKeyDelay
}

func itoa(i int) string { return strconv.Itoa(i) }
