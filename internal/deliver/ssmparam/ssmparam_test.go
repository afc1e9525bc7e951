package ssmparam_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/ssmparam"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// scenario: a customer managed key for the parameters, a disabled key,
// and "deliverer", whose policy allows Parameter Store and KMS on
// /keyrot/* only, as docs/delivery.md lists the permissions.
const scenario = `
organization:
  management:
    id: "111111111111"
    name: mgmt
    kms_keys:
      - alias: alias/keyrot-params
        region: eu-west-1
      - alias: alias/retired
        region: eu-west-1
        state: disabled
    users:
      - name: deliverer
        policies:
          inline:
            deliver: |
              {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                              "Resource": "arn:aws:ssm:eu-west-1:111111111111:parameter/keyrot/*"},
                             {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
                              "Condition": {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}}]}
        keys: [{id: AKIADELIVERERAAAAAAA, secret: "deliverer0deliverer0deliverer0deliverer0", age: 1d}]
`

func start(t *testing.T) *sandboxtest.Env {
	t.Helper()
	sc, err := sandbox.ParseScenario("ssmparam.yaml", []byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	return env
}

func client(env *sandboxtest.Env, admin bool) *ssm.Client {
	cfg := env.Config("AKIADELIVERERAAAAAAA", "deliverer0deliverer0deliverer0deliverer0", "")
	if admin {
		cfg = env.Admin()
	}
	cfg.Region = "eu-west-1"
	return ssm.NewFromConfig(cfg)
}

func dest(t *testing.T, env *sandboxtest.Env, ref, kmsKey string, admin bool) *ssmparam.Destination {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ssmparam.New(r, client(env, admin), kmsKey)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret), UserName: "ci-deploy", AccountID: "111111111111",
		CreateDate: time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)}
}

func version(t *testing.T, env *sandboxtest.Env, name string) int64 {
	t.Helper()
	out, err := client(env, true).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Parameter.Version
}

// TestWriteIdempotentCurrent writes through the real SDK into the sandbox
// with enforcement on, as "deliverer": a SecureString under the configured
// key holding the Secrets Manager document; writing the same key again
// makes no new version; a new key makes one; Current reads the key ID.
func TestWriteIdempotentCurrent(t *testing.T) {
	env := start(t)
	ctx := context.Background()
	d := dest(t, env, "ssm:111111111111/eu-west-1/keyrot/ci/deploy", "alias/keyrot-params", false)
	if err := d.Check(ctx); err != nil {
		t.Fatalf("check of a parameter not written yet: %v", err)
	}
	if id, err := d.Current(ctx); err != nil || id != "" {
		t.Fatalf("Current before any write = %q, %v", id, err)
	}
	k1 := key("AKIAEXAMPLEKEY000001", "secret/one+ONE")
	if err := d.Write(ctx, k1); err != nil {
		t.Fatal(err)
	}
	out, err := client(env, true).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/keyrot/ci/deploy"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Type != ssmtypes.ParameterTypeSecureString {
		t.Errorf("type %s, want SecureString", out.Parameter.Type)
	}
	v, err := secretstore.ParseValue(aws.ToString(out.Parameter.Value))
	if err != nil || v.AccessKeyID != k1.AccessKeyID || v.SecretAccessKey.Reveal() != "secret/one+ONE" || v.UserName != "ci-deploy" || !v.CreateDate.Equal(k1.CreateDate) {
		t.Fatalf("stored document %+v, %v", v, err)
	}
	if err := d.Write(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if n := version(t, env, "/keyrot/ci/deploy"); n != 1 {
		t.Errorf("rewriting the same key made version %d", n)
	}
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000002", "secret-two")); err != nil {
		t.Fatal(err)
	}
	if n := version(t, env, "/keyrot/ci/deploy"); n != 2 {
		t.Errorf("a new key: version %d, want 2", n)
	}
	if id, err := d.Current(ctx); err != nil || id != "AKIAEXAMPLEKEY000002" {
		t.Errorf("Current = %q, %v", id, err)
	}
	// The default key, aws/ssm, needs no configuration.
	if err := dest(t, env, "ssm:111111111111/eu-west-1/keyrot/other", "", false).Write(ctx, k1); err != nil {
		t.Errorf("write with aws/ssm: %v", err)
	}
}

// TestDisabledKey: a KMS key that cannot encrypt fails the write with
// Parameter Store's InvalidKeyId naming the key's state; once the
// parameter's key is disabled, Check and Current fail the same way.
func TestDisabledKey(t *testing.T) {
	env := start(t)
	ctx := context.Background()
	d := dest(t, env, "ssm:111111111111/eu-west-1/keyrot/app", "alias/retired", false)
	err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "s"))
	if err == nil || !strings.Contains(err.Error(), "InvalidKeyId") || !strings.Contains(err.Error(), "is disabled") ||
		!strings.Contains(err.Error(), "write ssm:111111111111/eu-west-1/keyrot/app") || errors.Is(err, deliver.ErrUnauthorized) {
		t.Fatalf("write under a disabled key: %v", err)
	}
	d = dest(t, env, "ssm:111111111111/eu-west-1/keyrot/app", "alias/keyrot-params", false)
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "s")); err != nil {
		t.Fatal(err)
	}
	_, err = kms.NewFromConfig(func() aws.Config { c := env.Admin(); c.Region = "eu-west-1"; return c }()).DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/keyrot-params")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "is disabled") {
		t.Errorf("check with the key disabled: %v", err)
	}
	if _, err := d.Current(ctx); err == nil || !strings.Contains(err.Error(), "InvalidKeyId") {
		t.Errorf("current with the key disabled: %v", err)
	}
}

// TestUnauthorized: a parameter outside the caller's policy is
// ErrUnauthorized at check and write, and the error holds no secret.
func TestUnauthorized(t *testing.T) {
	env := start(t)
	ctx := context.Background()
	d := dest(t, env, "ssm:111111111111/eu-west-1/other/deploy", "", false)
	if err := d.Check(ctx); !errors.Is(err, deliver.ErrUnauthorized) {
		t.Errorf("check: %v", err)
	}
	err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "do-not-print-me"))
	if !errors.Is(err, deliver.ErrUnauthorized) || !strings.Contains(err.Error(), "ssm:GetParameter") || strings.Contains(err.Error(), "do-not-print-me") {
		t.Errorf("write: %v", err)
	}
}

// TestForeignParameterLeftAlone: a parameter holding something keyrot did
// not write is neither overwritten nor reported as holding a key.
func TestForeignParameterLeftAlone(t *testing.T) {
	env := start(t)
	ctx := context.Background()
	_, err := client(env, true).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/keyrot/db-url"), Value: aws.String("postgres://x"), Type: ssmtypes.ParameterTypeSecureString})
	if err != nil {
		t.Fatal(err)
	}
	d := dest(t, env, "ssm:111111111111/eu-west-1/keyrot/db-url", "", false)
	if err := d.Write(ctx, key("AKIAEXAMPLEKEY000001", "s")); err == nil || !strings.Contains(err.Error(), "does not overwrite") {
		t.Fatalf("write over a foreign parameter: %v", err)
	}
	if err := d.Check(ctx); err == nil {
		t.Error("check passed a foreign parameter")
	}
	if n := version(t, env, "/keyrot/db-url"); n != 1 {
		t.Errorf("the foreign parameter changed: version %d", n)
	}
}

// echoing refuses every PutParameter with a message that quotes the value,
// as a validation error may.
type echoing struct{ ssmparam.API }

func (e echoing) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "value " + aws.ToString(in.Value) + " refused"}
}

// TestRefusalMessageWithheld: the message of a refused write that could
// quote the value is not repeated; the code is.
func TestRefusalMessageWithheld(t *testing.T) {
	env := start(t)
	r, _ := deliver.ParseRef("ssm:111111111111/eu-west-1/keyrot/app")
	d, err := ssmparam.New(r, echoing{client(env, false)}, "")
	if err != nil {
		t.Fatal(err)
	}
	err = d.Write(context.Background(), key("AKIAEXAMPLEKEY000001", "do-not-print-me"))
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || strings.Contains(err.Error(), "do-not-print-me") {
		t.Fatalf("write: %v", err)
	}
}

// busy answers PutParameter with TooManyUpdates the first n times.
type busy struct {
	ssmparam.API
	n     int
	calls []time.Time
}

func (b *busy) PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	b.calls = append(b.calls, time.Now())
	if len(b.calls) <= b.n {
		return nil, &smithy.GenericAPIError{Code: "TooManyUpdates", Message: "There are concurrent updates"}
	}
	return b.API.PutParameter(ctx, in, opts...)
}

// TestTooManyUpdatesRetriedAfterAPause: a write Parameter Store refuses
// with TooManyUpdates is tried again after a pause, and lands; a context
// deadline that ends during the pause stops it.
func TestTooManyUpdatesRetriedAfterAPause(t *testing.T) {
	env := start(t)
	r, _ := deliver.ParseRef("ssm:111111111111/eu-west-1/keyrot/busy")
	b := &busy{API: client(env, true), n: 2}
	d, err := ssmparam.New(r, b, "")
	if err != nil {
		t.Fatal(err)
	}
	k := key("AKIAEXAMPLEKEY000002", "secret-of-the-busy-parameter")
	if err := d.Write(context.Background(), k); err != nil {
		t.Fatalf("write: %v", err)
	}
	if len(b.calls) != 3 || b.calls[1].Equal(b.calls[0]) || !b.calls[1].After(b.calls[0]) {
		t.Fatalf("want 3 writes with pauses between, got %d", len(b.calls))
	}
	if id, err := d.Current(context.Background()); err != nil || id != k.AccessKeyID {
		t.Fatalf("current: %q %v", id, err)
	}
	b2 := &busy{API: client(env, true), n: 5}
	d2, _ := ssmparam.New(r, b2, "")
	// The first pause is 250ms: a deadline of 100ms ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d2.Write(ctx, key("AKIAEXAMPLEKEY000003", "other")); !errors.Is(err, context.DeadlineExceeded) || len(b2.calls) > 1 {
		t.Fatalf("cancelled write: %v after %d calls", err, len(b2.calls))
	}
}
