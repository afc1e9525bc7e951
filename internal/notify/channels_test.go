package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// capture is an HTTP endpoint that records requests and answers status.
type capture struct {
	mu     sync.Mutex
	status int
	reqs   []captured
}

type captured struct {
	header http.Header
	body   []byte
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, captured{r.Header.Clone(), body})
	status := c.status
	c.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	fmt.Fprint(w, map[int]string{200: "ok", 400: "invalid_payload", 500: "internal error"}[status])
}

func startCapture(t *testing.T, status int) (*capture, string) {
	c := &capture{status: status}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// verifyWebhook is a receiver's check, written from docs/notifications.md
// without using Sign: the HMAC-SHA256 of "<timestamp>.<body>" with the
// shared secret, hex, after "sha256=", and a timestamp within 5 minutes.
func verifyWebhook(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Keyrot-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("stale timestamp")
	}
	got, ok := strings.CutPrefix(h.Get("X-Keyrot-Signature"), "sha256=")
	if !ok {
		return errors.New("no sha256 signature")
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return errors.New("bad signature encoding")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return errors.New("signature mismatch")
	}
	return nil
}

func TestWebhookSignedPayload(t *testing.T) {
	cap, url := startCapture(t, 200)
	secret := []byte(plantedSecret)
	wh := NewWebhook("hook", url, secret, nil)
	sent := time.Unix(1800000000, 0)
	wh.now = func() time.Time { return sent }
	n, err := New(fixtureConfig(), []Target{{Channel: wh}}, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(context.Background(), Run{ID: "r1", Now: fixtureNow, Items: fixtureItems()[:1]})
	if err != nil || sum.Err() != nil {
		t.Fatalf("send: %v %v", err, sum.Err())
	}
	if len(cap.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(cap.reqs))
	}
	req := cap.reqs[0]
	if err := verifyWebhook(secret, req.header, req.body, sent.Add(time.Minute)); err != nil {
		t.Errorf("receiver rejects a genuine delivery: %v", err)
	}
	// Replayed later, or tampered with, or signed with another key: refused.
	if err := verifyWebhook(secret, req.header, req.body, sent.Add(time.Hour)); err == nil {
		t.Error("receiver accepts a replay an hour later")
	}
	tampered := []byte(strings.Replace(string(req.body), "alice", "mallory", 1))
	if err := verifyWebhook(secret, req.header, tampered, sent); err == nil {
		t.Error("receiver accepts a tampered body")
	}
	if err := verifyWebhook([]byte("another key"), req.header, req.body, sent); err == nil {
		t.Error("receiver accepts a signature made with another key")
	}
	if req.header.Get("Content-Type") != "application/json" || req.header.Get(HeaderDelivery) == "" {
		t.Errorf("headers = %v", req.header)
	}
	var p WebhookPayload
	if err := json.Unmarshal(req.body, &p); err != nil {
		t.Fatal(err)
	}
	want := WebhookPayload{
		Version: 1, ID: req.header.Get(HeaderDelivery), Time: fixtureNow, Recipient: "alice@example.com",
		Cc: []string{"security@example.com"}, Subject: "Action needed by 2027-03-01: switch app keys for alice in 123456789012",
		Items: []WebhookItem{{
			State: StateRotated, AccountID: "123456789012", Account: "payments (123456789012)", User: "alice",
			UserARN: "arn:aws:iam::123456789012:user/alice", KeyID: "AKIAIOSFODNN7EXAMPLE", Date: "2027-03-01", Deadline: "2027-03-01",
			SecretName: "keyrot/123456789012/alice", SecretARN: secretARN, SecretRegion: "us-east-1",
			FetchCommand: "aws secretsmanager get-secret-value --secret-id " + secretARN + " --region us-east-1 --query SecretString --output text",
			Owner:        "alice@example.com",
		}},
	}
	if d := cmp.Diff(want, p, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Text" }, cmp.Ignore())); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
	if !strings.Contains(p.Text, "AKIA…MPLE") {
		t.Errorf("payload text does not mask the key: %s", p.Text)
	}
}

func TestSlackPayload(t *testing.T) {
	cap, url := startCapture(t, 200)
	n, err := New(fixtureConfig(), []Target{{Channel: NewSlack("chat", url, nil)}}, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(context.Background(), Run{Now: fixtureNow, Items: fixtureItems()}); err != nil {
		t.Fatal(err)
	}
	if len(cap.reqs) != 5 {
		t.Fatalf("%d posts, want one per digest (5)", len(cap.reqs))
	}
	var all []string
	for _, r := range cap.reqs {
		var p struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text *struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"text"`
				Elements []struct{ Type, Text string } `json:"elements"`
			} `json:"blocks"`
		}
		dec := json.NewDecoder(strings.NewReader(string(r.body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("slack payload: %v\n%s", err, r.body)
		}
		if p.Text == "" || len(p.Blocks) < 3 || p.Blocks[0].Type != "header" || p.Blocks[0].Text.Type != "plain_text" {
			t.Errorf("payload shape: %s", r.body)
		}
		for _, b := range p.Blocks[2:] {
			if b.Type != "section" || b.Text.Type != "mrkdwn" {
				t.Errorf("block %+v is not a mrkdwn section", b)
			}
			all = append(all, b.Text.Text)
		}
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"Switch to the new key by 2027-03-01. It is in `" + secretARN + "`",
		"still in use: last used 2027-02-18 22:14 UTC by s3 in eu-west-1",
		// owners do not run keyrot: they ask the team that does
		"Can be rolled back until 2027-03-01 05:00 UTC: ask security@example.com (the team that runs keyrot) to roll back: `keyrot rollback --account 210987654321 --user bob`",
		"• Two active access keys &lt;script&gt;alert(1)&lt;/script&gt;",
		"key `AKIA…MPLE`",
		// a user's findings have no key: no empty "key ``"
		"dave in 333333333333 (owner",
		// still in use: where the new key is, again
		"still in use: last used 2027-02-18 22:14 UTC by s3 in eu-west-1. Switch to the new key in `arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-ci-Qr34St`; fetch it with `aws secretsmanager get-secret-value",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("slack sections lack %q:\n%s", want, joined)
		}
	}
	if n, w := strings.Count(joined, "`aws secretsmanager get-secret-value"), strings.Count(joined, "a read signed with the old key counts as a use of the old key"); n == 0 || n != w {
		t.Errorf("slack: %d fetch commands, %d warnings against fetching with the old key", n, w)
	}
	if strings.Contains(joined, "key ``") {
		t.Error("slack shows an empty key")
	}
	if strings.Contains(joined, "AKIAIOSFODNN7EXAMPLE") {
		t.Error("slack shows an unmasked key ID")
	}
}

func TestFailingChannelDoesNotStopOthers(t *testing.T) {
	broken, brokenURL := startCapture(t, 500)
	rejecting, rejectingURL := startCapture(t, 400)
	good, goodURL := startCapture(t, 200)
	rec := &recorder{name: "rec"}
	h := &MemoryHistory{}
	var slept []time.Duration
	targets := []Target{
		{Channel: NewWebhook("broken", brokenURL, []byte("k"), nil)},
		{Channel: NewSlack("rejecting", rejectingURL, nil)},
		{Channel: &recorder{name: "down", fail: errors.New("connection refused")}},
		{Channel: NewSlack("good", goodURL, nil)},
		{Channel: rec},
	}
	n, err := New(fixtureConfig(), targets, Options{History: h, Logger: quiet, MaxAttempts: 4, Backoff: time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := n.Send(context.Background(), Run{Now: fixtureNow, Items: fixtureItems()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range sum.Deliveries {
		got = append(got, fmt.Sprintf("%s attempts=%d failed=%v", d.Channel, d.Attempts, d.Error != ""))
	}
	want := []string{
		"broken attempts=4 failed=true",    // 5xx: retried up to the bound
		"rejecting attempts=1 failed=true", // 4xx: permanent, not retried
		"down attempts=4 failed=true",
		"good attempts=1 failed=false",
		"rec attempts=1 failed=false",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("deliveries (-want +got):\n%s", d)
	}
	if len(broken.reqs) != 4 || len(rejecting.reqs) != 1 || len(good.reqs) != 1 || len(rec.msgs) != 1 {
		t.Errorf("requests: broken %d, rejecting %d, good %d, rec %d", len(broken.reqs), len(rejecting.reqs), len(good.reqs), len(rec.msgs))
	}
	if d := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second, 4 * time.Second}, slept); d != "" {
		t.Errorf("backoff (-want +got):\n%s", d)
	}
	if len(sum.Failed()) != 3 || sum.Err() == nil || !strings.Contains(sum.Err().Error(), "500 Internal Server Error") {
		t.Errorf("summary error = %v", sum.Err())
	}
	if strings.Contains(sum.Err().Error(), rejectingURL) {
		t.Errorf("summary repeats a webhook URL (Slack URLs are secrets): %v", sum.Err())
	}
	if ns := h.Notices(); len(ns) != 1 || ns[0].Channel != "good,rec" {
		t.Errorf("recorded notices = %+v, want one sent via good,rec", ns)
	}
}

func TestAllChannelsFailingRecordsNothing(t *testing.T) {
	h := &MemoryHistory{}
	down := &recorder{name: "down", fail: Permanent(errors.New("rejected"))}
	n, err := New(fixtureConfig(), []Target{{Channel: down}}, Options{History: h, Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		sum, err := n.Send(context.Background(), Run{Now: fixtureNow.Add(time.Duration(i) * time.Hour), Items: fixtureItems()[:1]})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Digests != 1 || len(sum.Failed()) != 1 {
			t.Errorf("run %d: %d digests, %d failed; want the undelivered notice tried again", i, sum.Digests, len(sum.Failed()))
		}
	}
	if len(h.Notices()) != 0 || down.n != 2 {
		t.Errorf("recorded %d notices after failures, %d attempts", len(h.Notices()), down.n)
	}
}

func TestAudience(t *testing.T) {
	owners, central, all := &recorder{name: "owners"}, &recorder{name: "central"}, &recorder{name: "all"}
	cfg := fixtureConfig()
	cfg.Central = CentralDigest
	n, err := New(cfg, []Target{{owners, AudienceOwners}, {central, AudienceCentral}, {all, AudienceAll}}, Options{Sleep: noSleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(context.Background(), Run{Now: fixtureNow, Items: fixtureItems()}); err != nil {
		t.Fatal(err)
	}
	if len(owners.msgs) != 4 || len(central.msgs) != 1 || len(all.msgs) != 5 {
		t.Fatalf("owners %d, central %d, all %d; want 4, 1, 5", len(owners.msgs), len(central.msgs), len(all.msgs))
	}
	if m := central.msgs[0]; m.To != "security@example.com" || !m.Digest.Central {
		t.Errorf("central channel got %s (central=%v)", m.To, m.Digest.Central)
	}
}
