package sandbox_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func TestSESSendEmailCaptured(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ses := sesv2.NewFromConfig(env.Admin())
	ctx := context.Background()
	mustNoErr(t, env.Server.VerifySESIdentity(env.Server.ManagementAccountID(), "keyrot@example.com"))
	out, err := ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("keyrot@example.com"),
		Destination: &sestypes.Destination{
			ToAddresses:  []string{"alice@example.com"},
			CcAddresses:  []string{"security@example.com"},
			BccAddresses: []string{"audit@example.com"},
		},
		ReplyToAddresses: []string{"noreply@example.com"},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Your access key will be rotated")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String("plain")},
				Html: &sestypes.Content{Data: aws.String("<p>html</p>")},
			},
		}},
	})
	mustNoErr(t, err)
	raw := "From: Keyrot <keyrot@example.com>\r\nTo: bob@example.com\r\nSubject: raw subject\r\n\r\nbody\r\n"
	_, err = ses.SendEmail(ctx, &sesv2.SendEmailInput{Content: &sestypes.EmailContent{Raw: &sestypes.RawMessage{Data: []byte(raw)}}})
	mustNoErr(t, err)

	got := env.Server.Emails()
	want := []sandbox.Email{
		{
			MessageID: aws.ToString(out.MessageId), AccountID: env.Server.ManagementAccountID(), Region: "us-east-1",
			From: "keyrot@example.com", To: []string{"alice@example.com"}, Cc: []string{"security@example.com"},
			Bcc: []string{"audit@example.com"}, ReplyTo: []string{"noreply@example.com"},
			Subject: "Your access key will be rotated", Text: "plain", HTML: "<p>html</p>",
		},
		{
			AccountID: env.Server.ManagementAccountID(), Region: "us-east-1",
			From: "Keyrot <keyrot@example.com>", To: []string{"bob@example.com"}, Subject: "raw subject", Raw: raw,
		},
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(sandbox.Email{}, "SentAt", "MessageID")); d != "" {
		t.Fatalf("captured emails (-want +got):\n%s", d)
	}
	if got[0].MessageID != aws.ToString(out.MessageId) || got[1].MessageID == "" || got[1].MessageID == got[0].MessageID {
		t.Fatalf("message IDs %q %q, returned %q", got[0].MessageID, got[1].MessageID, aws.ToString(out.MessageId))
	}
}

func TestSESSendEmailValidation(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ses := sesv2.NewFromConfig(env.Admin())
	simple := &sestypes.EmailContent{Simple: &sestypes.Message{
		Subject: &sestypes.Content{Data: aws.String("s")},
		Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}},
	}}
	tests := []struct {
		name string
		in   *sesv2.SendEmailInput
	}{
		{"no destination", &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"), Content: simple}},
		{"no from", &sesv2.SendEmailInput{Destination: &sestypes.Destination{ToAddresses: []string{"b@example.com"}}, Content: simple}},
		{"bad address", &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"), Destination: &sestypes.Destination{ToAddresses: []string{"not an address"}}, Content: simple}},
		{"no content", &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"), Destination: &sestypes.Destination{ToAddresses: []string{"b@example.com"}}, Content: &sestypes.EmailContent{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ses.SendEmail(context.Background(), tt.in)
			if apiCode(err) != "BadRequestException" || httpStatus(err) != 400 {
				t.Fatalf("want BadRequestException (400), got %v", err)
			}
		})
	}
	if n := len(env.Server.Emails()); n != 0 {
		t.Fatalf("%d rejected emails captured", n)
	}
}

// TestSESSendsOnlyFromVerifiedIdentities: SES sends only from an address
// the account verified, or from any address of a verified domain; anything
// else is MessageRejected (400), naming the address and the region.
func TestSESSendsOnlyFromVerifiedIdentities(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	mgmt := env.Server.ManagementAccountID()
	send := func(from string) error {
		_, err := sesv2.NewFromConfig(env.Admin()).SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(from),
			Destination:      &sestypes.Destination{ToAddresses: []string{"alice@example.com"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}},
			}},
		})
		return err
	}
	ae := wantAPIError(t, send("keyrot@example.com"), "MessageRejected", 400)
	if want := "Email address is not verified. The following identities failed the check in region US-EAST-1: keyrot@example.com"; ae.ErrorMessage() != want {
		t.Errorf("message %q, want %q", ae.ErrorMessage(), want)
	}
	mustNoErr(t, env.Server.VerifySESIdentity(mgmt, "keyrot@example.com"))
	mustNoErr(t, send("Keyrot <KEYROT@example.com>"))
	wantAPIError(t, send("other@example.com"), "MessageRejected", 400)
	mustNoErr(t, env.Server.VerifySESIdentity(mgmt, "brightloop.example"))
	mustNoErr(t, send("anyone@brightloop.example"))
	wantAPIError(t, send("anyone@sub.brightloop.example"), "MessageRejected", 400)
	if n := len(env.Server.Emails()); n != 2 {
		t.Fatalf("%d emails captured, want 2", n)
	}
	if err := env.Server.VerifySESIdentity(mgmt, "not an identity"); err == nil {
		t.Error("an invalid identity was accepted")
	}
	// The control API verifies identities too.
	resp, err := http.Post(env.URL+"/_sandbox/ses/identities", "application/json", strings.NewReader(`{"identity": "Ops@Example.org"}`))
	mustNoErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control API: %d", resp.StatusCode)
	}
	mustNoErr(t, send("ops@example.org"))
}
