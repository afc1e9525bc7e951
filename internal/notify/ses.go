package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// sesAPI is the part of the SES v2 client notify uses.
type sesAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ sesAPI = (*sesv2.Client)(nil)

// SES sends digests as email through Amazon SES v2 SendEmail, with a text
// and an HTML body.
type SES struct {
	name string
	from string
	api  sesAPI
}

// NewSES returns an SES channel sending from the address from.
func NewSES(name, from string, api sesAPI) *SES { return &SES{name: name, from: from, api: api} }

// Name returns the channel's name.
func (s *SES) Name() string { return s.name }

// sesPermanent are SES v2 error codes that retrying does not fix.
var sesPermanent = map[string]bool{
	"BadRequestException": true, "MessageRejected": true, "MailFromDomainNotVerifiedException": true,
	"AccountSuspendedException": true, "SendingPausedException": true, "NotFoundException": true,
	"AccessDeniedException": true,
}

// Send sends m to m.To (and m.Cc).
func (s *SES) Send(ctx context.Context, m *Message) error {
	if err := screen("ses message", m.Subject, m.Text, m.HTML); err != nil {
		return err
	}
	utf8 := aws.String("UTF-8")
	_, err := s.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &sestypes.Destination{ToAddresses: []string{m.To}, CcAddresses: m.Cc},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(m.Subject), Charset: utf8},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String(m.Text), Charset: utf8},
				Html: &sestypes.Content{Data: aws.String(m.HTML), Charset: utf8},
			},
		}},
	})
	if err != nil {
		err = fmt.Errorf("ses send email: %w", err)
		var ae smithy.APIError
		if errors.As(err, &ae) && sesPermanent[ae.ErrorCode()] {
			return Permanent(err)
		}
		return err
	}
	return nil
}
