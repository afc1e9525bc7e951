// Package policy defines keyrot.yaml: thresholds per credential kind,
// exemptions, the rotation lifecycle and notification settings. Load decodes
// strictly and Validate reports every problem with its path and line.
package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time written as days ("90d"), weeks ("2w") or a Go
// duration ("2160h", "15m").
type Duration time.Duration

// ParseDuration parses "90d", "2w" or any time.ParseDuration string.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration (write e.g. 90d or 2160h)")
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v*float64(u.unit) >= math.MaxInt64 ||
				strings.ContainsAny(n, "xXpP_") {
				return 0, fmt.Errorf("invalid duration %q (write e.g. 90d or 2160h)", s)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (write e.g. 90d or 2160h)", s)
	}
	return d, nil
}

// Days returns the duration in whole days.
func (d Duration) Days() int { return int(time.Duration(d) / (24 * time.Hour)) }

// WholeDays reports whether the duration is a whole number of days.
func (d Duration) WholeDays() bool { return time.Duration(d)%(24*time.Hour) == 0 }

// String formats the duration as days when it is a whole number of days.
func (d Duration) String() string {
	td := time.Duration(d)
	if td%(24*time.Hour) == 0 {
		return strconv.Itoa(int(td/(24*time.Hour))) + "d"
	}
	return td.String()
}

// MarshalText encodes the duration as String does ("90d").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes a duration written as ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
