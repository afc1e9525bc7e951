package sandbox_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestIAMWireTagsOmittedWhenNone checks that a user without tags has no
// <Tags> element: IAM omits it (API reference, CreateUser and GetUser
// examples), and ListUsers never returns tags. An empty <Tags></Tags>
// made the SDK report an empty, non-nil list.
func TestIAMWireTagsOmittedWhenNone(t *testing.T) {
	env, c := iamEnv(t)
	mustCreateUser(t, c, "notags")
	id, sec := env.Server.AdminCredentials()
	tests := []struct {
		name     string
		form     url.Values
		wantTags bool
	}{
		{"CreateUser without tags", url.Values{"Action": {"CreateUser"}, "UserName": {"fresh"}}, false},
		{"GetUser without tags", url.Values{"Action": {"GetUser"}, "UserName": {"notags"}}, false},
		{"ListUsers", url.Values{"Action": {"ListUsers"}}, false},
		{"GetAccountAuthorizationDetails", url.Values{"Action": {"GetAccountAuthorizationDetails"}}, false},
		{"CreateUser with a tag", url.Values{"Action": {"CreateUser"}, "UserName": {"tagged"}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"a"}}, true},
		{"GetUser with a tag", url.Values{"Action": {"GetUser"}, "UserName": {"tagged"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("Version", "2010-05-08")
			status, body := rawIAM(t, env.URL, id, sec, tt.form, true)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := strings.Contains(string(body), "<Tags>"); got != tt.wantTags {
				t.Errorf("<Tags> present = %v, want %v:\n%s", got, tt.wantTags, body)
			}
			if strings.Contains(string(body), "<Tags></Tags>") {
				t.Errorf("empty <Tags></Tags> element:\n%s", body)
			}
		})
	}
}
