package awsconf_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func TestIAMRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "us-east-1", "eu-west-1": "us-east-1", "ap-southeast-2": "us-east-1",
		"cn-northwest-1": "cn-north-1", "us-gov-east-1": "us-gov-west-1", "us-iso-east-1": "us-iso-east-1",
	} {
		if got := awsconf.IAMRegion(region); got != want {
			t.Errorf("IAMRegion(%s) = %s, want %s", region, got, want)
		}
	}
}

// TestNewIAMSignsForTheGlobalRegion: with an overridden endpoint the SDK
// signs IAM requests for the configured region, which IAM refuses; the
// client NewIAM makes signs for us-east-1 whatever the region.
func TestNewIAMSignsForTheGlobalRegion(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "")
	cfg := env.Admin()
	cfg.Region = "eu-west-1"
	ctx := context.Background()
	_, err := iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("plain client in eu-west-1: want SignatureDoesNotMatch, got %v", err)
	}
	if _, err := awsconf.NewIAM(cfg).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("NewIAM in eu-west-1: %v", err)
	}
}
