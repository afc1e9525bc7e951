package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawIAM posts a SigV4-signed Query request and returns the status and body.
func rawIAM(t *testing.T, endpoint, keyID, secret string, form url.Values, sign bool) (int, []byte) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sign {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func TestIAMWireErrors(t *testing.T) {
	env, c := iamEnv(t)
	mustCreateUser(t, c, "lee")
	id, sec := env.Server.AdminCredentials()
	v := func(kv ...string) url.Values {
		f := url.Values{"Version": {"2010-05-08"}}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		unsign bool
		status int
		code   string
		msg    string
	}{
		{name: "unknown action", form: v("Action", "DescribeUnicorns"), status: 400, code: "InvalidAction"},
		{name: "no action", form: v(), status: 400, code: "MissingAction"},
		{name: "missing UserName", form: v("Action", "CreateUser"), status: 400, code: "ValidationError",
			msg: "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{name: "MaxItems not a number", form: v("Action", "ListUsers", "MaxItems", "lots"), status: 400, code: "ValidationError"},
		{name: "MaxItems zero", form: v("Action", "ListUsers", "MaxItems", "0"), status: 400, code: "ValidationError"},
		{name: "MaxItems too large", form: v("Action", "ListAccessKeys", "UserName", "lee", "MaxItems", "1001"), status: 400, code: "ValidationError"},
		{name: "bad status", form: v("Action", "UpdateAccessKey", "UserName", "lee", "AccessKeyId", "AKIAAAAAAAAAAAAAAAAA", "Status", "On"), status: 400, code: "ValidationError"},
		{name: "missing access key id", form: v("Action", "GetAccessKeyLastUsed"), status: 400, code: "ValidationError"},
		{name: "bad MFA code", form: v("Action", "EnableMFADevice", "UserName", "lee", "SerialNumber", "arn:aws:iam::123456789012:mfa/lee", "AuthenticationCode1", "1", "AuthenticationCode2", "2"), status: 400, code: "ValidationError"},
		{name: "unsigned", form: v("Action", "ListUsers"), unsign: true, status: 403, code: "MissingAuthenticationToken"},
		{name: "no such user", form: v("Action", "GetUser", "UserName", "ghost"), status: 404, code: "NoSuchEntity",
			msg: "The user with name ghost cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawIAM(t, env.URL, id, sec, tt.form, !tt.unsign)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			var er xmlErrorResponse
			if err := xml.Unmarshal(body, &er); err != nil {
				t.Fatalf("not an XML ErrorResponse: %v\n%s", err, body)
			}
			if er.Error.Code != tt.code || er.Error.Type != "Sender" || er.RequestID == "" || er.Error.Message == "" {
				t.Errorf("error %+v, want code %s", er, tt.code)
			}
			if tt.msg != "" && er.Error.Message != tt.msg {
				t.Errorf("message %q, want %q", er.Error.Message, tt.msg)
			}
		})
	}
}

func TestIAMWireSuccessShape(t *testing.T) {
	env, c := iamEnv(t)
	mustCreateUser(t, c, "mia")
	id, sec := env.Server.AdminCredentials()
	status, body := rawIAM(t, env.URL, id, sec, url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, true)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp struct {
		XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ListUsersResponse"`
		Result  struct {
			Users       []string `xml:"Users>member>UserName"`
			IsTruncated string   `xml:"IsTruncated"`
		} `xml:"ListUsersResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &resp); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(resp.Result.Users) != 1 || resp.Result.Users[0] != "mia" || resp.Result.IsTruncated != "false" || resp.RequestID == "" {
		t.Errorf("response %+v\n%s", resp, body)
	}
}
