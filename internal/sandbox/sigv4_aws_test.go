package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// skewedSigner signs as a client whose clock is off by skew would.
type skewedSigner struct {
	skew time.Duration
	v4   *v4.Signer
}

func (s skewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.v4.SignHTTP(ctx, creds, r, payloadHash, service, region, t.Add(s.skew), opts...)
}

// skewedDates shows the client the server's Date header as a client whose
// clock is off by skew reads it: the SDK's own clock is the process's, so
// the skew its correction measures (server Date minus client time) must be
// put into the header.
type skewedDates struct {
	skew time.Duration
	next http.RoundTripper
}

func (s skewedDates) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			resp.Header.Set("Date", d.Add(-s.skew).UTC().Format(http.TimeFormat))
		}
	}
	return resp, err
}

// TestSignatureSkewCodes checks AWS's answers to a request signed more than
// 15 minutes from the server's clock: SignatureDoesNotMatch (403) from the
// Query services and InvalidSignatureException (400) from the JSON ones,
// with "Signature expired" for a slow client clock and "Signature not yet
// current" for a fast one (AWS General Reference, "Signature Version 4
// signing": the signature is valid for 15 minutes).
func TestSignatureSkewCodes(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	for _, tt := range []struct {
		skew time.Duration
		msg  string
	}{
		{-20 * time.Minute, "Signature expired: "},
		{20 * time.Minute, "Signature not yet current: "},
	} {
		t.Run(tt.skew.String(), func(t *testing.T) {
			signer := skewedSigner{skew: tt.skew, v4: v4.NewSigner()}
			cfg := env.Admin()
			_, err := iam.NewFromConfig(cfg, func(o *iam.Options) { o.HTTPSignerV4 = signer }).ListUsers(ctx, &iam.ListUsersInput{})
			ae := wantAPIError(t, err, "SignatureDoesNotMatch", 403)
			if !strings.HasPrefix(ae.ErrorMessage(), tt.msg) {
				t.Errorf("iam message %q, want prefix %q", ae.ErrorMessage(), tt.msg)
			}
			_, err = sts.NewFromConfig(cfg, func(o *sts.Options) { o.HTTPSignerV4 = signer }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantAPIError(t, err, "SignatureDoesNotMatch", 403)
			_, err = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.HTTPSignerV4 = signer }).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
			ae = wantAPIError(t, err, "InvalidSignatureException", 400)
			if !strings.HasPrefix(ae.ErrorMessage(), tt.msg) {
				t.Errorf("secrets manager message %q, want prefix %q", ae.ErrorMessage(), tt.msg)
			}
			_, err = organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.HTTPSignerV4 = signer }).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
			wantAPIError(t, err, "InvalidSignatureException", 400)
		})
	}
	// Within the 15 minutes the request is accepted.
	signer := skewedSigner{skew: -10 * time.Minute, v4: v4.NewSigner()}
	_, err := iam.NewFromConfig(env.Admin(), func(o *iam.Options) { o.HTTPSignerV4 = signer }).ListUsers(ctx, &iam.ListUsersInput{})
	mustNoErr(t, err)
}

// TestSDKRecoversFromClientClockSkew runs the SDK's clock-skew correction
// against the sandbox: a client whose clock is 20 minutes slow gets the
// skew error, measures the skew from the response's Date header, and
// retries with a corrected signing time, as it does against AWS. With
// RequestExpired (the code the sandbox used to answer) the SDK gave up.
func TestSDKRecoversFromClientClockSkew(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	const skew = -20 * time.Minute
	cfg := env.Admin()
	cfg.HTTPClient = &http.Client{Transport: skewedDates{skew: skew, next: http.DefaultTransport}}
	cfg.Retryer = func() aws.Retryer { return retry.NewStandard() }
	signer := skewedSigner{skew: skew, v4: v4.NewSigner()}

	c := iam.NewFromConfig(cfg, func(o *iam.Options) { o.HTTPSignerV4 = signer })
	_, err := c.ListUsers(ctx, &iam.ListUsersInput{})
	mustNoErr(t, err)
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.HTTPSignerV4 = signer })
	_, err = sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	mustNoErr(t, err)

	// Without the correction the same client fails: the error is the skew.
	cfg.DisableClockSkewCorrection = true
	_, err = iam.NewFromConfig(cfg, func(o *iam.Options) { o.HTTPSignerV4 = signer }).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", 403)
}

// TestLongTermKeyWithSessionToken checks that a long-term key sent with a
// session token is refused as AWS refuses it: InvalidClientTokenId (403)
// from a Query service, UnrecognizedClientException (400) from a JSON one.
func TestLongTermKeyWithSessionToken(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "lee")
	k := mustCreateKey(t, c, "lee")
	cfg := env.Config(*k.AccessKeyId, *k.SecretAccessKey, "IQoJb3JpZ2luX2VjEBogus")
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	_, err = secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	wantAPIError(t, err, "UnrecognizedClientException", 400)
	id, sec := env.Server.AdminCredentials()
	_, err = iam.NewFromConfig(env.Config(id, sec, "IQoJb3JpZ2luX2VjEBogus")).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	// The same key without a token works.
	_, err = sts.NewFromConfig(env.Config(*k.AccessKeyId, *k.SecretAccessKey, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
}

// TestIAMRequiresUSEast1Scope checks that IAM, a global service, refuses a
// signature scoped to another region with AWS's answer, while STS (which
// has regional endpoints) accepts it.
func TestIAMRequiresUSEast1Scope(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	cfg := env.Admin()
	cfg.Region = "eu-west-1"
	_, err := iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{})
	ae := wantAPIError(t, err, "SignatureDoesNotMatch", 403)
	if want := "Credential should be scoped to a valid region, not 'eu-west-1'. "; ae.ErrorMessage() != want {
		t.Errorf("message %q, want %q", ae.ErrorMessage(), want)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
	cfg.Region = "us-east-1"
	_, err = iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{})
	mustNoErr(t, err)
}

// TestPresignedURLs checks presigned query-string requests: signed over the
// empty body's hash (what the SDK's presigner does for STS) or over
// UNSIGNED-PAYLOAD, both accepted; a tampered or expired one refused.
func TestPresignedURLs(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	id, sec := env.Server.AdminCredentials()
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: sec}
	presign := func(payloadHash string, expires int, at time.Time) string {
		t.Helper()
		u := env.URL + "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=" + strconv.Itoa(expires)
		req, err := http.NewRequest(http.MethodGet, u, nil)
		mustNoErr(t, err)
		signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, payloadHash, "sts", "us-east-1", at)
		mustNoErr(t, err)
		return signed
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		mustNoErr(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		mustNoErr(t, err)
		return resp.StatusCode, string(b)
	}
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, h := range []string{emptyHash, "UNSIGNED-PAYLOAD"} {
		status, body := get(presign(h, 900, time.Now()))
		if status != 200 || !strings.Contains(body, "<Arn>arn:aws:iam::") {
			t.Fatalf("presigned over %s: %d %s", h, status, body)
		}
	}
	// A presigned URL is good for X-Amz-Expires after its date, beyond 15 minutes.
	if status, body := get(presign(emptyHash, 3600, time.Now().Add(-30*time.Minute))); status != 200 {
		t.Fatalf("presigned 30 minutes ago for an hour: %d %s", status, body)
	}
	if status, body := get(presign(emptyHash, 900, time.Now().Add(-30*time.Minute))); status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") || !strings.Contains(body, "Signature expired") {
		t.Fatalf("expired presigned URL: %d %s", status, body)
	}
	tampered := strings.Replace(presign(emptyHash, 900, time.Now()), "Version=2011-06-15", "Version=2011-06-16", 1)
	if status, body := get(tampered); status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered presigned URL: %d %s", status, body)
	}
}

// fakeWall is a real-time clock a test moves by hand.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeWall) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeWall) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// TestSessionExpiresInRealTime checks that STS credentials expire in real
// time after they were issued, as AWS's do: moving the sandbox clock (to
// age keys) leaves a session valid; the passing of its duration expires it.
func TestSessionExpiresInRealTime(t *testing.T) {
	wall := &fakeWall{t: time.Now()}
	srv := sandbox.New(sandbox.Options{Wall: wall.now})
	mustNoErr(t, srv.AddAccount("111111111111", "workload", "workload@example.com", "", "ACTIVE"))
	mustNoErr(t, srv.AddRole("111111111111", "OrganizationAccountAccessRole", nil, ""))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := &sandboxtest.Env{Server: srv, URL: hs.URL}
	ctx := context.Background()

	out, err := sts.NewFromConfig(env.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("keyrot"),
		DurationSeconds: aws.Int32(900),
	})
	mustNoErr(t, err)
	if got, want := out.Credentials.Expiration.UTC(), wall.now().UTC().Truncate(time.Second).Add(15*time.Minute); !got.Equal(want) {
		t.Fatalf("Expiration %v, want %v (real time of issue + 900 s)", got, want)
	}
	c := out.Credentials
	member := sts.NewFromConfig(env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	srv.Clock().Advance(90 * 24 * time.Hour)
	_, err = member.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err) // the sandbox clock does not expire sessions
	wall.advance(14 * time.Minute)
	_, err = member.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustNoErr(t, err)
	wall.advance(time.Minute)
	_, err = member.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "ExpiredToken", 403)
	_, err = secretsmanager.NewFromConfig(env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	wantAPIError(t, err, "ExpiredTokenException", 400)
}
