package yamlconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time written as days ("90d"), weeks ("2w") or a
// Go duration ("2160h", "36h", "15m"). It is the one duration grammar of
// keyrot's YAML files.
type Duration time.Duration

const day = 24 * time.Hour

// ParseDuration parses "90d", "1.5d", "2w" or any time.ParseDuration string.
// Negative durations and words are errors.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration (write e.g. 90d or 2160h)")
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", day}, {"w", 7 * day}} {
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
func (d Duration) Days() int { return int(time.Duration(d) / day) }

// WholeDays reports whether the duration is a whole number of days.
func (d Duration) WholeDays() bool { return time.Duration(d)%day == 0 }

// String formats the duration as days when it is a whole number of days
// ("90d", "14d"), else as a Go duration ("36h0m0s").
func (d Duration) String() string {
	td := time.Duration(d)
	if td%day == 0 {
		return strconv.Itoa(int(td/day)) + "d"
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
