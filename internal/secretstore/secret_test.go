package secretstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(fakeSecret)
	v := Value{AccessKeyID: "AKIAEXAMPLE123456789", SecretAccessKey: s, UserName: "alice", AccountID: "123456789012"}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("stored", "secret", s, "value", v)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("stored", "secret", s, "value", v)
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"%#v": fmt.Sprintf("%#v", s), "%+v value": fmt.Sprintf("%+v", v), "%#v value": fmt.Sprintf("%#v", v),
		"json": string(js), "slog": logBuf.String(), "error": fmt.Errorf("wrap: %v", s).Error(),
	}
	for name, out := range outs {
		out = strings.ReplaceAll(out, `\u003c`, "<")
		out = strings.ReplaceAll(out, `\u003e`, ">")
		if strings.Contains(out, fakeSecret) || !strings.Contains(out, "<secret>") {
			t.Errorf("%s leaks or does not redact: %s", name, out)
		}
	}
	if s.Reveal() != fakeSecret {
		t.Errorf("Reveal() lost the secret")
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	v := Value{AccessKeyID: "AKIAEXAMPLE123456789", SecretAccessKey: NewSecret(fakeSecret), UserName: "alice",
		AccountID: "123456789012", CreateDate: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	doc, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"AccessKeyId":"AKIAEXAMPLE123456789","SecretAccessKey":"` + fakeSecret + `","UserName":"alice","AccountId":"123456789012","CreateDate":"2025-03-01T12:00:00Z","Version":1}`
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
	got, err := ParseValue(doc)
	if err != nil {
		t.Fatal(err)
	}
	v.Version = 1
	if diff := cmp.Diff(v, got, cmp.Comparer(func(a, b Secret) bool { return a.Reveal() == b.Reveal() })); diff != "" {
		t.Errorf("ParseValue (-want +got):\n%s", diff)
	}
}

func TestParseValueErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", "nope"},
		{"no key", `{"SecretAccessKey":"x","Version":1}`},
		{"no secret", `{"AccessKeyId":"AKIA","Version":1}`},
		{"future version", `{"AccessKeyId":"AKIA","SecretAccessKey":"x","Version":2}`},
		{"bad date", `{"AccessKeyId":"AKIA","SecretAccessKey":"` + fakeSecret + `","Version":1,"CreateDate":"yesterday"}`},
		{"trailing", `{"AccessKeyId":"AKIA","SecretAccessKey":"x","Version":1} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseValue(tt.in)
			if err == nil {
				t.Fatal("ParseValue succeeded")
			}
			if strings.Contains(err.Error(), fakeSecret) {
				t.Errorf("error echoes the secret: %v", err)
			}
		})
	}
}

func FuzzParseValue(f *testing.F) {
	f.Add(`{"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"abc","UserName":"u","AccountId":"1","CreateDate":"2025-01-01T00:00:00Z","Version":1}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			return
		}
		doc, err := v.Encode()
		if err != nil {
			t.Fatalf("parsed value does not encode: %v", err)
		}
		v2, err := ParseValue(doc)
		if err != nil {
			t.Fatalf("re-encoded value does not parse: %v", err)
		}
		if v2.AccessKeyID != v.AccessKeyID || v2.SecretAccessKey.Reveal() != v.SecretAccessKey.Reveal() || !v2.CreateDate.Equal(v.CreateDate) {
			t.Fatalf("round trip changed the value")
		}
	})
}

func TestRequestToken(t *testing.T) {
	a, b := RequestToken("AKIAAAAAAAAAAAAAAAAA"), RequestToken("AKIAAAAAAAAAAAAAAAAB")
	if a != RequestToken("AKIAAAAAAAAAAAAAAAAA") {
		t.Error("token is not deterministic")
	}
	if a == b {
		t.Error("different keys share a token")
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(a) {
		t.Errorf("token %q is not UUID-shaped", a)
	}
}

func TestFetchCommand(t *testing.T) {
	got := FetchCommand("arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-AbCdEf", "us-east-1")
	want := "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-AbCdEf --region us-east-1 --query SecretString --output text"
	if got != want {
		t.Errorf("FetchCommand = %q, want %q", got, want)
	}
	if got := FetchCommand("it's", ""); got != `aws secretsmanager get-secret-value --secret-id 'it'\''s' --query SecretString --output text` {
		t.Errorf("quoting: %s", got)
	}
}
