package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyrot test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// mailbox is a go-smtp backend that accepts PLAIN auth for one user and
// keeps what it receives.
type mailbox struct {
	user, pass string
	mu         sync.Mutex
	got        []received
}

type received struct {
	authUser string
	tls      bool
	from     string
	rcpt     []string
	data     []byte
}

type session struct {
	mb   *mailbox
	conn *smtp.Conn
	cur  received
}

func (mb *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{mb: mb, conn: c}, nil
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.mb.user || pass != s.mb.pass {
			return errors.New("invalid credentials")
		}
		s.cur.authUser = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpt = append(s.cur.rcpt, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.got = append(s.mb.got, s.cur)
	s.mb.mu.Unlock()
	s.cur = received{authUser: s.cur.authUser}
	return nil
}
func (s *session) Reset()        { s.cur = received{authUser: s.cur.authUser} }
func (s *session) Logout() error { return nil }

// startSMTP runs a real SMTP server on a loopback port: STARTTLS on a plain
// listener, or TLS from the first byte when implicit.
func startSMTP(t *testing.T, implicit bool) (*mailbox, int, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	mb := &mailbox{user: "keyrot", pass: plantedSecret}
	s := smtp.NewServer(mb)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.AllowInsecureAuth = false // AUTH only once TLS is up
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, s.TLSConfig)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return mb, l.Addr().(*net.TCPAddr).Port, pool
}

// parts returns the decoded bodies of a multipart/alternative message by
// content type.
func parts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if cp["charset"] != "UTF-8" && cp["charset"] != "utf-8" {
			t.Errorf("part %s charset = %q", ct, cp["charset"])
		}
		// multipart.Reader decodes quoted-printable parts itself; anything
		// else must not be base64 (it would hide what the test compares).
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "" && cte != "7bit" && cte != "8bit" {
			t.Errorf("part %s has Content-Transfer-Encoding %q", ct, cte)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out[ct] = string(b)
	}
	return out
}

func TestSMTPDelivery(t *testing.T) {
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			mb, port, pool := startSMTP(t, mode == TLSImplicit)
			ch := NewSMTP(SMTPOptions{Name: "relay", From: "keyrot <keyrot@example.com>", Host: "127.0.0.1", Port: port, TLS: mode,
				Username: "keyrot", Password: Secret(plantedSecret), TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 10 * time.Second})
			n, err := New(fixtureConfig(), []Target{{Channel: ch}}, Options{Sleep: noSleep, Logger: quiet, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{name: "copy"}
			n.targets = append(n.targets, Target{Channel: rec})
			sum, err := n.Send(context.Background(), Run{ID: "run-7", Now: fixtureNow, Items: fixtureItems()[:2]})
			if err != nil || sum.Err() != nil {
				t.Fatalf("send: %v %v", err, sum.Err())
			}
			if len(mb.got) != 1 || len(rec.msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(mb.got))
			}
			got, sent := mb.got[0], rec.msgs[0]
			if !got.tls || got.authUser != "keyrot" {
				t.Errorf("tls=%v auth=%q, want a TLS session authenticated as keyrot", got.tls, got.authUser)
			}
			if d := cmp.Diff([]string{"alice@example.com", "security@example.com"}, got.rcpt); got.from != "keyrot@example.com" || d != "" {
				t.Errorf("envelope from %q, rcpt (-want +got):\n%s", got.from, d)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(got.data))
			if err != nil {
				t.Fatal(err)
			}
			dec := new(mime.WordDecoder)
			subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			hdr := map[string]string{
				"From": msg.Header.Get("From"), "To": msg.Header.Get("To"), "Cc": msg.Header.Get("Cc"),
				"Subject": subj, "Date": msg.Header.Get("Date"), "Message-ID": msg.Header.Get("Message-ID"),
				"MIME-Version": msg.Header.Get("MIME-Version"),
			}
			wantHdr := map[string]string{
				"From": `"keyrot" <keyrot@example.com>`, "To": "<alice@example.com>", "Cc": "<security@example.com>",
				"Subject": sent.Subject, "Date": "Fri, 19 Feb 2027 06:00:00 +0000", "Message-ID": "<" + sent.ID + ".keyrot@127.0.0.1>",
				"MIME-Version": "1.0",
			}
			if d := cmp.Diff(wantHdr, hdr); d != "" {
				t.Errorf("headers (-want +got):\n%s", d)
			}
			body := parts(t, msg)
			if d := cmp.Diff(map[string]string{"text/plain": sent.Text, "text/html": sent.HTML}, body,
				cmp.Transformer("crlf", func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") })); d != "" {
				t.Errorf("parts (-want +got):\n%s", d)
			}
			if bytes.Contains(got.data, []byte(plantedSecret)) {
				t.Error("the SMTP password appears in the message")
			}
		})
	}
}

func TestSMTPRefusesUntrustedCertAndBadPassword(t *testing.T) {
	mb, port, pool := startSMTP(t, false)
	m := &Message{ID: "x", To: "alice@example.com", Time: fixtureNow, Subject: "s", Text: "t", HTML: "<p>h</p>"}
	untrusted := NewSMTP(SMTPOptions{Name: "r", From: "keyrot@example.com", Host: "127.0.0.1", Port: port, Username: "keyrot", Password: Secret(plantedSecret), Timeout: 5 * time.Second})
	if err := untrusted.Send(context.Background(), m); err == nil {
		t.Error("sent through a server whose certificate is not trusted")
	}
	wrong := NewSMTP(SMTPOptions{Name: "r", From: "keyrot@example.com", Host: "127.0.0.1", Port: port, Username: "keyrot", Password: "wrong",
		TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 5 * time.Second})
	err := wrong.Send(context.Background(), m)
	if err == nil {
		t.Error("sent with a wrong password")
	} else if strings.Contains(err.Error(), plantedSecret) {
		t.Error("error repeats the password")
	}
	if len(mb.got) != 0 {
		t.Errorf("server received %d messages", len(mb.got))
	}
}
