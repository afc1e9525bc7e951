package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// postJSON posts body to u with the headers and classifies the response:
// 2xx is success, 429 and 5xx are retried, any other status is permanent.
// Errors name the endpoint by host only: Slack webhook URLs are secrets.
func postJSON(ctx context.Context, c *http.Client, u string, body []byte, header http.Header) error {
	host := "endpoint"
	if pu, err := url.Parse(u); err == nil {
		host = pu.Host
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("post to %s: invalid request", host))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keyrot")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		// *url.Error repeats the URL; say only the host.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("post to %s: %s: %q", host, resp.Status, bytes.TrimSpace(snippet))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return Permanent(err)
}
