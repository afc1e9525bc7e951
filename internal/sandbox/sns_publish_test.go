package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func TestSNSPublishCaptured(t *testing.T) {
	env := sandboxtest.Start(t, "")
	c := sns.NewFromConfig(env.Admin())
	ctx := context.Background()
	t1, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-events")})
	mustNoErr(t, err)
	t2, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-events")})
	mustNoErr(t, err)
	arn := aws.ToString(t1.TopicArn)
	if arn != aws.ToString(t2.TopicArn) || arn != "arn:aws:sns:us-east-1:"+env.Server.ManagementAccountID()+":keyrot-events" {
		t.Fatalf("topic ARNs %s %s", arn, aws.ToString(t2.TopicArn))
	}
	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	mustNoErr(t, err)
	if len(list.Topics) != 1 || aws.ToString(list.Topics[0].TopicArn) != arn {
		t.Fatalf("topics %+v", list.Topics)
	}

	out, err := c.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(arn), Subject: aws.String("keyrot run"), Message: aws.String(`{"rotated":3}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("high")},
		},
	})
	mustNoErr(t, err)
	_, err = c.Publish(ctx, &sns.PublishInput{TargetArn: aws.String(arn), Message: aws.String("second")})
	mustNoErr(t, err)
	want := []sandbox.SNSMessage{
		{MessageID: aws.ToString(out.MessageId), AccountID: env.Server.ManagementAccountID(), TopicARN: arn, Subject: "keyrot run", Message: `{"rotated":3}`, Attributes: map[string]string{"severity": "high"}},
		{AccountID: env.Server.ManagementAccountID(), TopicARN: arn, Message: "second"},
	}
	got := env.Server.SNSMessages()
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(sandbox.SNSMessage{}, "SentAt"), cmpopts.IgnoreFields(sandbox.SNSMessage{}, "MessageID")); d != "" {
		t.Fatalf("captured (-want +got):\n%s", d)
	}
	if got[0].MessageID != aws.ToString(out.MessageId) {
		t.Fatalf("message ID %s, returned %s", got[0].MessageID, aws.ToString(out.MessageId))
	}
}

func TestSNSErrors(t *testing.T) {
	env := sandboxtest.Start(t, "")
	c := sns.NewFromConfig(env.Admin())
	ctx := context.Background()
	missing := "arn:aws:sns:us-east-1:" + env.Server.ManagementAccountID() + ":nope"
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"missing topic", func() error {
			_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(missing), Message: aws.String("m")})
			return err
		}, "NotFound", 404},
		{"bad topic name", func() error {
			_, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name")})
			return err
		}, "InvalidParameter", 400},
		{"empty message", func() error {
			_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(missing), Message: aws.String("")})
			return err
		}, "InvalidParameter", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if apiCode(err) != tt.code || httpStatus(err) != tt.status {
				t.Fatalf("want %s (%d), got %v (%d)", tt.code, tt.status, err, httpStatus(err))
			}
		})
	}
	var nf *snstypes.NotFoundException
	_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(missing), Message: aws.String("m")})
	if !asErr(err, &nf) {
		t.Fatalf("want *types.NotFoundException, got %T", err)
	}
	if n := len(env.Server.SNSMessages()); n != 0 {
		t.Fatalf("%d failed publishes captured", n)
	}
}
