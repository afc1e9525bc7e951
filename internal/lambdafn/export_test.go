package lambdafn

import "time"

// SetClock sets the clock f's worker measures its deadline against.
func SetClock(f *Functions, now func() time.Time) { f.clock = now }
