package notify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// notifyNode returns the notify: node of a keyrot.yaml file, keeping the
// file's line numbers.
func notifyNode(t testing.TB, data []byte) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "notify" {
			return root.Content[i+1]
		}
	}
	return nil
}

func parseFile(t *testing.T, name string) (*Config, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	c, probs := ParseConfig(notifyNode(t, data))
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	return c, got
}

func TestParseConfigGood(t *testing.T) {
	c, probs := parseFile(t, "good.yaml")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	want := &Config{
		Channels: []ChannelConfig{
			{Type: TypeSES, Name: "mail", Audience: AudienceOwners, From: "keyrot <keyrot@example.com>", Region: "eu-west-1", line: 4},
			{Type: TypeSMTP, Name: "relay", Audience: AudienceAll, From: "keyrot@example.com", Host: "smtp.example.com", Port: 465, TLS: TLSImplicit, Username: "keyrot", PasswordEnv: "KEYROT_SMTP_PASSWORD", line: 9},
			{Type: TypeSNS, Name: "sns", Audience: AudienceCentral, TopicARN: "arn:aws:sns:us-east-1:123456789012:keyrot", line: 16},
			{Type: TypeSlack, Name: "slack", Audience: AudienceAll, URLEnv: "KEYROT_SLACK_URL", line: 19},
			{Type: TypeWebhook, Name: "webhook", Audience: AudienceAll, URL: "https://hooks.example.com/keyrot", SecretEnv: "KEYROT_WEBHOOK_SECRET", line: 21},
		},
		OwnerTags:       []string{"owner", "contact"},
		SecurityContact: "security@example.com",
		Central:         CentralDigest,
		Reminders:       []int{14, 7, 1},
		DedupeWindow:    12 * time.Hour,
		TemplatesDir:    "/etc/keyrot/templates",
	}
	if d := cmp.Diff(want, c, cmp.AllowUnexported(ChannelConfig{})); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	for _, n := range []*yaml.Node{nil, {}, notifyNode(t, []byte("notify:\n"))} {
		c, probs := ParseConfig(n)
		if len(probs) > 0 {
			t.Fatalf("problems: %v", probs)
		}
		if d := cmp.Diff(DefaultConfig(), c, cmp.AllowUnexported(ChannelConfig{})); d != "" {
			t.Errorf("defaults (-want +got):\n%s", d)
		}
	}
}

func TestParseConfigProblems(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_channel.yaml", []string{
			`line 3: notify.channels[0].type: unknown channel type "pager"; use ses, smtp, sns, slack or webhook`,
		}},
		{"missing_sender.yaml", []string{
			`line 3: notify.channels[0].from: is required for a ses channel: the sender's email address, e.g. keyrot@example.com`,
			`line 5: notify.channels[1].from: is required for a smtp channel: the sender's email address, e.g. keyrot@example.com`,
		}},
		{"malformed_address.yaml", []string{
			`line 4: notify.channels[0].from: is not a valid email address (got "keyrot-at-example.com"); write it as name@example.com or "Name <name@example.com>"`,
			`line 6: notify.security_contact: is not a valid email address (got "security@"); write it as name@example.com or "Name <name@example.com>"`,
		}},
		{"malformed_webhook_url.yaml", []string{
			`line 4: notify.channels[0].url: must use https (http is allowed only for localhost) (got "http://hooks.example.com/keyrot")`,
			`line 8: notify.channels[1].url: is not a valid URL (got "not a url"); write it as https://host/path`,
			`line 11: notify.channels[2].url: must be an https URL (got scheme "ftp")`,
		}},
		{"password_in_file.yaml", []string{
			`line 6: notify.channels[0].password_env: is required with username: name the environment variable that holds the password`,
			`line 7: notify.channels[0].password: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in password_env`,
			`line 8: notify.channels[1].secret_env: is required for a webhook channel: the name of the environment variable holding the HMAC signing key`,
			`line 10: notify.channels[1].secret: secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in secret_env`,
		}},
		{"unknown_fields.yaml", []string{
			`line 5: notify.channels[0].from: unknown field for a sns channel; known fields are type, name, audience, topic_arn, region`,
			`line 6: notify.central: must be none, copy or digest (got "everything")`,
			`line 7: notify.reminders[1]: must be a whole number of days such as 7d (got "36h")`,
			`line 8: notify.dedupe: unknown key "dedupe" in notify (known keys: central, channels, dedupe_window, owner_tags, reminders, security_contact, templates_dir)`,
		}},
		{"central_without_contact.yaml", []string{
			`line 2: notify.security_contact: is required when central is copy: give the security team's email address`,
			`line 7: notify.channels[0].tls: none would send the password in clear text; use starttls or implicit with username`,
			`line 9: notify.channels[0].password_env: must be the name of an environment variable, such as KEYROT_SMTP_PASSWORD (got "not a var")`,
			`line 11: notify.channels[1].topic_arn: must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:keyrot (got "arn:aws:sqs:us-east-1:123456789012:keyrot")`,
		}},
		{"not_a_mapping.yaml", []string{
			`line 1: notify: must be a mapping of keys to values (got a list)`,
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			_, got := parseFile(t, tt.file)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseConfigDurations: the notify section reads durations with the
// grammar of the rest of keyrot.yaml, weeks included.
func TestParseConfigDurations(t *testing.T) {
	tests := []struct {
		name, yaml string
		window     time.Duration
		reminders  []int
		problems   []string
	}{
		{name: "weeks", yaml: "notify:\n  dedupe_window: 2w\n  reminders: [2w, 3d, 10d, 3d]\n",
			window: 14 * 24 * time.Hour, reminders: []int{14, 10, 3}},
		{name: "days and hours", yaml: "notify:\n  dedupe_window: 1d\n  reminders: [48h]\n",
			window: 24 * time.Hour, reminders: []int{2}},
		{name: "bad", yaml: "notify:\n  dedupe_window: 0s\n  reminders: [ninety, 36h, -1d, 0d]\n", problems: []string{
			`line 2: notify.dedupe_window: must be more than 0, e.g. 20h (got 0d)`,
			`line 3: notify.reminders[0]: invalid duration "ninety" (write e.g. 90d or 2160h)`,
			`line 3: notify.reminders[1]: must be a whole number of days such as 7d (got "36h")`,
			`line 3: notify.reminders[2]: invalid duration "-1d" (write e.g. 90d or 2160h)`,
			`line 3: notify.reminders[3]: must be a whole number of days such as 7d (got "0d")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := ParseConfig(notifyNode(t, []byte(tt.yaml)))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if d := cmp.Diff(tt.problems, got); d != "" {
				t.Fatalf("problems (-want +got):\n%s", d)
			}
			if len(got) > 0 {
				return
			}
			if c.DedupeWindow != tt.window || !cmp.Equal(c.Reminders, tt.reminders) {
				t.Errorf("dedupe_window %v, reminders %v; want %v, %v", c.DedupeWindow, c.Reminders, tt.window, tt.reminders)
			}
		})
	}
}

func TestParseConfigSecretNotRepeated(t *testing.T) {
	_, got := parseFile(t, "password_in_file.yaml")
	for _, p := range got {
		if strings.Contains(p, "hunter2") || strings.Contains(p, "s3cret") {
			t.Errorf("problem repeats the secret: %s", p)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			return
		}
		var n *yaml.Node
		if len(doc.Content) > 0 {
			n = doc.Content[0]
		}
		c, probs := ParseConfig(n)
		if c == nil {
			t.Fatal("nil config")
		}
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("empty problem message at %s", p.Path)
			}
		}
		if len(probs) == 0 {
			// A clean config must build once its variables are set.
			if _, err := BuildTargets(c, Deps{Getenv: func(string) string { return "https://localhost/x" }}); err != nil {
				t.Fatalf("clean config does not build: %v", err)
			}
		}
	})
}

func TestBuildTargetsNeedsVariables(t *testing.T) {
	c, probs := parseFile(t, "good.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	env := map[string]string{"KEYROT_SMTP_PASSWORD": "pw", "KEYROT_SLACK_URL": "https://hooks.slack.example/T0/B0/x", "KEYROT_WEBHOOK_SECRET": "k"}
	targets, err := BuildTargets(c, Deps{Getenv: func(k string) string { return env[k] }})
	if err != nil || len(targets) != 5 {
		t.Fatalf("BuildTargets: %d targets, %v", len(targets), err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.Channel.Name()+"/"+tg.Audience)
	}
	if d := cmp.Diff([]string{"mail/owners", "relay/all", "sns/central", "slack/all", "webhook/all"}, got); d != "" {
		t.Errorf("targets (-want +got):\n%s", d)
	}
	delete(env, "KEYROT_WEBHOOK_SECRET")
	env["KEYROT_SLACK_URL"] = "http://hooks.slack.example/T0/B0/x"
	_, err = BuildTargets(c, Deps{Getenv: func(k string) string { return env[k] }})
	if !errors.Is(err, ErrMissingEnv) || !strings.Contains(err.Error(), "line 21") || !strings.Contains(err.Error(), "KEYROT_SLACK_URL must use https") {
		t.Errorf("err = %v, want the missing webhook secret (line 21) and the http Slack URL", err)
	}
	if strings.Contains(err.Error(), "/T0/B0/x") {
		t.Errorf("error repeats the Slack URL's path: %v", err)
	}
}
