package profile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const original = `# work and personal keys
[default]
aws_access_key_id = AKIADEFAULTDEFAULT01
aws_secret_access_key = defaultsecret
region = eu-west-1

; the one keyrot rotates
[work]
AWS_Access_Key_ID=AKIAOLDOLDOLDOLD0001
aws_secret_access_key= oldsecret
aws_session_token = stale-token
output = json

[personal] # not ours
aws_access_key_id = AKIAPERSONALPERSON01
aws_secret_access_key = personalsecret
`

const rotated = `# work and personal keys
[default]
aws_access_key_id = AKIADEFAULTDEFAULT01
aws_secret_access_key = defaultsecret
region = eu-west-1

; the one keyrot rotates
[work]
AWS_Access_Key_ID = AKIANEWNEWNEWNEW0002
aws_secret_access_key = new/secret+key
output = json

[personal] # not ours
aws_access_key_id = AKIAPERSONALPERSON01
aws_secret_access_key = personalsecret
`

func TestSetProfile(t *testing.T) {
	tests := []struct {
		name, in, profile, want string
	}{
		{"rotate one profile, keep the rest", original, "work", rotated},
		{"add a missing profile", "[default]\naws_access_key_id = A\naws_secret_access_key = B", "ci",
			"[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ci]\naws_access_key_id = AKIANEWNEWNEWNEW0002\naws_secret_access_key = new/secret+key\n"},
		{"empty file", "", "default", "[default]\naws_access_key_id = AKIANEWNEWNEWNEW0002\naws_secret_access_key = new/secret+key\n"},
		{"profile without keys gets them before its blank lines", "[work]\nregion = us-east-1\n\n[other]\n", "work",
			"[work]\nregion = us-east-1\naws_access_key_id = AKIANEWNEWNEWNEW0002\naws_secret_access_key = new/secret+key\n\n[other]\n"},
		{"CRLF kept", "[work]\r\naws_access_key_id = X\r\naws_secret_access_key = Y\r\n", "work",
			"[work]\r\naws_access_key_id = AKIANEWNEWNEWNEW0002\r\naws_secret_access_key = new/secret+key\r\n"},
		{"duplicate key lines collapse", "[work]\naws_access_key_id = X\naws_access_key_id = Z\naws_secret_access_key = Y\n", "work",
			"[work]\naws_access_key_id = AKIANEWNEWNEWNEW0002\naws_secret_access_key = new/secret+key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := profile.SetProfile([]byte(tt.in), tt.profile, "AKIANEWNEWNEWNEW0002", "new/secret+key")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("SetProfile (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := profile.SetProfile(nil, "x", "AKIA\n[evil]", "s"); err == nil {
		t.Error("SetProfile accepted a key ID with a line break")
	}
}

func sdkCreds(t *testing.T, file, p string) (string, string) {
	t.Helper()
	sc, err := config.LoadSharedConfigProfile(context.Background(), p, func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{file}
		o.ConfigFiles = []string{}
	})
	if err != nil {
		t.Fatalf("SDK reading profile %s: %v", p, err)
	}
	return sc.Credentials.AccessKeyID, sc.Credentials.SecretAccessKey
}

func newDest(t *testing.T, file, name string) *profile.Destination {
	t.Helper()
	ref, err := deliver.ParseRef("profile:" + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := profile.New(ref, file)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteAtomicWithBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	real := filepath.Join(dir, "real-credentials")
	if err := os.WriteFile(real, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "credentials")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	d := newDest(t, link, "work")
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if cur, err := d.Current(ctx); err != nil || cur != "AKIAOLDOLDOLDOLD0001" {
		t.Fatalf("Current = %q, %v", cur, err)
	}
	k := deliver.Key{AccessKeyID: "AKIANEWNEWNEWNEW0002", SecretAccessKey: secretstore.NewSecret("new/secret+key")}
	if err := d.Write(ctx, k); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, _ := os.ReadFile(real)
	if diff := cmp.Diff(rotated, string(got)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	bak, err := os.ReadFile(real + profile.BackupSuffix)
	if err != nil || string(bak) != original {
		t.Errorf("backup = %q, %v; want the previous file", bak, err)
	}
	if fi, _ := os.Stat(real + profile.BackupSuffix); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if id, secret := sdkCreds(t, link, "work"); id != "AKIANEWNEWNEWNEW0002" || secret != "new/secret+key" {
		t.Errorf("the SDK reads %s / %s", id, secret)
	}
	if id, _ := sdkCreds(t, link, "personal"); id != "AKIAPERSONALPERSON01" {
		t.Errorf("personal profile changed: %s", id)
	}
	// A second write of the same key leaves the file and its backup alone.
	if err := os.WriteFile(real+profile.BackupSuffix, []byte("marker"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, k); err != nil {
		t.Fatal(err)
	}
	if bak, _ := os.ReadFile(real + profile.BackupSuffix); string(bak) != "marker" {
		t.Errorf("rewriting the same key replaced the backup")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("directory holds %d entries, want the link, the file and the backup (no temp files left)", len(entries))
	}
}

func TestWriteNewFileAndCheckMissingDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	d := newDest(t, file, "default")
	if cur, err := d.Current(ctx); err != nil || cur != "" {
		t.Fatalf("Current of a missing file = %q, %v", cur, err)
	}
	if err := d.Write(ctx, deliver.Key{AccessKeyID: "AKIANEWNEWNEWNEW0002", SecretAccessKey: secretstore.NewSecret("s")}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v, %v", fi, err)
	}
	if _, err := os.Stat(file + profile.BackupSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup was made of a file that did not exist: %v", err)
	}
	err := newDest(t, filepath.Join(dir, "nope", "credentials"), "default").Check(ctx)
	if !errors.Is(err, deliver.ErrNotFound) {
		t.Errorf("Check with a missing directory = %v, want not found", err)
	}
}

func TestWriteRefusesAFileTheSDKCannotRead(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "credentials")
	bad := "[work]\naws_access_key_id = X\n[other]\naws_access_key_id = A = B\n"
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	err := newDest(t, file, "work").Write(ctx, deliver.Key{AccessKeyID: "AKIANEWNEWNEWNEW0002", SecretAccessKey: secretstore.NewSecret("s3cr3t-value")})
	if err == nil {
		t.Fatal("Write changed a file the SDK cannot parse")
	}
	if got, _ := os.ReadFile(file); string(got) != bad {
		t.Errorf("the file was changed: %q", got)
	}
	if s := err.Error(); strings.Contains(s, "s3cr3t-value") {
		t.Errorf("error holds the secret: %s", s)
	}
}

// BenchmarkSetProfile measures editing one profile of a small credentials file.
func BenchmarkSetProfile(b *testing.B) {
	data := []byte(original)
	for b.Loop() {
		if _, err := profile.SetProfile(data, "work", "AKIANEWNEWNEWNEW0002", "new/secret+key"); err != nil {
			b.Fatal(err)
		}
	}
}
