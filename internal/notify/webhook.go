package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256, keyed
// with the shared secret, of the timestamp header's value, a ".", and the
// body. Receivers recompute it, compare in constant time, and refuse
// timestamps more than five minutes from their clock (replay).
const (
	HeaderSignature = "X-Keyrot-Signature"
	HeaderTimestamp = "X-Keyrot-Timestamp"
	HeaderDelivery  = "X-Keyrot-Delivery"
)

// Webhook posts digests as signed JSON (WebhookPayload).
type Webhook struct {
	name   string
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a webhook channel posting to url, signing with secret.
func NewWebhook(name, url string, secret []byte, client *http.Client) *Webhook {
	if client == nil {
		client = http.DefaultClient
	}
	return &Webhook{name: name, url: url, secret: secret, client: client, now: time.Now}
}

// Name returns the channel's name.
func (w *Webhook) Name() string { return w.name }

// WebhookPayload is the JSON a webhook receives; docs/notifications.md
// documents it. Fields are only ever added.
type WebhookPayload struct {
	Version   int           `json:"version"`
	ID        string        `json:"id"`
	Time      time.Time     `json:"time"`
	Recipient string        `json:"recipient"`
	Cc        []string      `json:"cc,omitempty"`
	Central   bool          `json:"central"`
	AuditOnly bool          `json:"audit_only"`
	Subject   string        `json:"subject"`
	Text      string        `json:"text"`
	Items     []WebhookItem `json:"items"`
}

// WebhookItem is one item of a webhook payload.
type WebhookItem struct {
	State           State         `json:"state"`
	ReminderOf      State         `json:"reminder_of,omitempty"`
	DaysLeft        int           `json:"days_left,omitempty"`
	AccountID       string        `json:"account_id"`
	Account         string        `json:"account"`
	User            string        `json:"user"`
	UserARN         string        `json:"user_arn,omitempty"`
	KeyID           string        `json:"key_id,omitempty"`
	Date            string        `json:"date,omitempty"`
	Deadline        string        `json:"deadline,omitempty"`
	SecretName      string        `json:"secret_name,omitempty"`
	SecretARN       string        `json:"secret_arn,omitempty"`
	SecretRegion    string        `json:"secret_region,omitempty"`
	FetchCommand    string        `json:"fetch_command,omitempty"`
	LastUsed        string        `json:"last_used,omitempty"`
	LastUsedService string        `json:"last_used_service,omitempty"`
	LastUsedRegion  string        `json:"last_used_region,omitempty"`
	Undelivered     []Undelivered `json:"undelivered,omitempty"`
	RollbackBy      string        `json:"rollback_by,omitempty"`
	RollbackCommand string        `json:"rollback_command,omitempty"`
	Findings        []string      `json:"findings,omitempty"`
	Owner           string        `json:"owner"`
}

// WebhookMessage builds the payload for m.
func WebhookMessage(m *Message) WebhookPayload {
	p := WebhookPayload{Version: 1, ID: m.ID, Time: m.Time.UTC(), Recipient: m.To, Cc: m.Cc, Subject: m.Subject, Text: m.Text, Items: []WebhookItem{}}
	if d := m.Digest; d != nil {
		p.Central, p.AuditOnly = d.Central, d.AuditOnly
		for _, g := range d.Groups {
			for _, it := range g.Items {
				wi := WebhookItem{
					State: it.State, ReminderOf: it.ReminderOf, DaysLeft: it.DaysLeft,
					AccountID: it.AccountID, Account: it.Account, User: it.User, UserARN: it.UserARN, KeyID: it.KeyID,
					Date: it.Date, Deadline: it.Deadline, SecretName: it.SecretName, SecretARN: it.SecretARN,
					SecretRegion: it.SecretRegion, FetchCommand: it.FetchCommand, Findings: it.Findings, Owner: it.Owner,
				}
				if it.State == StateBlockedDelivery {
					wi.Undelivered = it.Undelivered
				}
				if it.State == StateBlockedInUse {
					wi.LastUsed, wi.LastUsedService, wi.LastUsedRegion = it.LastUsed, it.LastUsedService, it.LastUsedRegion
				}
				if it.State == StateDeactivated || it.ReminderOf == StateDeactivated {
					wi.RollbackBy, wi.RollbackCommand = it.Rollback, it.RollbackCommand
				}
				p.Items = append(p.Items, wi)
			}
		}
	}
	return p
}

// Sign returns the X-Keyrot-Signature value for body sent at timestamp ts
// (Unix seconds, as in X-Keyrot-Timestamp).
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// defaultHTTPTimeout bounds one Slack or webhook request.
const defaultHTTPTimeout = 30 * time.Second

// Send posts m, signed. Each attempt is signed with a fresh timestamp; the
// delivery ID stays the same, so receivers can drop repeats.
func (w *Webhook) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(WebhookMessage(m))
	if err != nil {
		return Permanent(fmt.Errorf("webhook payload: %w", err))
	}
	if err := screen("webhook payload", string(body)); err != nil {
		return err
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(w.secret, ts, body))
	h.Set(HeaderDelivery, m.ID)
	if err := postJSON(ctx, w.client, w.url, body, h); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
