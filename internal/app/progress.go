package app

import "time"

// Phases of a run, in order. Audit runs only collect; apply runs all four.
const (
	PhaseCollect = "collect"
	PhaseGather  = "gather"
	PhaseExecute = "execute"
	PhaseNotify  = "notify"
)

// Progress is told what a run is doing: each phase as it starts, and each
// step of it (an account collected, an action ended, a digest sent) with
// how many of how many. Implementations must be safe for concurrent use
// and must never fail the run: a broken terminal is not a reason to stop.
type Progress interface {
	Phase(name string)
	Step(phase string, done, total int, item string)
}

// noProgress is the Progress of an App without one.
type noProgress struct{}

func (noProgress) Phase(string)                  {}
func (noProgress) Step(string, int, int, string) {}

func (r *App) progress() Progress {
	if r.Progress != nil {
		return r.Progress
	}
	return noProgress{}
}

// heartbeatEvery is how often a running run tells the history it is alive.
const heartbeatEvery = time.Minute

// staleAfter is how long a run on another host may stay silent before a
// later run takes it for crashed.
const staleAfter = 10 * heartbeatEvery
