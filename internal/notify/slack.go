package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Slack posts digests to a Slack incoming webhook as {"text", "blocks"}:
// the subject as the notification text, a header and one section per item.
type Slack struct {
	name   string
	url    string
	client *http.Client
}

// NewSlack returns a Slack channel posting to the incoming webhook url.
func NewSlack(name, url string, client *http.Client) *Slack {
	if client == nil {
		client = http.DefaultClient
	}
	return &Slack{name: name, url: url, client: client}
}

// Name returns the channel's name.
func (s *Slack) Name() string { return s.name }

// SlackPayload is the JSON body of an incoming webhook message.
type SlackPayload struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks,omitempty"`
}

// SlackBlock is a Block Kit block (header, section or context).
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Block Kit limits.
const (
	slackMaxBlocks  = 50
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// SlackMessage builds the payload for m.
func SlackMessage(m *Message) SlackPayload {
	p := SlackPayload{Text: slackEscape(m.Subject)}
	p.Blocks = append(p.Blocks, SlackBlock{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(m.Subject, slackHeaderMax)}})
	d := m.Digest
	if d == nil {
		return p
	}
	intro := "For " + slackEscape(m.To)
	if d.Central {
		intro = "Security team digest: every key with news in this run"
	}
	if d.AuditOnly {
		intro = "*[audit-only]* nothing has been changed; this is what *would* happen. " + intro
	}
	p.Blocks = append(p.Blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: intro}}})
	for _, g := range d.Groups {
		for _, it := range g.Items {
			if len(p.Blocks) == slackMaxBlocks-1 {
				p.Blocks = append(p.Blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: "More items are in the email digest."}}})
				return p
			}
			p.Blocks = append(p.Blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: truncate(slackItem(g.Title, it), slackSectionMax)}})
		}
	}
	return p
}

func slackItem(title string, it ItemView) string {
	var b strings.Builder
	e := slackEscape
	fmt.Fprintf(&b, "*%s*: %s in %s", e(title), e(it.User), e(it.Account))
	if it.Key != "" {
		fmt.Fprintf(&b, ", key `%s`", e(it.Key))
	}
	if it.Owner != "" {
		fmt.Fprintf(&b, " (owner: %s)", e(it.Owner))
	}
	b.WriteString("\n")
	state := it.State
	if state == StateReminder {
		fmt.Fprintf(&b, "%d day(s) left: ", it.DaysLeft)
		state = it.ReminderOf
		if state == StateConsoleDisableDue {
			fmt.Fprintf(&b, "the unused console password will be disabled on %s unless it is used before.", it.Deadline)
			return b.String()
		}
		if state == StateDeactivated {
			fmt.Fprintf(&b, "the old key will be deleted after %s. %s", it.Deadline, slackRollback(it))
			return b.String()
		}
		fmt.Fprintf(&b, "the old key will be deactivated on %s.", it.Deadline)
		if it.FetchCommand != "" && !it.AuditOnly {
			fmt.Fprintf(&b, " Fetch the new key with `%s`. %s", e(it.FetchCommand), slackFetchWarning)
		}
		return b.String()
	}
	switch state {
	case StateRotated:
		if it.AuditOnly {
			fmt.Fprintf(&b, "would create a new key in `%s` and deactivate the old one on %s", e(it.SecretName), it.Date)
		} else {
			fmt.Fprintf(&b, "Switch to the new key by %s. It is in `%s`; fetch it with `%s`. %s", it.Date, e(it.SecretARN), e(it.FetchCommand), slackFetchWarning)
		}
	case StateDeactivationDue:
		fmt.Fprintf(&b, "The old key will be deactivated on %s.", it.Date)
	case StateBlockedInUse:
		fmt.Fprintf(&b, "Due for deactivation on %s but still in use: last used %s by %s in %s.", it.Date, it.LastUsed, e(it.LastUsedService), e(it.LastUsedRegion))
		if it.FetchCommand != "" && !it.AuditOnly {
			fmt.Fprintf(&b, " Switch to the new key in `%s`; fetch it with `%s`. %s", e(it.SecretARN), e(it.FetchCommand), slackFetchWarning)
		}
	case StateBlockedDelivery:
		fmt.Fprintf(&b, "New key not at every destination, so the old key stays active (deactivation due %s):", it.Date)
		for _, u := range it.Undelivered {
			fmt.Fprintf(&b, "\n• `%s`: %s", e(u.Destination), e(u.Error))
		}
	case StateDeactivated:
		if it.RollbackCommand == "" {
			fmt.Fprintf(&b, "Deactivated on %s.", it.Date)
			break
		}
		fmt.Fprintf(&b, "Deactivated on %s. Can be rolled back until %s: %s", it.Date, it.Rollback, slackRollback(it))
	case StateDeleted:
		fmt.Fprintf(&b, "Deleted on %s.", it.Date)
	case StateConsoleDisableDue:
		fmt.Fprintf(&b, "The console password is unused and will be disabled on %s unless it is used before.", it.Date)
	case StateConsoleDisabled:
		fmt.Fprintf(&b, "The unused console password was disabled on %s. To restore console access with a new password, %s", it.Date, slackRollback(it))
	case StateConsoleRestored:
		fmt.Fprintf(&b, "Console access restored with a new password, to be changed at the first sign-in. It is in `%s`; fetch it with `%s`.", e(it.SecretARN), e(it.FetchCommand))
	case StateFinding:
		for _, f := range it.Findings {
			fmt.Fprintf(&b, "• %s\n", e(f))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// slackFetchWarning follows every fetch command.
const slackFetchWarning = "Fetch it with another identity than the old key (for example your deployment role): a read signed with the old key counts as a use of the old key and holds back its deactivation."

// slackRollback says how to roll back: owners ask the security contact (the
// team that runs keyrot); that team's digest shows the command alone.
func slackRollback(it ItemView) string {
	cmd := "`" + slackEscape(it.RollbackCommand) + "`"
	if it.Central {
		return "roll back with " + cmd
	}
	who := "the team that runs keyrot"
	if it.Contact != "" {
		who = slackEscape(it.Contact) + " (the team that runs keyrot)"
	}
	return "ask " + who + " to roll back: " + cmd
}

// Send posts m.
func (s *Slack) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(SlackMessage(m))
	if err != nil {
		return Permanent(fmt.Errorf("slack payload: %w", err))
	}
	if err := screen("slack payload", string(body)); err != nil {
		return err
	}
	if err := postJSON(ctx, s.client, s.url, body, nil); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}
