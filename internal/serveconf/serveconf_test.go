package serveconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// decodeFile decodes a fixture whose document is the serve section.
func decodeFile(t testing.TB, data []byte, file string) (*Config, yamlconf.Problems) {
	t.Helper()
	root, err := yamlconf.Parse(data, file)
	if err != nil {
		return nil, err.(yamlconf.Problems)
	}
	var n = root
	if root != nil && len(root.Content) == 1 {
		n = root.Content[0]
	}
	return Decode(file, n, "serve")
}

func TestDefaults(t *testing.T) {
	c := Default()
	if c.Listen != "127.0.0.1:9090" || c.Auth.BearerTokenEnv != "KEYROT_SERVE_TOKEN" || c.TLS.Enabled() ||
		c.ReadinessThreshold != 6*time.Hour || c.DrainTimeout != 2*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	from := time.Date(2026, 1, 10, 10, 20, 0, 0, time.UTC)
	for kind, want := range map[string]time.Time{
		KindAudit: time.Date(2026, 1, 10, 11, 0, 0, 0, time.UTC), // hourly
		KindApply: time.Date(2026, 1, 11, 3, 0, 0, 0, time.UTC),  // daily at 03:00 UTC
	} {
		sc := c.Schedules[kind]
		if got := sc.Next.Next(from); !got.Equal(want) || sc.Disabled {
			t.Errorf("%s: next after %s is %s, want %s", kind, from, got, want)
		}
	}
	if c.Schedules[KindAudit].Deadline != time.Hour || c.Schedules[KindApply].Deadline != 3*time.Hour {
		t.Errorf("deadlines %v %v", c.Schedules[KindAudit].Deadline, c.Schedules[KindApply].Deadline)
	}
}

// TestTimeZones: an expression is read in its time zone, across a change
// of daylight saving time, whether named by time_zone or CRON_TZ=.
func TestTimeZones(t *testing.T) {
	for _, tc := range []struct {
		expr, tz string
		from     time.Time
		want     time.Time
	}{
		// 03:00 in Paris is 02:00 UTC in winter, 01:00 UTC in summer.
		{"0 3 * * *", "Europe/Paris", time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC), time.Date(2026, 1, 11, 2, 0, 0, 0, time.UTC)},
		{"0 3 * * *", "Europe/Paris", time.Date(2026, 7, 10, 12, 0, 0, 0, time.UTC), time.Date(2026, 7, 11, 1, 0, 0, 0, time.UTC)},
		{"CRON_TZ=America/New_York 30 9 * * 1", "", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 12, 14, 30, 0, 0, time.UTC)},
		{"*/20 * * * * *", "", time.Date(2026, 1, 10, 0, 0, 5, 0, time.UTC), time.Date(2026, 1, 10, 0, 0, 20, 0, time.UTC)},
		{"@every 90m", "UTC", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 10, 1, 30, 0, 0, time.UTC)},
	} {
		s, _, err := ParseSchedule(tc.expr, tc.tz)
		if err != nil {
			t.Fatalf("%q in %q: %v", tc.expr, tc.tz, err)
		}
		if got := s.Next(tc.from); !got.Equal(tc.want) {
			t.Errorf("%q in %q after %s: %s, want %s", tc.expr, tc.tz, tc.from, got.UTC(), tc.want)
		}
	}
}

// TestBadFixtures: one fixture per defect, each problem with its line,
// path and fix.
func TestBadFixtures(t *testing.T) {
	tests := map[string][]string{
		"basic_password_in_file.yaml":     {`4: serve.auth.basic.password: secrets must not be written in keyrot.yaml: put the password in an environment variable and name the variable in password_env`},
		"basic_without_password_env.yaml": {`2: serve.auth.basic: username and password_env go together: set both or neither`},
		"cron_minute_range.yaml":          {`3: serve.schedules.audit.cron: cron expression "61 * * * *": end of range (61) above maximum (59): 61: write five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *" for 03:00 daily, six with seconds first, or @hourly, @daily, @every 30m`},
		"cron_words.yaml":                 {`3: serve.schedules.audit.cron: cron expression "every hour": expected 5 to 6 fields, found 2: [every hour]: write five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *" for 03:00 daily, six with seconds first, or @hourly, @daily, @every 30m`},
		"durations.yaml": {
			`3: serve.schedules.audit.deadline: must be positive (e.g. 1h)`,
			`4: serve.readiness_threshold: must be positive (e.g. 6h)`,
			`5: serve.drain_timeout: invalid duration "soon" (write e.g. 90d or 2160h)`,
		},
		"listen_bad_port.yaml":      {`1: serve.listen: listen address "127.0.0.1:http-alt-nope" has no valid port: write e.g. 127.0.0.1:9090`},
		"listen_no_port.yaml":       {`1: serve.listen: listen address "localhost" is not host:port: write e.g. 127.0.0.1:9090, or 0.0.0.0:9090 for every interface (which needs auth)`},
		"time_zone_twice.yaml":      {`3: serve.schedules.apply.cron: the expression says CRON_TZ=Europe/Paris but time_zone says America/New_York: keep one of them`},
		"time_zone_unknown.yaml":    {`4: serve.schedules.apply.time_zone: time zone "Mars/Olympus" is not known: use an IANA name such as UTC, Europe/Paris or America/New_York`},
		"tls_half.yaml":             {`1: serve.tls: cert_file and key_file go together: set both (PEM files) or neither for plain HTTP`},
		"token_env_not_a_name.yaml": {`2: serve.auth.bearer_token_env: "s3cr3t-value!" is not an environment variable name: name the variable that holds the token (e.g. KEYROT_SERVE_TOKEN), not the token`},
		"unknown_key.yaml":          {`1: serve.schedule: unknown key "schedule" in serve; did you mean "schedules"? (known keys: auth, drain_timeout, listen, readiness_threshold, schedules, tls)`},
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("%d fixtures, %d with expected problems", len(files), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, probs := decodeFile(t, data, path)
			var got []string
			for _, p := range probs {
				got = append(got, strings.TrimPrefix(p.String(), path+":"))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true, "localhost:9090": true, "[::1]:9090": true, "127.1.2.3:80": true,
		"0.0.0.0:9090": false, ":9090": false, "10.0.0.1:9090": false, "[::]:9090": false, "example.com:9090": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

// FuzzDecode: no input panics; problems have a message and the file; an
// accepted section has a schedule for every kind, a usable listen address
// and positive durations. Seeds: testdata/fuzz/FuzzDecode and the fixtures.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := decodeFile(t, data, "fuzz.yaml")
		for _, p := range probs {
			if p.Message == "" || p.File != "fuzz.yaml" {
				t.Fatalf("problem without a message or file: %+v", p)
			}
		}
		if len(probs) > 0 {
			return
		}
		if err := CheckListen(c.Listen); err != nil {
			t.Fatalf("accepted listen %q: %v", c.Listen, err)
		}
		if c.ReadinessThreshold <= 0 || c.DrainTimeout <= 0 {
			t.Fatalf("accepted non-positive durations: %+v", c)
		}
		for _, k := range Kinds {
			sc := c.Schedules[k]
			if sc.Next == nil || sc.Location == nil || sc.Deadline <= 0 {
				t.Fatalf("accepted %s schedule without a parse: %+v", k, sc)
			}
		}
	})
}
