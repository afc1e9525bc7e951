package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTPOptions configure an SMTP channel.
type SMTPOptions struct {
	Name string
	From string
	Host string
	Port int
	// TLS is starttls (required, not opportunistic), implicit or none.
	TLS string
	// Username and Password authenticate when Username is set; the
	// mechanism is the best the server offers (SCRAM, CRAM-MD5, PLAIN,
	// LOGIN), never over an unencrypted connection.
	Username string
	Password Secret
	// TLSConfig, if set, replaces the default (system roots, ServerName
	// Host); tests trust their own CA with it.
	TLSConfig *tls.Config
	// Timeout bounds dialing and each command; default 30s.
	Timeout time.Duration
}

// Secret is a credential (an SMTP password, a webhook key) that prints,
// logs and encodes as "<secret>".
type Secret string

// String returns "<secret>".
func (Secret) String() string { return "<secret>" }

// GoString returns "<secret>", for %#v.
func (Secret) GoString() string { return "<secret>" }

// LogValue keeps the secret out of slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("<secret>") }

// MarshalJSON encodes the secret as "<secret>".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"<secret>"`), nil }

// SMTP sends digests as multipart/alternative (text and HTML) email over
// SMTP, composed and sent with github.com/wneessen/go-mail.
type SMTP struct {
	o SMTPOptions
}

// NewSMTP returns an SMTP channel.
func NewSMTP(o SMTPOptions) *SMTP {
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &SMTP{o: o}
}

// Name returns the channel's name.
func (s *SMTP) Name() string { return s.o.Name }

// String names the channel without its password.
func (s *SMTP) String() string { return fmt.Sprintf("smtp %s (%s:%d)", s.o.Name, s.o.Host, s.o.Port) }

// compose builds the MIME message for m.
func (s *SMTP) compose(m *Message) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(s.o.From); err != nil {
		return nil, Permanent(fmt.Errorf("smtp from %q: %w", s.o.From, err))
	}
	if err := msg.To(m.To); err != nil {
		return nil, Permanent(fmt.Errorf("smtp to %q: %w", m.To, err))
	}
	if len(m.Cc) > 0 {
		if err := msg.Cc(m.Cc...); err != nil {
			return nil, Permanent(fmt.Errorf("smtp cc: %w", err))
		}
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Time)
	msg.SetMessageIDWithValue(m.ID + ".keyrot@" + s.o.Host)
	msg.SetGenHeader(mail.Header("X-Keyrot-Delivery"), m.ID)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	return msg, nil
}

// Send delivers m. SMTP replies in the 4xx range and network errors are
// retried; 5xx replies are permanent.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if err := screen("smtp message", m.Subject, m.Text, m.HTML); err != nil {
		return err
	}
	msg, err := s.compose(m)
	if err != nil {
		return err
	}
	tc := s.o.TLSConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.o.Host
	}
	opts := []mail.Option{mail.WithPort(s.o.Port), mail.WithTimeout(s.o.Timeout), mail.WithTLSConfig(tc)}
	switch s.o.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.o.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.o.Username), mail.WithPassword(string(s.o.Password)))
	}
	c, err := mail.NewClient(s.o.Host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp client for %s: %w", s.o.Host, err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("smtp send via %s:%d: %w", s.o.Host, s.o.Port, err)
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPReset {
			return Permanent(err)
		}
		return err
	}
	return nil
}
