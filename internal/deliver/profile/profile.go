// Package profile delivers an access key to a profile of the shared
// credentials file (~/.aws/credentials): for a person who rotates their
// own key from a laptop.
//
// The file is edited line by line: only the profile's aws_access_key_id
// and aws_secret_access_key lines change (and its aws_session_token, which
// would not belong to the new key, is removed); every other profile,
// comment and blank line stays as it was. The new content is written to a
// temporary file (mode 0600) beside the file, read back with the AWS SDK's
// own shared config reader to confirm that the profile holds the new key
// and every other profile the same credentials as before, then renamed over
// the file, after the previous file is kept as FILE.keyrot.bak.
package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// BackupSuffix is appended to the file's name for the previous file.
const BackupSuffix = ".keyrot.bak"

// Destination is one profile of one shared credentials file.
type Destination struct {
	ref  deliver.Ref
	file string
}

var _ deliver.Destination = (*Destination)(nil)

// DefaultFile is the shared credentials file the AWS SDKs and CLI use:
// AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials under home.
func DefaultFile(getenv func(string) string, home string) string {
	if f := getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		return f
	}
	return filepath.Join(home, ".aws", "credentials")
}

// New returns the destination ref (a profile reference) in file.
func New(ref deliver.Ref, file string) (*Destination, error) {
	if ref.Kind != deliver.KindProfile {
		return nil, fmt.Errorf("profile destination: %s is not a profile reference", ref)
	}
	if file == "" {
		return nil, fmt.Errorf("profile destination %s: no credentials file", ref)
	}
	return &Destination{ref: ref, file: file}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

// File returns the credentials file the destination writes.
func (d *Destination) File() string { return d.file }

// target is the file to replace: the credentials file, or what it links to.
func (d *Destination) target() (string, error) {
	p, err := filepath.EvalSymlinks(d.file)
	if errors.Is(err, fs.ErrNotExist) {
		return d.file, nil
	}
	return p, err
}

// Check makes sure the file, when it exists, is readable and parses, and
// that its directory exists and a file can be created in it.
func (d *Destination) Check(ctx context.Context) error {
	fail := func(err error) error { return &deliver.Error{Ref: d.ref, Op: "check", Err: err} }
	path, err := d.target()
	if err != nil {
		return fail(err)
	}
	if _, err := os.ReadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("%w: %v", deliver.ErrUnauthorized, err))
	}
	if _, err := d.Current(ctx); err != nil {
		return fail(err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail(fmt.Errorf("%w: directory %s", deliver.ErrNotFound, dir))
	}
	f, err := os.CreateTemp(dir, ".keyrot-check-*")
	if err != nil {
		return fail(fmt.Errorf("%w: cannot create files in %s", deliver.ErrUnauthorized, dir))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// load reads the credentials of every profile of the file at path with the
// AWS SDK's reader; a missing file has none.
func load(ctx context.Context, path string, profiles []string) (map[string][2]string, error) {
	out := map[string][2]string{}
	for _, p := range profiles {
		sc, err := config.LoadSharedConfigProfile(ctx, p, func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles = []string{path}
			o.ConfigFiles = []string{}
		})
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read profile %s of %s: %w", p, path, err)
		}
		out[p] = [2]string{sc.Credentials.AccessKeyID, sc.Credentials.SecretAccessKey}
	}
	return out, nil
}

// Current returns the profile's aws_access_key_id, "" when the file or
// the profile does not exist.
func (d *Destination) Current(ctx context.Context) (string, error) {
	path, err := d.target()
	if err != nil {
		return "", &deliver.Error{Ref: d.ref, Op: "read current key", Err: err}
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	creds, err := load(ctx, path, []string{d.ref.Name})
	if err != nil {
		return "", &deliver.Error{Ref: d.ref, Op: "read current key", Err: err}
	}
	return creds[d.ref.Name][0], nil
}

// Credentials returns the profile's access key ID and secret, as the AWS
// SDK reads them; an empty key when the file or the profile does not
// exist.
func (d *Destination) Credentials(ctx context.Context) (deliver.Key, error) {
	path, err := d.target()
	if err != nil {
		return deliver.Key{}, &deliver.Error{Ref: d.ref, Op: "read current key", Err: err}
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return deliver.Key{}, nil
	}
	creds, err := load(ctx, path, []string{d.ref.Name})
	if err != nil {
		return deliver.Key{}, &deliver.Error{Ref: d.ref, Op: "read current key", Err: err}
	}
	c := creds[d.ref.Name]
	return deliver.Key{AccessKeyID: c[0], SecretAccessKey: secretstore.NewSecret(c[1])}, nil
}

// Write sets the profile's key. When the profile already holds it, the
// file is not touched.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	fail := func(err error) error { return &deliver.Error{Ref: d.ref, Op: "write", Err: err} }
	if err := deliver.CheckKey(key); err != nil {
		return fail(err)
	}
	path, err := d.target()
	if err != nil {
		return fail(err)
	}
	old, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	secret := key.SecretAccessKey.Reveal()
	updated, err := SetProfile(old, d.ref.Name, key.AccessKeyID, secret)
	if err != nil {
		return fail(err)
	}
	if exists && bytes.Equal(updated, old) {
		return nil
	}
	profiles := Profiles(old)
	before := map[string][2]string{}
	if exists {
		if before, err = load(ctx, path, profiles); err != nil {
			return fail(fmt.Errorf("the current file does not parse, so it is left alone: %w", err))
		}
	}
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, updated)
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp) // gone after the rename; removes it on failure
	after, err := load(ctx, tmp, append(profiles, d.ref.Name))
	if err != nil {
		return fail(fmt.Errorf("the new file does not parse: %w", err))
	}
	if got := after[d.ref.Name]; got[0] != key.AccessKeyID || got[1] != secret {
		return fail(errors.New("the new file does not hold the new key in the profile"))
	}
	for p, c := range before {
		if p != d.ref.Name && after[p] != c {
			return fail(fmt.Errorf("the new file would change profile %s", p))
		}
	}
	if exists {
		bak, err := writeTemp(dir, old)
		if err != nil {
			return fail(fmt.Errorf("back up %s: %w", path, err))
		}
		if err := os.Rename(bak, path+BackupSuffix); err != nil {
			os.Remove(bak)
			return fail(fmt.Errorf("back up %s: %w", path, err))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if df, err := os.Open(dir); err == nil {
		_ = df.Sync()
		df.Close()
	}
	return nil
}

// writeTemp writes data to a new 0600 file in dir, synced, and returns its
// name.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".credentials-keyrot-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
