package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestErrorNamespacePerService checks that each Query service answers
// errors in its own XML namespace, as AWS does: IAM's, STS's and SNS's
// ErrorResponse elements differ.
func TestErrorNamespacePerService(t *testing.T) {
	env := sandboxtest.Start(t, "")
	id, _ := env.Server.AdminCredentials()
	for _, tt := range []struct {
		service, action, ns string
	}{
		{"iam", "ListUsers", "https://iam.amazonaws.com/doc/2010-05-08/"},
		{"sts", "GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/"},
		{"sns", "ListTopics", "http://sns.amazonaws.com/doc/2010-03-31/"},
	} {
		t.Run(tt.service, func(t *testing.T) {
			body := url.Values{"Action": {tt.action}, "Version": {"2010-05-08"}}.Encode()
			req, err := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
			mustNoErr(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			sum := sha256.Sum256([]byte(body))
			// Signed with the wrong secret: SignatureDoesNotMatch.
			creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: "wrong"}
			mustNoErr(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), tt.service, "us-east-1", time.Now()))
			resp, err := http.DefaultClient.Do(req)
			mustNoErr(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			mustNoErr(t, err)
			var e struct {
				XMLName xml.Name
				Code    string `xml:"Error>Code"`
			}
			mustNoErr(t, xml.Unmarshal(b, &e))
			if e.XMLName.Space != tt.ns || e.XMLName.Local != "ErrorResponse" || e.Code != "SignatureDoesNotMatch" || resp.StatusCode != 403 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
}

// TestSNSThrottled: SNS throttles with ThrottledException, code Throttled,
// HTTP 429 (botocore's sns model), not the Query services' Throttling.
func TestSNSThrottled(t *testing.T) {
	env := sandboxtest.Start(t, "")
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultThrottle, Service: "sns", Times: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := sns.NewFromConfig(env.Admin()).ListTopics(context.Background(), &sns.ListTopicsInput{})
	wantAPIError(t, err, "Throttled", 429)
}

// TestOrganizationsInvalidInputReason: Organizations' InvalidInputException
// carries a Reason, and MaxResults 0 is below the model's minimum of 1.
func TestOrganizationsInvalidInputReason(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	c := organizations.NewFromConfig(env.Admin())
	for _, tt := range []struct {
		name   string
		call   func() error
		reason orgtypes.InvalidInputExceptionReason
	}{
		{"MaxResults 0", func() error {
			_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(0)})
			return err
		}, orgtypes.InvalidInputExceptionReasonMinValueExceeded},
		{"MaxResults 21", func() error {
			_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
			return err
		}, orgtypes.InvalidInputExceptionReasonMaxValueExceeded},
		{"bad NextToken", func() error {
			_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("bogus")})
			return err
		}, orgtypes.InvalidInputExceptionReasonInvalidPaginationToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ie *orgtypes.InvalidInputException
			if err := tt.call(); !errors.As(err, &ie) || ie.Reason != tt.reason {
				t.Fatalf("want InvalidInputException with reason %s, got %v (%+v)", tt.reason, err, ie)
			}
		})
	}
}

// TestReservedTagPrefix: AWS reserves the aws: tag prefix; IAM TagUser and
// Secrets Manager CreateSecret and TagResource refuse it.
func TestReservedTagPrefix(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	mustCreateUser(t, c, "lee")
	_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("lee"), Tags: []iamtypes.Tag{{Key: aws.String("AWS:owner"), Value: aws.String("x")}}})
	wantAPIError(t, err, "InvalidInput", 400)
	_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("lee"), Tags: []iamtypes.Tag{{Key: aws.String("owner:aws"), Value: aws.String("x")}}})
	mustNoErr(t, err)
	sm := secretsmanager.NewFromConfig(env.Admin())
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), Tags: []smtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	wantAPIError(t, err, "InvalidParameterException", 400)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s")})
	mustNoErr(t, err)
	_, err = sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("s"), Tags: []smtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	wantAPIError(t, err, "InvalidParameterException", 400)
}

// TestAssumeRoleExternalIDPattern: ExternalId must match [\w+=,.@:/-]* and
// have 2 to 1224 characters (botocore's sts model).
func TestAssumeRoleExternalIDPattern(t *testing.T) {
	env := stsEnv(t)
	ctx := context.Background()
	arn := "arn:aws:iam::111111111111:role/Audit"
	for _, tt := range []struct {
		id   string
		code string
	}{
		{"s3cr3t ext", "ValidationError"},
		{"s3cr3t!ext", "ValidationError"},
		{"x", "ValidationError"},
		{"s3cr3t-ext", ""},
	} {
		_, err := sts.NewFromConfig(env.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("keyrot"), ExternalId: aws.String(tt.id)})
		if tt.code == "" {
			mustNoErr(t, err)
			continue
		}
		wantAPIError(t, err, tt.code, 400)
	}
}

// TestSecretsManagerSmallerDifferences covers ListSecrets' MaxResults
// minimum and its description filter (words of the value match words of
// the description, each as a prefix, in any order, not case-sensitive:
// "Find secrets in AWS Secrets Manager"), and DeleteSecret without
// recovery on a secret that does not exist, which succeeds.
func TestSecretsManagerSmallerDifferences(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(env.Admin())
	for name, desc := range map[string]string{"a": "My Description", "b": "my basic description", "c": "Description of my secret", "d": "Descriptive text", "e": "yours"} {
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), Description: aws.String(desc)})
		mustNoErr(t, err)
	}
	list := func(f ...string) string {
		t.Helper()
		out, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeDescription, Values: f}}, SortOrder: smtypes.SortOrderTypeAsc})
		mustNoErr(t, err)
		var names []string
		for _, s := range out.SecretList {
			names = append(names, aws.ToString(s.Name))
		}
		return strings.Join(names, ",")
	}
	for _, tt := range []struct {
		values []string
		want   string
	}{
		{[]string{"My Description"}, "a,b,c"},
		{[]string{"descr"}, "a,b,c,d"},
		{[]string{"secret"}, "c"},
		{[]string{"cription"}, ""},
		{[]string{"!my"}, "d,e"},
	} {
		if got := list(tt.values...); got != tt.want {
			t.Errorf("description %q: %q, want %q", tt.values, got, tt.want)
		}
	}
	_, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", 400)
	_, err = sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("a"), MaxResults: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", 400)

	del, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never-was"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	mustNoErr(t, err)
	if aws.ToString(del.Name) != "never-was" || del.DeletionDate == nil {
		t.Errorf("DeleteSecret of a missing secret: %+v", del)
	}
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never-was")})
	wantAPIError(t, err, "ResourceNotFoundException", 400)
}

// TestPutSecretValueKeepsTheLastDay: beyond 100 versions Secrets Manager
// removes the oldest unlabeled ones, but never one created in the last 24
// hours ("AWS Secrets Manager quotas").
func TestPutSecretValueKeepsTheLastDay(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(env.Admin())
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("busy"), SecretString: aws.String("v0")})
	mustNoErr(t, err)
	count := func() int {
		t.Helper()
		n := 0
		p := secretsmanager.NewListSecretVersionIdsPaginator(sm, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("busy"), IncludeDeprecated: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			mustNoErr(t, err)
			n += len(page.Versions)
		}
		return n
	}
	put := func(n int) {
		t.Helper()
		for i := range n {
			_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("busy"), SecretString: aws.String(fmt.Sprintf("v%d", i))})
			mustNoErr(t, err)
		}
	}
	put(110)
	if n := count(); n != 111 {
		t.Fatalf("%d versions after 111 puts within a day, want all 111", n)
	}
	env.Server.Clock().Advance(25 * time.Hour)
	put(1)
	if n := count(); n != 100 {
		t.Fatalf("%d versions a day later, want the quota of 100", n)
	}
}
