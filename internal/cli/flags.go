package cli

import (
	"time"

	"github.com/keyrot/keyrot/internal/policy"
)

// parseDurationFlag parses a duration flag that accepts days ("30d") as
// well as Go durations ("36h").
func parseDurationFlag(name, v string) (time.Duration, error) {
	d, err := policy.ParseDuration(v)
	if err != nil {
		return 0, usageErrorf("%s: %v", name, err)
	}
	return d, nil
}
