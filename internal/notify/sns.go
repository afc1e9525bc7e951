package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
)

// snsAPI is the part of the SNS client notify uses.
type snsAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ snsAPI = (*sns.Client)(nil)

// SNS publishes digests to an SNS topic: the text body as the message, the
// subject (for email subscriptions) and the recipient as the message
// attribute keyrot.recipient, so subscriptions can filter on it.
type SNS struct {
	name  string
	topic string
	api   snsAPI
}

// NewSNS returns an SNS channel publishing to topicARN.
func NewSNS(name, topicARN string, api snsAPI) *SNS {
	return &SNS{name: name, topic: topicARN, api: api}
}

// Name returns the channel's name.
func (s *SNS) Name() string { return s.name }

// snsMaxMessage is SNS's message size limit in bytes.
const snsMaxMessage = 256 * 1024

// snsSubject makes a subject SNS accepts: printable ASCII, one line, fewer
// than 100 characters.
func snsSubject(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '…':
			b.WriteString("...")
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	out := b.String()
	if len(out) > 99 {
		out = out[:96] + "..."
	}
	return out
}

// Send publishes m.
func (s *SNS) Send(ctx context.Context, m *Message) error {
	text := m.Text
	if len(text) > snsMaxMessage {
		const note = "\n[truncated: the digest is longer than SNS allows]\n"
		cut := snsMaxMessage - len(note)
		for cut > 0 && (text[cut]&0xC0) == 0x80 {
			cut--
		}
		text = text[:cut] + note
	}
	subject := snsSubject(m.Subject)
	if err := screen("sns message", subject, text); err != nil {
		return err
	}
	kind := "owner"
	if m.Digest != nil && m.Digest.Central {
		kind = "central"
	}
	_, err := s.api.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.topic),
		Subject:  aws.String(subject),
		Message:  aws.String(text),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"keyrot.recipient": {DataType: aws.String("String"), StringValue: aws.String(m.To)},
			"keyrot.digest":    {DataType: aws.String("String"), StringValue: aws.String(kind)},
		},
	})
	if err != nil {
		err = fmt.Errorf("sns publish to %s: %w", s.topic, err)
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "InvalidParameter", "InvalidParameterValue", "NotFound", "AuthorizationError", "KMSDisabled", "KMSNotFound":
				return Permanent(err)
			}
		}
		return err
	}
	return nil
}
