package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/policy"
)

const day = 24 * time.Hour

// problems returns what keyrot config validate prints for err, one
// problem a line.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var probs policy.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("error is %T, want policy.Problems: %v", err, err)
	}
	var out []string
	for _, p := range probs {
		out = append(out, p.String())
	}
	return out
}

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ak := c.Policy.AccessKeys
	if ak.RotateAfter != policy.Duration(56*day) || ak.DeleteAfter != policy.Duration(70*day) || ak.UnusedAfter != policy.Duration(45*day) {
		t.Errorf("access_keys = %+v", ak)
	}
	if c.Policy.Source() != "testdata/good.yaml" || len(c.Policy.Exemptions) != 1 {
		t.Errorf("policy: source %q, %d exemptions", c.Policy.Source(), len(c.Policy.Exemptions))
	}
	n := c.Notify
	if n.DedupeWindow != 14*day || !cmp.Equal(n.Reminders, []int{14, 7, 1}) || n.Central != notify.CentralCopy {
		t.Errorf("notify: dedupe_window %v, reminders %v, central %q", n.DedupeWindow, n.Reminders, n.Central)
	}
	var chans []string
	for _, ch := range n.Channels {
		chans = append(chans, ch.Name+"/"+ch.Audience)
	}
	if d := cmp.Diff([]string{"ses/all", "webhook/all"}, chans); d != "" {
		t.Errorf("channels (-want +got):\n%s", d)
	}
}

// TestDedupeWindowWeeks: notify durations follow the grammar of the rest of
// keyrot.yaml, which docs/config.md promises: days, weeks, Go durations.
func TestDedupeWindowWeeks(t *testing.T) {
	c, err := Parse([]byte("notify:\n  dedupe_window: 2w\n"), "keyrot.yaml")
	if err != nil {
		t.Fatalf("dedupe_window: 2w refused: %v", err)
	}
	if c.Notify.DedupeWindow != 14*day {
		t.Errorf("dedupe_window = %v, want 336h", c.Notify.DedupeWindow)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n", "version: 1\nnotify:\n"} {
		c, err := Parse([]byte(data), "keyrot.yaml")
		if err != nil {
			t.Fatalf("Parse(%q) = %v", data, err)
		}
		want := Default()
		if d := cmp.Diff(want.Policy, c.Policy, cmpopts.IgnoreUnexported(policy.Policy{}), cmpopts.IgnoreFields(policy.Policy{}, "Notify")); d != "" {
			t.Errorf("Parse(%q) policy (-want +got):\n%s", data, d)
		}
		if d := cmp.Diff(want.Notify, c.Notify, cmpopts.IgnoreUnexported(notify.ChannelConfig{})); d != "" {
			t.Errorf("Parse(%q) notify (-want +got):\n%s", data, d)
		}
	}
}

// TestParseProblems: the policy's, the notify section's and the serve
// section's problems come together, sorted by line, as keyrot config
// validate prints them.
func TestParseProblems(t *testing.T) {
	tests := map[string][]string{
		"both_parts.yaml": {
			"3: access_keys.rotate_after: must be less than deactivate_after (got 120d >= 100d)",
			"9: notify.channels[0].password_env: is required with username: name the environment variable that holds the password",
			"10: notify.channels[0].password: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in password_env",
			"11: notify.channels[1].secret_env: is required for a webhook channel: the name of the environment variable holding the HMAC signing key",
			"13: notify.channels[1].secret: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in secret_env",
			`15: rotation.mode: must be enforce or audit-only (got "yolo")`,
		},
		"duplicate_keys.yaml": {
			`5: access_keys.rotate_after: duplicate key "rotate_after": it is also on line 3, and only one value can be kept; remove one`,
			`9: notify.central: duplicate key "central": it is also on line 8, and only one value can be kept; remove one`,
		},
		"serve_section.yaml": {
			"2: access_keys.rotate_after: must be less than deactivate_after (got 120d >= 100d)",
			`5: serve.listen: listen address "0.0.0.0" is not host:port: write e.g. 127.0.0.1:9090, or 0.0.0.0:9090 for every interface (which needs auth)`,
			`7: serve.schedules.apply.cron: cron expression "0 3 * *": expected 5 to 6 fields, found 4: [0 3 * *]: write five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *" for 03:00 daily, six with seconds first, or @hourly, @daily, @every 30m`,
			`9: notify.central: must be none, copy or digest (got "sometimes")`,
		},
		"history_retention.yaml": {
			"3: history.retention: must be at least 1d, or audits would be pruned as they are recorded (got 12h0m0s)",
			`4: history.keep: unknown key "keep" in history (known keys: retention)`,
		},
		"notify_not_a_mapping.yaml": {
			`2: notify: must be a mapping of keys to values (got a list)`,
			`3: colour: unknown key "colour" in top level (known keys: access_keys, certificates, console, deliver, exempt_tag, exemptions, history, notify, organization, passwords, root, rotation, secrets, serve, server_certificates, service_credentials, signing_certificates, ssh_keys, trust_anchors, version)`,
		},
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) != len(tests)+1 { // and good.yaml
		t.Errorf("%d fixtures, %d with expected problems: every bad fixture needs its messages", len(files), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			c, err := Load(path)
			if c != nil {
				t.Errorf("Load returned a configuration with problems")
			}
			for i := range want {
				want[i] = path + ":" + want[i]
			}
			if d := cmp.Diff(want, problems(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestHistoryRetention: the history section's retention takes the duration
// grammar of the rest of the file and defaults to 400 days.
func TestHistoryRetention(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want time.Duration
	}{{"", DefaultRetention}, {"history:\n", DefaultRetention}, {"history:\n  retention: 2w\n", 14 * day}, {"history:\n  retention: 90d\n", 90 * day}} {
		c, err := Parse([]byte(tt.src), "keyrot.yaml")
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		if got := time.Duration(c.History.Retention); got != tt.want {
			t.Errorf("%q: retention %v, want %v", tt.src, got, tt.want)
		}
	}
	if got := time.Duration(Default().History.Retention); got != DefaultRetention {
		t.Errorf("Default: retention %v", got)
	}
}

func TestProblemsRepeatNoSecret(t *testing.T) {
	_, err := Load("testdata/both_parts.yaml")
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v, want problems that do not repeat the secrets", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestInitLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(path, policy.Init(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("the default keyrot.yaml does not load: %v", err)
	}
}

// FuzzParse checks that no input panics, that problems come with a message,
// and that whatever Parse accepts validates again and builds its channels.
// Its seed corpus is testdata/fuzz/FuzzParse plus every fixture.
func FuzzParse(f *testing.F) {
	f.Add(policy.Init())
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a configuration with an error")
			}
			var probs policy.Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("error %T %v is not Problems", err, err)
			}
			for _, p := range probs {
				if p.Message == "" || p.File != "fuzz.yaml" {
					t.Fatalf("problem without a message or file: %+v", p)
				}
			}
			return
		}
		if err := c.Policy.Validate(); err != nil {
			t.Fatalf("Parse accepted a policy that Validate rejects: %v\ninput:\n%s", err, data)
		}
		getenv := func(string) string { return "https://localhost/x" }
		if _, err := notify.BuildTargets(c.Notify, notify.Deps{Getenv: getenv}); err != nil {
			t.Fatalf("accepted notify section does not build: %v\ninput:\n%s", err, data)
		}
	})
}
