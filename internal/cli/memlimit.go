package cli

import (
	"errors"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultMemoryLimit is the soft limit on the Go runtime's memory that the
// commands working on an organization (audit, plan, apply, rollback,
// rotate) set unless --memory-limit or GOMEMLIMIT says otherwise. Near it
// the garbage collector collects more often instead of letting the heap
// grow to twice the live data, which keeps an audit of 1,000 accounts with
// 150,000 keys and 95,000 findings, recorded in the history, under 300 MB
// (docs/performance.md). A run whose live data is larger still completes:
// the limit is soft, and the runtime bounds the CPU it spends collecting.
const DefaultMemoryLimit = 192 << 20

// DefaultGCPercent is the garbage collector's target those commands set
// with the default limit unless GOGC says otherwise: a heap may grow by
// half its live data before a collection, not by all of it. With the
// limit it takes an audit of 1,000 accounts about 10 MiB lower at its
// peak for a few percent more CPU (docs/performance.md).
const DefaultGCPercent = 50

// minMemoryLimit is the smallest --memory-limit accepted: below it the
// collector would run almost continuously for any organization.
const minMemoryLimit = 64 << 20

// setMemoryLimit applies --memory-limit (or the default) to the runtime.
// GOMEMLIMIT, which the runtime reads itself, wins over the default but
// not over the flag.
func (g *globalOptions) setMemoryLimit() error {
	switch {
	case g.MemoryLimit == "" && os.Getenv("GOMEMLIMIT") != "":
		return nil
	case g.MemoryLimit == "":
		debug.SetMemoryLimit(DefaultMemoryLimit)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(DefaultGCPercent)
		}
		return nil
	case g.MemoryLimit == "off":
		debug.SetMemoryLimit(math.MaxInt64)
		return nil
	}
	n, err := parseByteSize(g.MemoryLimit)
	if err != nil {
		return usageErrorf("--memory-limit %q: %v; give a size such as 512MiB or 2GiB, or off", g.MemoryLimit, err)
	}
	if n < minMemoryLimit {
		return usageErrorf("--memory-limit %s is below the smallest limit, 64MiB; give more, or off", g.MemoryLimit)
	}
	debug.SetMemoryLimit(n)
	return nil
}

// byteUnits are the suffixes GOMEMLIMIT accepts, largest first.
var byteUnits = []struct {
	suffix string
	size   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseByteSize reads a size in GOMEMLIMIT's syntax: a whole number of
// bytes, or followed by B, KiB, MiB, GiB or TiB.
func parseByteSize(s string) (int64, error) {
	num, unit := s, int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, unit = strings.TrimSuffix(s, u.suffix), u.size
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, errNotSize
	}
	if n > math.MaxInt64/unit {
		return 0, errNotSize
	}
	return n * unit, nil
}

var errNotSize = errors.New("not a size")
