// Package sandboxclient is a typed Go client for the sandbox's control API
// under /_sandbox/ (docs/sandbox.md): scenarios, the clock, faults, the
// new-key delay, captured emails and SNS messages, call counts, state
// dumps and user credentials. It uses net/http and encoding/json only.
package sandboxclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/sandbox"
)

// Client talks to one sandbox.
type Client struct {
	base string
	// HTTPClient sends the requests; http.DefaultClient when nil.
	HTTPClient *http.Client
}

// New returns a client for the sandbox at baseURL, such as
// http://127.0.0.1:4566 (the AWS endpoint URL; /_sandbox/ is added).
func New(baseURL string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/")}
}

// Error is an error response from the control API.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	Message    string
	// Problems lists a rejected scenario's defects.
	Problems []Problem
}

// Problem is one defect of a rejected scenario.
type Problem struct {
	Line    int    `json:"line"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("sandbox control API: %s (HTTP %d)", e.Message, e.StatusCode)
}

// do sends a request and decodes a JSON response into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	u := c.base + "/_sandbox/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox control API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error    string    `json:"error"`
			Problems []Problem `json:"problems"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &Error{StatusCode: resp.StatusCode, Message: e.Error, Problems: e.Problems}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request %s: %w", path, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, nil, body, ct, out)
}

// Health checks that the sandbox is up and summarizes its state.
func (c *Client) Health(ctx context.Context) (sandbox.Health, error) {
	var h sandbox.Health
	err := c.doJSON(ctx, http.MethodGet, "health", nil, &h)
	return h, err
}

// LoadScenario replaces the sandbox's state with a built-in scenario ("demo", "empty").
func (c *Client) LoadScenario(ctx context.Context, name string) (sandbox.ScenarioLoaded, error) {
	var out sandbox.ScenarioLoaded
	err := c.do(ctx, http.MethodPost, "scenario", url.Values{"name": {name}}, nil, "", &out)
	return out, err
}

// LoadScenarioYAML replaces the sandbox's state with a scenario document;
// file names it in error messages.
func (c *Client) LoadScenarioYAML(ctx context.Context, file string, doc []byte) (sandbox.ScenarioLoaded, error) {
	var out sandbox.ScenarioLoaded
	var q url.Values
	if file != "" {
		q = url.Values{"file": {file}}
	}
	err := c.do(ctx, http.MethodPost, "scenario", q, bytes.NewReader(doc), "application/yaml", &out)
	return out, err
}

// Clock reads the sandbox clock.
func (c *Client) Clock(ctx context.Context) (sandbox.ClockState, error) {
	var out sandbox.ClockState
	err := c.doJSON(ctx, http.MethodGet, "clock", nil, &out)
	return out, err
}

// AdvanceClock moves the clock by a duration such as "30d", "36h" or "-1d".
func (c *Client) AdvanceClock(ctx context.Context, by string) (sandbox.ClockState, error) {
	var out sandbox.ClockState
	err := c.doJSON(ctx, http.MethodPost, "clock/advance", map[string]string{"by": by}, &out)
	return out, err
}

// SetClock makes the clock read t now.
func (c *Client) SetClock(ctx context.Context, t time.Time) (sandbox.ClockState, error) {
	var out sandbox.ClockState
	err := c.doJSON(ctx, http.MethodPost, "clock/set", map[string]string{"time": t.UTC().Format(time.RFC3339)}, &out)
	return out, err
}

// Faults lists the injected faults with their fire counts.
func (c *Client) Faults(ctx context.Context) ([]sandbox.Fault, error) {
	var out struct {
		Faults []sandbox.Fault `json:"faults"`
	}
	err := c.doJSON(ctx, http.MethodGet, "faults", nil, &out)
	return out.Faults, err
}

// AddFault injects a fault and returns it with its ID.
func (c *Client) AddFault(ctx context.Context, f sandbox.Fault) (sandbox.Fault, error) {
	var out sandbox.Fault
	err := c.doJSON(ctx, http.MethodPost, "faults", f, &out)
	return out, err
}

// DeleteFault removes one fault.
func (c *Client) DeleteFault(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, "faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults removes every fault and returns how many there were.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	var out struct {
		Deleted int `json:"deleted"`
	}
	err := c.doJSON(ctx, http.MethodDelete, "faults", nil, &out)
	return out.Deleted, err
}

// NewKeyDelay returns how long new access keys take to authenticate.
func (c *Client) NewKeyDelay(ctx context.Context) (time.Duration, error) {
	var out sandbox.KeyDelay
	if err := c.doJSON(ctx, http.MethodGet, "new-key-delay", nil, &out); err != nil {
		return 0, err
	}
	return time.ParseDuration(out.Delay)
}

// SetNewKeyDelay sets how long new access keys take to authenticate.
func (c *Client) SetNewKeyDelay(ctx context.Context, d time.Duration) error {
	return c.doJSON(ctx, http.MethodPut, "new-key-delay", sandbox.KeyDelay{Delay: d.String()}, nil)
}

// Emails returns the emails SES captured.
func (c *Client) Emails(ctx context.Context) ([]sandbox.Email, error) {
	var out struct {
		Emails []sandbox.Email `json:"emails"`
	}
	err := c.doJSON(ctx, http.MethodGet, "emails", nil, &out)
	return out.Emails, err
}

// ClearEmails forgets the captured emails.
func (c *Client) ClearEmails(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodDelete, "emails", nil, nil)
}

// SNSMessages returns the messages SNS captured.
func (c *Client) SNSMessages(ctx context.Context) ([]sandbox.SNSMessage, error) {
	var out struct {
		Messages []sandbox.SNSMessage `json:"messages"`
	}
	err := c.doJSON(ctx, http.MethodGet, "sns", nil, &out)
	return out.Messages, err
}

// ClearSNSMessages forgets the captured SNS messages.
func (c *Client) ClearSNSMessages(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodDelete, "sns", nil, nil)
}

// Calls returns AWS call counts by account and "service:Operation".
func (c *Client) Calls(ctx context.Context) (sandbox.Calls, error) {
	var out sandbox.Calls
	err := c.doJSON(ctx, http.MethodGet, "calls", nil, &out)
	return out, err
}

// ResetCalls forgets the call counts.
func (c *Client) ResetCalls(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodDelete, "calls", nil, nil)
}

// State returns the sandbox's whole state. Secret access keys read
// "REDACTED" unless withSecrets is true.
func (c *Client) State(ctx context.Context, withSecrets bool) (*sandbox.State, error) {
	raw, err := c.StateJSON(ctx, withSecrets)
	if err != nil {
		return nil, err
	}
	var st sandbox.State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	return &st, nil
}

// StateJSON returns the state dump as the sandbox sent it.
func (c *Client) StateJSON(ctx context.Context, withSecrets bool) ([]byte, error) {
	var q url.Values
	if withSecrets {
		q = url.Values{"secrets": {"true"}}
	}
	var raw []byte
	err := c.do(ctx, http.MethodGet, "state", q, nil, "", &raw)
	return raw, err
}

// Credentials returns a user's newest active access key, for simulated
// applications. account is an account ID or name.
func (c *Client) Credentials(ctx context.Context, account, user string) (sandbox.UserKey, error) {
	var out sandbox.UserKey
	err := c.do(ctx, http.MethodGet, "credentials", url.Values{"account": {account}, "user": {user}}, nil, "", &out)
	return out, err
}

// Authz returns whether authorization is enforced and the decision log's state.
func (c *Client) Authz(ctx context.Context) (sandbox.AuthzState, error) {
	var out sandbox.AuthzState
	err := c.doJSON(ctx, http.MethodGet, "authz", nil, &out)
	return out, err
}

// SetAuthzEnforced turns authorization on or off (permissive).
func (c *Client) SetAuthzEnforced(ctx context.Context, enforced bool) (sandbox.AuthzState, error) {
	var out sandbox.AuthzState
	err := c.doJSON(ctx, http.MethodPut, "authz", sandbox.AuthzSettings{Enforced: enforced}, &out)
	return out, err
}

// StartAuthzLog clears the authorization decision log and starts recording.
func (c *Client) StartAuthzLog(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodPost, "authz/log", nil, nil)
}

// StopAuthzLog stops recording and returns the decisions recorded.
func (c *Client) StopAuthzLog(ctx context.Context) (sandbox.AuthzLog, error) {
	var out sandbox.AuthzLog
	err := c.doJSON(ctx, http.MethodDelete, "authz/log", nil, &out)
	return out, err
}

// AuthzLog returns the decisions recorded so far.
func (c *Client) AuthzLog(ctx context.Context) (sandbox.AuthzLog, error) {
	var out sandbox.AuthzLog
	err := c.doJSON(ctx, http.MethodGet, "authz/log", nil, &out)
	return out, err
}
