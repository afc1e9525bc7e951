package notify_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestSandboxSESAndSNS sends the fixture's digests through the real SES v2
// and SNS clients to the sandbox, configured from YAML, and reads back what
// the sandbox captured.
func TestSandboxSESAndSNS(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx := context.Background()
	topic, err := sns.NewFromConfig(env.Admin()).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-notices")})
	if err != nil {
		t.Fatal(err)
	}
	src := `
channels:
  - type: ses
    from: keyrot@brightloop.example
    region: us-east-1
  - type: sns
    name: security-topic
    topic_arn: ` + aws.ToString(topic.TopicArn) + `
    audience: central
security_contact: security@example.com
central: copy
`
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(src), &node); err != nil {
		t.Fatal(err)
	}
	cfg, probs := notify.ParseConfig(&node)
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	targets, err := notify.BuildTargets(cfg, notify.Deps{AWS: env.Admin()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(cfg, targets, notify.Options{Sleep: notify.NoSleep, Logger: notify.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(ctx, notify.Run{ID: "run-1", Now: notify.FixtureNow, Items: notify.FixtureItems()})
	if err != nil || sum.Err() != nil {
		t.Fatalf("send: %v %v", err, sum.Err())
	}

	emails := env.Server.Emails()
	sort.Slice(emails, func(i, j int) bool { return emails[i].To[0] < emails[j].To[0] })
	var got, subjects []string
	for _, e := range emails {
		got = append(got, e.From+" -> "+strings.Join(e.To, ",")+" cc "+strings.Join(e.Cc, ","))
		subjects = append(subjects, strings.Join(e.To, ",")+" cc="+strings.Join(e.Cc, ",")+": "+e.Subject+"\n")
		// The same golden files as TestRenderGolden: what SES received is
		// exactly what was rendered.
		notify.Golden(t, filepath.Join("enforce", notify.GoldenName(e.To[0], ".txt")), e.Text)
		notify.Golden(t, filepath.Join("enforce", notify.GoldenName(e.To[0], ".html")), e.HTML)
	}
	notify.Golden(t, filepath.Join("enforce", "subjects"), strings.Join(subjects, ""))
	want := []string{
		"keyrot@brightloop.example -> alice@example.com cc security@example.com",
		"keyrot@brightloop.example -> carol@example.com cc security@example.com",
		"keyrot@brightloop.example -> erin@example.com cc security@example.com",
		"keyrot@brightloop.example -> ops@example.com cc security@example.com",
		"keyrot@brightloop.example -> security@example.com cc ",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("emails (-want +got):\n%s", d)
	}
	// The SNS channel's audience is central, and there is no central
	// digest in copy mode: nothing published.
	if msgs := env.Server.SNSMessages(); len(msgs) != 0 {
		t.Errorf("SNS got %d messages, want none", len(msgs))
	}

	// The same run again: nothing new is sent.
	sum, err = n.Send(ctx, notify.Run{ID: "run-2", Now: notify.FixtureNow.Add(1), Items: notify.FixtureItems()})
	if err != nil || sum.Digests != 0 || len(env.Server.Emails()) != len(emails) {
		t.Errorf("second send: err %v, %d digests, %d emails captured", err, sum.Digests, len(env.Server.Emails()))
	}
}

func TestSandboxSNSCentralDigest(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	ctx := context.Background()
	topic, err := sns.NewFromConfig(env.Admin()).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := notify.FixtureConfig()
	cfg.Central = notify.CentralDigest
	cfg.Channels = []notify.ChannelConfig{{Type: notify.TypeSNS, Name: "topic", TopicARN: aws.ToString(topic.TopicArn), Audience: notify.AudienceCentral}}
	targets, err := notify.BuildTargets(cfg, notify.Deps{AWS: env.Admin()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(cfg, targets, notify.Options{Sleep: notify.NoSleep, Logger: notify.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(ctx, notify.Run{Now: notify.FixtureNow, Items: notify.FixtureItems()})
	if err != nil || sum.Err() != nil {
		t.Fatalf("send: %v %v", err, sum.Err())
	}
	msgs := env.Server.SNSMessages()
	if len(msgs) != 1 {
		t.Fatalf("%d SNS messages, want the central digest only", len(msgs))
	}
	m := msgs[0]
	notify.Golden(t, filepath.Join("central-digest", notify.GoldenName("security@example.com", ".txt")), m.Message)
	// SNS subjects must be under 100 characters: cut with "...".
	if m.Subject != "keyrot digest for 2027-02-19: 6 keys (1 blocked-in-use, 1 reminder, 1 rotated, 1 deactivated, 1 ..." {
		t.Errorf("subject = %q", m.Subject)
	}
	if d := cmp.Diff(map[string]string{"keyrot.recipient": "security@example.com", "keyrot.digest": "central"}, m.Attributes); d != "" {
		t.Errorf("attributes (-want +got):\n%s", d)
	}
}
