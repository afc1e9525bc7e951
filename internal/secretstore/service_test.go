package secretstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestServiceValueRoundTrip(t *testing.T) {
	exp := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []ServiceValue{
		{ServiceName: "codecommit.amazonaws.com", CredentialID: "ACCAEXAMPLE1", ServiceUserName: "alice-at-111",
			ServicePassword: NewSecret("pw-s3cr3t"), UserName: "alice", AccountID: "111", CreateDate: exp.Add(-time.Hour)},
		{ServiceName: "bedrock.amazonaws.com", CredentialID: "ACCAEXAMPLE2", ServiceCredentialAlias: "alice+ab12-at-111",
			ServiceCredentialSecret: NewSecret("ABSKs3cr3t"), UserName: "alice", AccountID: "111", CreateDate: exp.Add(-time.Hour), ExpirationDate: &exp},
	} {
		t.Run(v.ServiceName, func(t *testing.T) {
			doc, err := v.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseServiceValue(doc)
			if err != nil {
				t.Fatal(err)
			}
			if !got.SameSecret(v) || got.ServiceUserName != v.ServiceUserName || got.ServiceCredentialAlias != v.ServiceCredentialAlias ||
				!got.CreateDate.Equal(v.CreateDate) || (v.ExpirationDate != nil) != (got.ExpirationDate != nil) || got.Version != ServiceFormatVersion {
				t.Errorf("round trip: %+v, want %+v", got, v)
			}
			// Printed or JSON-encoded, the secret material is redacted.
			js, _ := json.Marshal(v)
			for _, out := range []string{fmt.Sprintf("%v %+v %#v", v, v, v), string(js)} {
				if strings.Contains(out, "s3cr3t") {
					t.Errorf("secret leaked: %s", out)
				}
			}
			// An access key document is not a service credential, nor the reverse.
			if _, err := ParseValue(doc); !errors.Is(err, ErrBadValue) {
				t.Errorf("ParseValue of a service credential: %v", err)
			}
		})
	}
	if _, err := ParseServiceValue(`{"AccessKeyId":"AKIA1","SecretAccessKey":"x","Version":1}`); !errors.Is(err, ErrBadValue) {
		t.Errorf("ParseServiceValue of an access key: %v", err)
	}
	if _, err := (ServiceValue{ServiceName: "codecommit.amazonaws.com", CredentialID: "ACCA1"}).Encode(); err == nil {
		t.Error("a credential without its secret encodes")
	}
}

func TestServiceTagsParse(t *testing.T) {
	at := time.Date(2026, 4, 1, 12, 0, 0, 5, time.UTC)
	tags := serviceTagsOf("arn:x", tagList(map[string]string{
		TagService: "codecommit.amazonaws.com", TagCredentialID: "ACCANEW", TagStoredAt: "2026-04-01T12:00:00Z",
		TagServicePending: PendingMark(at, []string{"ACCAOLD", "ACCAX"}), TagServiceDeactivated: IDMark("ACCAOLD", at),
		TagServiceRolledBack: "garbage",
	}))
	if tags.Service != "codecommit.amazonaws.com" || tags.CredentialID != "ACCANEW" || !tags.StoredAt.Equal(at.Truncate(time.Second)) ||
		!tags.PendingSince.Equal(at) || strings.Join(tags.PendingBefore, ",") != "ACCAOLD,ACCAX" ||
		tags.DeactivatedID != "ACCAOLD" || !tags.DeactivatedAt.Equal(at) || tags.RolledBackID != "" {
		t.Errorf("%+v", tags)
	}
}

func FuzzParseServiceValue(f *testing.F) {
	f.Add(`{"ServiceName":"codecommit.amazonaws.com","ServiceSpecificCredentialId":"ACCA1","ServiceUserName":"u-at-1","ServicePassword":"p","UserName":"u","AccountId":"1","CreateDate":"2025-01-01T00:00:00Z","Version":1}`)
	f.Add(`{"ServiceName":"bedrock.amazonaws.com","ServiceSpecificCredentialId":"ACCA2","ServiceCredentialSecret":"ABSK","ExpirationDate":"2025-04-01T00:00:00Z","Version":1}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseServiceValue(s)
		if err != nil {
			return
		}
		doc, err := v.Encode()
		if err != nil {
			t.Fatalf("parsed value does not encode: %v", err)
		}
		v2, err := ParseServiceValue(doc)
		if err != nil {
			t.Fatalf("re-encoded value does not parse: %v", err)
		}
		if !v2.SameSecret(v) || !v2.CreateDate.Equal(v.CreateDate) {
			t.Fatalf("round trip changed the value")
		}
	})
}

func tagList(m map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range m {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}
