package notify

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBlockedDeliveryDigest: an owner whose new key did not reach every
// destination is told, in the subject and in both bodies and the webhook
// payload, which destination and why, and that the old key stays active.
func TestBlockedDeliveryDigest(t *testing.T) {
	it := Item{AccountID: "123456789012", AccountName: "payments", User: "deploy", UserARN: "arn:aws:iam::123456789012:user/deploy",
		UserTags: map[string]string{"owner": "dana@example.com"}, KeyID: "AKIAI44QH8DHBCDEPLOY",
		State: StateBlockedDelivery, Date: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
		Undelivered: []Undelivered{{Destination: "vault:secret/ci/deploy", Error: "write vault:secret/ci/deploy: unauthorized (HTTP 403): the token may not do this"}}}
	rec := &recorder{name: "rec"}
	n, err := New(fixtureConfig(), []Target{{Channel: rec, Audience: AudienceAll}}, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(context.Background(), Run{ID: "run-1", Now: fixtureNow, Items: []Item{it}})
	if err != nil || sum.Err() != nil {
		t.Fatal(err, sum.Err())
	}
	var m *Message
	for _, x := range rec.msgs {
		if x.To == "dana@example.com" {
			m = x
		}
	}
	if m == nil {
		t.Fatalf("no digest for the owner: %+v", rec.msgs)
	}
	if want := "Action needed: new access key not delivered everywhere for deploy in 123456789012"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
	for name, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		for _, want := range []string{"vault:secret/ci/deploy", "unauthorized (HTTP 403)", "AKIA…PLOY", "2027-03-01", "delivers again on its next run"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s body lacks %q:\n%s", name, want, body)
			}
		}
	}
	p := WebhookMessage(m)
	if len(p.Items) != 1 || len(p.Items[0].Undelivered) != 1 || p.Items[0].Undelivered[0].Destination != "vault:secret/ci/deploy" {
		t.Errorf("webhook items: %+v", p.Items)
	}
}
