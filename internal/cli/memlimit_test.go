package cli

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"256MiB": 256 << 20, "2GiB": 2 << 30, "1TiB": 1 << 40, "512KiB": 512 << 10, "1000000B": 1e6, "123456789": 123456789,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.5GiB", "256MB", "1 GiB", "99999999999TiB", "off"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestMemoryLimitFlag: the commands that work on an organization set the
// runtime's soft memory limit from --memory-limit, the default when it is
// not given (and GOMEMLIMIT is not set) with the default GC target (GOGC
// not set), none with off; a bad size is a usage error naming the flag.
func TestMemoryLimitFlag(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	gcBefore := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(before); debug.SetGCPercent(gcBefore) })
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	unreachable := []string{"--endpoint-url", "http://127.0.0.1:1", "--call-timeout", "50ms", "--timeout", "1s", "-o", "json"}
	for _, c := range []struct {
		flag string
		want int64
	}{{"", DefaultMemoryLimit}, {"--memory-limit=1GiB", 1 << 30}, {"--memory-limit=off", math.MaxInt64}} {
		debug.SetMemoryLimit(math.MaxInt64 - 1)
		args := append([]string{"audit"}, unreachable...)
		if c.flag != "" {
			args = append(args, c.flag)
		}
		debug.SetGCPercent(100)
		runCLI(t, args...)
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("audit %s: memory limit %d, want %d", c.flag, got, c.want)
		}
		wantGC := 100
		if c.flag == "" {
			wantGC = DefaultGCPercent
		}
		if got := debug.SetGCPercent(100); got != wantGC {
			t.Errorf("audit %s: GC percent %d, want %d", c.flag, got, wantGC)
		}
	}
	for _, bad := range []string{"12", "lots"} {
		code, _, errOut := runCLI(t, append([]string{"plan", "--memory-limit", bad}, unreachable...)...)
		if code != ExitUsage || !strings.Contains(errOut, "--memory-limit") {
			t.Errorf("--memory-limit %s: exit %d, %s", bad, code, errOut)
		}
	}
}
