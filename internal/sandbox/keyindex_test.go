package sandbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestKeyIndexNeverStale: the index of signing keys answers for keys created
// after it was built, and never for keys that are gone: deleted, or whose
// user was deleted and re-created under the same name, or after a new
// scenario replaced the state.
func TestKeyIndexNeverStale(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	works := func(k *iamKey) error {
		_, err := sts.NewFromConfig(env.Config(k.id, k.secret, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	wantInvalid := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
			t.Fatalf("%s: want InvalidClientTokenId, got %v", what, err)
		}
	}
	mustCreateUser(t, c, "alice")
	k1 := newKey(t, c, "alice")
	if err := works(k1); err != nil {
		t.Fatalf("first key: %v", err)
	}
	k2 := newKey(t, c, "alice") // created after the index was built
	if err := works(k2); err != nil {
		t.Fatalf("key created later: %v", err)
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(k1.id)}); err != nil {
		t.Fatal(err)
	}
	wantInvalid("deleted key", works(k1))

	// Delete alice and create her again: her old key must not come back.
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(k2.id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, c, "alice")
	wantInvalid("key of a deleted user", works(k2))
	k3 := newKey(t, c, "alice")
	if err := works(k3); err != nil {
		t.Fatalf("key of the re-created user: %v", err)
	}

	// A new scenario replaces everything.
	sc, err := sandbox.LoadScenario("empty")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	wantInvalid("key from before the scenario", works(k3))
}

type iamKey struct{ id, secret string }

func newKey(t *testing.T, c *iam.Client, user string) *iamKey {
	t.Helper()
	k := mustCreateKey(t, c, user)
	return &iamKey{aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey)}
}
