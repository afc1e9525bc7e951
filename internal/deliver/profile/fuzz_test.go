package profile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/keyrot/keyrot/internal/deliver/profile"
)

// FuzzSetProfile checks SetProfile against the AWS SDK's own reader: when
// the SDK reads the original file, it reads the edited one too, with the
// new key in the profile and every other profile's credentials unchanged;
// and a second edit with the same key changes nothing.
func FuzzSetProfile(f *testing.F) {
	f.Add(original, "work")
	f.Add("", "default")
	f.Add("[default]\r\naws_access_key_id=A\r\n", "default")
	f.Add("[a]\n[b]\naws_secret_access_key = s\n[a]\naws_access_key_id = x\n", "a")
	f.Add("x = y\n[p] ; c\n\taws_access_key_id = indented\n", "p")
	dir := f.TempDir()
	read := func(t *testing.T, data []byte, p string) (string, string, bool) {
		file := filepath.Join(dir, "credentials")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sc, err := config.LoadSharedConfigProfile(context.Background(), p, func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles = []string{file}
			o.ConfigFiles = []string{}
		})
		if err != nil {
			return "", "", false
		}
		return sc.Credentials.AccessKeyID, sc.Credentials.SecretAccessKey, true
	}
	f.Fuzz(func(t *testing.T, in, name string) {
		if name == "" || strings.ContainsAny(name, "[]\r\n#; \t=") || len(in) > 512 {
			return
		}
		const id, secret = "AKIANEWNEWNEWNEW0002", "new/secret+key"
		out, err := profile.SetProfile([]byte(in), name, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		again, err := profile.SetProfile(out, name, id, secret)
		if err != nil || string(again) != string(out) {
			t.Fatalf("second edit changed the file:\n%q\n%q", out, again)
		}
		others := profile.Profiles([]byte(in))
		if len(others) > 8 {
			return
		}
		before := map[string][2]string{}
		for _, p := range others {
			a, b, ok := read(t, []byte(in), p)
			if !ok {
				return // the SDK does not read the original: Write leaves such files alone
			}
			before[p] = [2]string{a, b}
		}
		gotID, gotSecret, ok := read(t, out, name)
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("the SDK reads %q/%q (ok %v) from the edited file:\n%q", gotID, gotSecret, ok, out)
		}
		for p, c := range before {
			if p == name {
				continue
			}
			a, b, _ := read(t, out, p)
			if [2]string{a, b} != c {
				t.Fatalf("profile %s changed from %v to %v:\n%q", p, c, [2]string{a, b}, out)
			}
		}
	})
}
