package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
)

// SES v2 (REST-JSON). Only SendEmail is modelled: messages are captured in
// State.Emails instead of being delivered, and only from the account's
// verified identities (Account.SESIdentities, from the scenario).

func sesRoutes() []restRoute {
	return []restRoute{
		{Method: "POST", Path: "/v2/email/outbound-emails", Action: "SendEmail", H: sesSendEmail},
	}
}

// sesMaxRecipients is SES's limit on recipients per message.
const sesMaxRecipients = 50

func sesBadRequest(format string, args ...any) error {
	return errf(400, "BadRequestException", format, args...)
}

type sesContentData struct {
	Data    string
	Charset string
}

type sesSendEmailInput struct {
	FromEmailAddress string
	Destination      *struct {
		ToAddresses  []string
		CcAddresses  []string
		BccAddresses []string
	}
	ReplyToAddresses []string
	Content          *struct {
		Simple *struct {
			Subject *sesContentData
			Body    *struct {
				Text *sesContentData
				Html *sesContentData
			}
		}
		Raw *struct {
			Data []byte
		}
		Template *struct {
			TemplateName string
			TemplateArn  string
		}
	}
}

// sesCheckAddresses validates addresses the way SES does: each must parse
// as an RFC 5322 address with a domain.
func sesCheckAddresses(field string, addrs []string) error {
	for _, a := range addrs {
		p, err := mail.ParseAddress(a)
		if err != nil || !strings.Contains(p.Address, "@") || strings.HasSuffix(p.Address, "@") {
			return sesBadRequest("Illegal address in %s: %q", field, a)
		}
	}
	return nil
}

func sesSendEmail(r *request) (any, error) {
	if !r.isAdmin() {
		return nil, errf(403, "AccessDeniedException", "User: %s is not authorized to perform: ses:SendEmail", r.caller.ARN)
	}
	var in sesSendEmailInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, sesBadRequest("%s", strings.TrimPrefix(err.Error(), "SerializationException: "))
	}
	if in.Content == nil || (in.Content.Simple == nil && in.Content.Raw == nil && in.Content.Template == nil) {
		return nil, sesBadRequest("Content is required and must contain Simple, Raw or Template content.")
	}
	e := Email{
		MessageID: sesMessageID(), AccountID: r.acct.ID, Region: r.region,
		From: in.FromEmailAddress, ReplyTo: in.ReplyToAddresses, SentAt: r.now,
	}
	if d := in.Destination; d != nil {
		e.To, e.Cc, e.Bcc = d.ToAddresses, d.CcAddresses, d.BccAddresses
	}
	switch c := in.Content; {
	case c.Template != nil:
		name := c.Template.TemplateName
		if name == "" {
			name = c.Template.TemplateArn
		}
		return nil, errf(404, "NotFoundException", "Template %s does not exist.", name)
	case c.Raw != nil:
		if len(c.Raw.Data) == 0 {
			return nil, sesBadRequest("Raw message data is required.")
		}
		msg, err := mail.ReadMessage(bytes.NewReader(c.Raw.Data))
		if err != nil {
			return nil, sesBadRequest("Invalid raw message: %v", err)
		}
		e.Raw = string(c.Raw.Data)
		e.Subject = msg.Header.Get("Subject")
		if e.From == "" {
			e.From = msg.Header.Get("From")
		}
		if len(e.To)+len(e.Cc)+len(e.Bcc) == 0 {
			for _, h := range []struct {
				name string
				dst  *[]string
			}{{"To", &e.To}, {"Cc", &e.Cc}, {"Bcc", &e.Bcc}} {
				if list, err := msg.Header.AddressList(h.name); err == nil {
					for _, a := range list {
						*h.dst = append(*h.dst, a.Address)
					}
				}
			}
		}
	default:
		s := c.Simple
		if s.Subject == nil {
			return nil, sesBadRequest("Subject is required.")
		}
		if s.Body == nil || (s.Body.Text == nil && s.Body.Html == nil) {
			return nil, sesBadRequest("Body is required and must contain Text or Html.")
		}
		e.Subject = s.Subject.Data
		if s.Body.Text != nil {
			e.Text = s.Body.Text.Data
		}
		if s.Body.Html != nil {
			e.HTML = s.Body.Html.Data
		}
	}
	if e.From == "" {
		return nil, sesBadRequest("Missing required field FromEmailAddress.")
	}
	n := len(e.To) + len(e.Cc) + len(e.Bcc)
	if n == 0 {
		return nil, sesBadRequest("Missing required field Destination: at least one recipient is required.")
	}
	if n > sesMaxRecipients {
		return nil, sesBadRequest("Recipient count exceeds %d.", sesMaxRecipients)
	}
	for _, f := range []struct {
		name  string
		addrs []string
	}{{"FromEmailAddress", []string{e.From}}, {"ToAddresses", e.To}, {"CcAddresses", e.Cc}, {"BccAddresses", e.Bcc}, {"ReplyToAddresses", e.ReplyTo}} {
		if err := sesCheckAddresses(f.name, f.addrs); err != nil {
			return nil, err
		}
	}
	if err := sesCheckVerified(r, e.From); err != nil {
		return nil, err
	}
	r.st.Emails = append(r.st.Emails, e)
	return struct {
		MessageId string `json:"MessageId"`
	}{e.MessageID}, nil
}

// sesMessageID returns an ID shaped like SES's.
func sesMessageID() string {
	return "0100" + randFrom("0123456789abcdef", 12) + "-" + newRequestID() + "-000000"
}

// sesCheckVerified refuses a sender that is not a verified identity of the
// caller's account, as SES does (in and out of its own sandbox): the
// address itself or its domain must be verified, else MessageRejected.
func sesCheckVerified(r *request, from string) error {
	addr := from
	if p, err := mail.ParseAddress(from); err == nil {
		addr = p.Address
	}
	addr = strings.ToLower(addr)
	_, domain, _ := strings.Cut(addr, "@")
	for _, id := range r.acct.SESIdentities {
		if id == addr || id == domain {
			return nil
		}
	}
	return errf(400, "MessageRejected", "Email address is not verified. The following identities failed the check in region %s: %s", strings.ToUpper(r.region), addr)
}

// VerifySESIdentity marks an email address or a domain as a verified SES
// identity of an account, as a scenario's ses_identities does.
func (s *Server) VerifySESIdentity(accountID, identity string) error {
	v := strings.ToLower(identity)
	if !sesValidIdentity(v) {
		return fmt.Errorf("invalid SES identity %q (want an email address or a domain)", identity)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return fmt.Errorf("no account %s", accountID)
	}
	for _, id := range a.SESIdentities {
		if id == v {
			return nil
		}
	}
	a.SESIdentities = append(a.SESIdentities, v)
	return nil
}

// ctlVerifySESIdentity is POST /_sandbox/ses/identities {"account": ID,
// "identity": address or domain}: what verifying an identity in the SES
// console does. The account defaults to the management account.
func ctlVerifySESIdentity(s *Server, w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Account  string `json:"account"`
		Identity string `json:"identity"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Account == "" {
		req.Account = s.ManagementAccountID()
	}
	if err := s.VerifySESIdentity(req.Account, req.Identity); err != nil {
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"account": req.Account, "identity": strings.ToLower(req.Identity)})
	return nil
}
