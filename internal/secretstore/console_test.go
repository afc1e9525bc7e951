package secretstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPasswordValueRoundTripAndRedaction(t *testing.T) {
	v := PasswordValue{UserName: "alice", AccountID: "123456789012", Password: NewSecret("Tr0ub4dor&3-xyz"), PasswordResetRequired: true,
		SignInURL: "https://123456789012.signin.aws.amazon.com/console", Restore: "2025-06-01T09:30:00Z", CreateDate: time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)}
	doc, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePassword(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Password.Reveal() != "Tr0ub4dor&3-xyz" || got.Restore != v.Restore || !got.CreateDate.Equal(v.CreateDate) || !got.PasswordResetRequired || got.Version != 1 {
		t.Errorf("round trip: %+v", got)
	}
	b, _ := json.Marshal(v)
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), string(b)} {
		if strings.Contains(s, "Tr0ub4dor") {
			t.Errorf("password shown: %s", s)
		}
	}
	for _, bad := range []string{`{}`, `{"Password":"x","Version":1}`, `{"Password":"x","Restore":"r","Version":2}`, doc + `{}`} {
		if _, err := ParsePassword(bad); err == nil {
			t.Errorf("accepted %s", bad)
		} else if strings.Contains(err.Error(), "Tr0ub4dor") {
			t.Errorf("error echoes the password: %v", err)
		}
	}
	if _, err := (PasswordValue{Restore: "r"}).Encode(); err == nil {
		t.Error("encoded a value without a password")
	}
}

func FuzzParsePassword(f *testing.F) {
	f.Add(`{"UserName":"alice","AccountId":"1","Password":"p","Restore":"2025-06-01T09:30:00Z","CreateDate":"2025-06-02T08:00:00Z","Version":1}`)
	f.Add(`{"Password":"p","Restore":"r","Version":1,"Extra":true}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePassword(s)
		if err != nil {
			if strings.Contains(err.Error(), s) && len(s) > 8 {
				t.Fatalf("error echoes the input")
			}
			return
		}
		doc, err := v.Encode()
		if err != nil {
			t.Fatalf("parsed value does not encode: %v", err)
		}
		v2, err := ParsePassword(doc)
		if err != nil {
			t.Fatalf("re-encoded value does not parse: %v", err)
		}
		if v2.Password.Reveal() != v.Password.Reveal() || v2.Restore != v.Restore || !v2.CreateDate.Equal(v.CreateDate) {
			t.Fatalf("round trip changed the value")
		}
	})
}
