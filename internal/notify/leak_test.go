package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

type fakeSES struct {
	mu  sync.Mutex
	ins []*sesv2.SendEmailInput
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ins = append(f.ins, in)
	return &sesv2.SendEmailOutput{}, nil
}

type fakeSNS struct {
	mu  sync.Mutex
	ins []*sns.PublishInput
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ins = append(f.ins, in)
	return &sns.PublishOutput{}, nil
}

// allPayloads sends items on every channel type and returns each payload as
// it left keyrot, named by channel and whether it is human text.
func allPayloads(t *testing.T, cfg *Config, auditOnly bool, items []Item) (map[string]string, *Summary) {
	t.Helper()
	ses, topic := &fakeSES{}, &fakeSNS{}
	slack, slackURL := startCapture(t, 200)
	hook, hookURL := startCapture(t, 200)
	mb, port, pool := startSMTP(t, false)
	targets := []Target{
		{Channel: NewSES("ses", "keyrot@example.com", ses)},
		{Channel: NewSNS("sns", "arn:aws:sns:us-east-1:123456789012:keyrot", topic)},
		{Channel: NewSlack("slack", slackURL, nil)},
		{Channel: NewWebhook("webhook", hookURL, []byte(plantedSecret), nil)},
		{Channel: NewSMTP(SMTPOptions{Name: "smtp", From: "keyrot@example.com", Host: "127.0.0.1", Port: port,
			Username: "keyrot", Password: Secret(plantedSecret), TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 10 * time.Second})},
	}
	n, err := New(cfg, targets, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(context.Background(), Run{ID: "leak", Now: fixtureNow, AuditOnly: auditOnly, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, in := range ses.ins {
		b, _ := json.Marshal(in)
		out[fmt.Sprintf("ses[%d]", i)] = string(b)
	}
	for i, in := range topic.ins {
		b, _ := json.Marshal(in)
		out[fmt.Sprintf("sns[%d]", i)] = string(b)
	}
	for i, r := range slack.reqs {
		out[fmt.Sprintf("slack[%d]", i)] = fmt.Sprint(r.header) + string(r.body)
	}
	for i, r := range hook.reqs {
		out[fmt.Sprintf("webhook[%d]", i)] = fmt.Sprint(r.header) + string(r.body)
	}
	for i, r := range mb.got {
		out[fmt.Sprintf("smtp[%d]", i)] = string(r.data)
	}
	return out, sum
}

func TestNoSecretMaterialInAnyPayload(t *testing.T) {
	for _, tt := range []struct {
		name      string
		central   string
		auditOnly bool
	}{{"enforce", CentralCopy, false}, {"audit-only", CentralNone, true}, {"central-digest", CentralDigest, false}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fixtureConfig()
			cfg.Central = tt.central
			payloads, sum := allPayloads(t, cfg, tt.auditOnly, fixtureItems())
			if err := sum.Err(); err != nil {
				t.Fatal(err)
			}
			for _, ch := range []string{"ses", "sns", "slack", "webhook", "smtp"} {
				if _, ok := payloads[ch+"[0]"]; !ok {
					t.Errorf("no %s payload was produced", ch)
				}
			}
			for name, p := range payloads {
				for _, secret := range []string{plantedSecret, plantedToken, plantedToken[:60], "hunter2"} {
					if strings.Contains(p, secret) {
						t.Errorf("%s contains planted secret material %.8s…", name, secret)
					}
				}
				if err := screen(name, p); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				// Human text masks key IDs; only the webhook's machine
				// payload carries them whole.
				if !strings.HasPrefix(name, "webhook") && strings.Contains(p, "AKIAIOSFODNN7EXAMPLE") {
					t.Errorf("%s shows an unmasked key ID", name)
				}
			}
		})
	}
}

func TestSecretShapedContentIsNeverSent(t *testing.T) {
	items := fixtureItems()[:1]
	items[0].State = StateFinding
	items[0].FindingTitles = []string{"key material pasted in a tag: " + plantedSecret}
	payloads, sum := allPayloads(t, fixtureConfig(), false, items)
	if len(payloads) != 0 {
		t.Errorf("payloads left keyrot: %v", keys(payloads))
	}
	if len(sum.Deliveries) != 5 {
		t.Fatalf("%d deliveries, want 5", len(sum.Deliveries))
	}
	for _, d := range sum.Deliveries {
		if d.Attempts != 1 || !errors.Is(d.err, ErrSecretMaterial) {
			t.Errorf("%s: attempts %d, err %v; want one attempt refused with ErrSecretMaterial", d.Channel, d.Attempts, d.err)
		}
		if strings.Contains(d.Error, plantedSecret) {
			t.Errorf("%s: the error repeats the secret", d.Channel)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestScreen(t *testing.T) {
	tests := []struct {
		in     string
		secret bool
	}{
		{"key AKIAIOSFODNN7EXAMPLE and AKIA…MPLE", false},
		{"aws secretsmanager get-secret-value --secret-id " + secretARN + " --region us-east-1 --query SecretString --output text", false},
		{"sha256=" + strings.Repeat("0f", 32), false},
		{"keyrot rollback --account 123456789012 --user alice", false},
		{"/usr/local/share/keyrot/templates/digest", false},
		{plantedSecret, true},
		{"keyrot/alice/" + plantedSecret, true},
		{`{"SecretAccessKey":"` + plantedSecret + `"}`, true},
		{"token " + plantedToken, true},
	}
	for _, tt := range tests {
		err := screen("x", tt.in)
		if got := err != nil; got != tt.secret {
			t.Errorf("screen(%.50q) = %v, want secret=%v", tt.in, err, tt.secret)
		}
	}
}

func TestSecretTypeRedacts(t *testing.T) {
	o := SMTPOptions{Name: "relay", Host: "smtp.example.com", Username: "keyrot", Password: Secret(plantedSecret)}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("smtp", "options", o, "password", o.Password)
	js, _ := json.Marshal(o)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", o, o, o, o.Password), logged.String(), string(js)} {
		if strings.Contains(s, plantedSecret) || !strings.Contains(s, "secret") {
			t.Errorf("secret not redacted: %s", s)
		}
	}
}
