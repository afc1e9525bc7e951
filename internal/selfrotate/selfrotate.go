// Package selfrotate rotates a person's own access key from a laptop
// (keyrot rotate --self --profile NAME): the key of a profile of the
// shared credentials file, with IAM and STS called as that person (no
// assumed role).
//
// One run does what is due and stops; running it again goes on from where
// the last one stopped, whatever stopped it:
//
//  1. The profile holds the user's only key: a new key is created, verified
//     with STS GetCallerIdentity signed with the new key, written to the
//     profile (atomically, the previous file kept as FILE.keyrot.bak, by
//     deliver/profile), and verified again as read back from the file.
//  2. The profile holds the newer of two keys: the old key is deactivated
//     once nothing has used it since the switch (the usage gate, below), or
//     at once with Force.
//  3. The old key is inactive: it is deleted on a later run, or in the same
//     run with DeleteOld.
//
// The usage gate. keyrot itself signs with the old key until the new one
// is verified, so the old key's last use is keyrot's own at first. Just
// before the profile is switched, keyrot reads the old key's last use
// (signed with the new key, which does not count as a use of the old one)
// and records it in a state file beside the credentials file
// (FILE.keyrot-self.json: key IDs and dates, never a secret). From the
// switch on, keyrot signs only with the new key. The old key passes the
// gate when its last use is still the recorded one, so nobody (not even
// keyrot) used it since the switch, and at least SwitchWindow has passed
// since the switch, because IAM reports last use with a delay: a run right
// after the switch cannot know. A later use, whatever its service or
// region, blocks the deactivation: another application on this laptop or
// elsewhere still holds the old key.
//
// Crash safety: the profile is only ever rewritten with a verified key, in
// one rename, so a crash between any two steps leaves a working key in the
// profile. A key created by a run that died before writing it (its secret
// is lost) is recognised from the state file's pending record (created
// after it, not among the keys the user had then, never used) and deleted
// by the next run before it creates another.
package selfrotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// IAM is the part of IAM a person's own key calls.
type IAM interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, opts ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, opts ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
}

// STS is the part of STS that tells who a key is.
type STS interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ IAM = (*iam.Client)(nil)
	_ STS = (*sts.Client)(nil)
)

// Clients returns the clients signing with one access key.
type Clients func(keyID string, secret secretstore.Secret) (IAM, STS)

// SDKClients returns Clients over cfg (its region, endpoint, retries),
// with each key's own static credentials.
func SDKClients(cfg aws.Config) Clients {
	return func(keyID string, secret secretstore.Secret) (IAM, STS) {
		c := cfg.Copy()
		c.Credentials = aws.NewCredentialsCache(staticKey{id: keyID, secret: secret})
		return iam.NewFromConfig(c), sts.NewFromConfig(c)
	}
}

type staticKey struct {
	id     string
	secret secretstore.Secret
}

func (s staticKey) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s.id, SecretAccessKey: s.secret.Reveal(), Source: "keyrot rotate --self"}, nil
}

// DefaultSwitchWindow is how long after the switch the old key's last use
// is judged, when Request.SwitchWindow is zero: IAM reports last use with
// a delay of up to a few hours.
const DefaultSwitchWindow = 4 * time.Hour

// usageMargin is IAM's last-used granularity (as the executor's).
const usageMargin = 15 * time.Minute

// Request is one rotate --self.
type Request struct {
	// File is the shared credentials file; Profile the profile in it.
	File, Profile string
	// Force deactivates the old key without the usage gate.
	Force bool
	// DeleteOld deletes the old key in the same run once it is inactive.
	DeleteOld bool
	// SwitchWindow: see the package documentation; DefaultSwitchWindow if zero.
	SwitchWindow time.Duration
}

// Result says what a run did, in order, and what is left.
type Result struct {
	User   string `json:"user"`
	OldKey string `json:"old_key_id,omitempty"`
	NewKey string `json:"new_key_id,omitempty"`
	// Done are the steps carried out, in words.
	Done []string `json:"done"`
	// Next is what the next run will do, or "" when the rotation is over.
	Next string `json:"next,omitempty"`
	// Blocked says why the old key was left active because it is still
	// used (a person must act, or pass Force).
	Blocked string `json:"blocked,omitempty"`
}

// Rotator carries out Requests.
type Rotator struct {
	Clients Clients
	// Now is the clock; time.Now if nil.
	Now    func() time.Time
	Logger *slog.Logger
	// VerifyAttempts and VerifyBackoff bound the wait for a new key to
	// authenticate (IAM is eventually consistent); 10 and 500ms if zero.
	VerifyAttempts int
	VerifyBackoff  time.Duration
	// Crash, if set, is called before each write with the step's name;
	// an error it returns stops the run there, as if the process died
	// (tests).
	Crash func(step string) error
}

// ErrCrashed marks a run stopped by Rotator.Crash.
var ErrCrashed = errors.New("run stopped by crash injection")

// ErrNotUser is returned when the profile's key is not an IAM user's
// long-term key (a role session, the root user).
var ErrNotUser = errors.New("the profile's key is not an IAM user's access key")

// ErrBusy is returned when another rotate --self of the same credentials
// file is running: two runs at once would each take the other's new key
// for an interrupted run's orphan.
var ErrBusy = errors.New("another rotate --self of this credentials file is running")

// ErrNoRoom is returned when the user has another key that no earlier run
// of rotate --self made: IAM allows two, and keyrot does not choose which
// to remove.
var ErrNoRoom = errors.New("the user already has another access key")

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Rotator) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Rotator) step(name string) error {
	if r.Crash != nil && r.Crash(name) != nil {
		return fmt.Errorf("%w at %s", ErrCrashed, name)
	}
	return nil
}

// state is what rotate --self keeps between runs for a profile: never a
// secret.
type state struct {
	User string `json:"user"`
	// PendingSince and Before: a key creation started then, when the user
	// had the keys Before; cleared once the new key is in the profile.
	PendingSince time.Time `json:"pending_since,omitzero"`
	Before       []string  `json:"before,omitempty"`
	// Created is the key that creation made (its ID), recorded right
	// after CreateAccessKey: until the profile holds it, its secret is
	// nowhere but in the running process.
	Created string `json:"created_key_id,omitempty"`
	// OldKey was replaced by NewKey, written to the profile at SwitchedAt;
	// OldLastUsed is OldKey's last use read just before ("never" or RFC 3339).
	OldKey      string    `json:"old_key_id,omitempty"`
	NewKey      string    `json:"new_key_id,omitempty"`
	SwitchedAt  time.Time `json:"switched_at,omitzero"`
	OldLastUsed string    `json:"old_last_used,omitempty"`
	// DeactivatedAt is when keyrot deactivated OldKey.
	DeactivatedAt time.Time `json:"deactivated_at,omitzero"`
}

// StateFile is the state file of a credentials file.
func StateFile(credentials string) string { return credentials + ".keyrot-self.json" }

// LockFile is the file a run of rotate --self locks for its whole length,
// beside the credentials file.
func LockFile(credentials string) string { return credentials + ".keyrot-self.lock" }

func loadStates(path string) (map[string]state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m := map[string]state{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// saveState writes the profile's state (or removes it when st is zero),
// atomically.
func saveState(path, prof string, st state) error {
	m, err := loadStates(path)
	if err != nil {
		return err
	}
	if st.User == "" {
		delete(m, prof)
	} else {
		m[prof] = st
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".keyrot-self-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err == nil {
		_, err = f.Write(append(b, '\n'))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	} else {
		f.Close()
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// liveKey is one of the user's keys.
type liveKey struct {
	ID      string
	Active  bool
	Created time.Time
}

func listKeys(ctx context.Context, c IAM, user string) ([]liveKey, error) {
	out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		return nil, fmt.Errorf("list access keys of %s: %w", user, err)
	}
	var ks []liveKey
	for _, k := range out.AccessKeyMetadata {
		ks = append(ks, liveKey{ID: aws.ToString(k.AccessKeyId), Active: k.Status == types.StatusTypeActive, Created: aws.ToTime(k.CreateDate)})
	}
	return ks, nil
}

func find(ks []liveKey, id string) *liveKey {
	for i := range ks {
		if ks[i].ID == id {
			return &ks[i]
		}
	}
	return nil
}

// lastUse returns a key's last use: nil when never used.
func lastUse(ctx context.Context, c IAM, keyID string) (*types.AccessKeyLastUsed, error) {
	out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("last use of %s: %w", inventory.MaskKeyID(keyID), err)
	}
	if out.AccessKeyLastUsed == nil || out.AccessKeyLastUsed.LastUsedDate == nil {
		return nil, nil
	}
	return out.AccessKeyLastUsed, nil
}

func useText(lu *types.AccessKeyLastUsed) string {
	if lu == nil {
		return "never"
	}
	return lu.LastUsedDate.UTC().Format(time.RFC3339Nano)
}

// whoAmI returns the IAM user a key belongs to (its name and ARN).
func whoAmI(ctx context.Context, c IAM, s STS) (string, string, error) {
	id, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("who is the profile's key (sts get-caller-identity): %w", err)
	}
	arn := aws.ToString(id.Arn)
	if !strings.Contains(arn, ":user/") {
		return "", "", fmt.Errorf("%w: it is %s", ErrNotUser, arn)
	}
	u, err := c.GetUser(ctx, &iam.GetUserInput{})
	if err == nil && u.User != nil {
		return aws.ToString(u.User.UserName), arn, nil
	}
	// GetUser may be denied: the user name is the ARN's last segment.
	return arn[strings.LastIndex(arn, "/")+1:], arn, nil
}

// verify waits until the key authenticates as the user (arn).
func (r *Rotator) verify(ctx context.Context, keyID string, secret secretstore.Secret, arn string) error {
	attempts, backoff := r.VerifyAttempts, r.VerifyBackoff
	if attempts <= 0 {
		attempts = 10
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	_, s := r.Clients(keyID, secret)
	var last error
	for i := 0; i < attempts; i++ {
		id, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		switch {
		case err == nil && aws.ToString(id.Arn) == arn:
			return nil
		case err == nil:
			return fmt.Errorf("key %s authenticates as %s, not %s", inventory.MaskKeyID(keyID), aws.ToString(id.Arn), arn)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 8*time.Second)
	}
	return fmt.Errorf("key %s does not authenticate: %w", inventory.MaskKeyID(keyID), last)
}

// Run carries out one rotate --self: what is due for the profile's key,
// from where the last run stopped. See the package documentation.
func (r *Rotator) Run(ctx context.Context, req Request) (*Result, error) {
	if req.File == "" || req.Profile == "" {
		return nil, errors.New("rotate --self needs a credentials file and a profile")
	}
	unlock, err := lock(LockFile(req.File))
	if err != nil {
		return nil, err
	}
	defer unlock()
	ref := deliver.Ref{Kind: deliver.KindProfile, Name: req.Profile}
	dest, err := profile.New(ref, req.File)
	if err != nil {
		return nil, err
	}
	held, err := dest.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	if held.AccessKeyID == "" || held.SecretAccessKey.Empty() {
		return nil, fmt.Errorf("profile %s of %s holds no access key", req.Profile, req.File)
	}
	statePath := StateFile(req.File)
	states, err := loadStates(statePath)
	if err != nil {
		return nil, err
	}
	st := states[req.Profile]
	c, s := r.Clients(held.AccessKeyID, held.SecretAccessKey)
	user, arn, err := whoAmI(ctx, c, s)
	if err != nil {
		return nil, err
	}
	if st.User != "" && st.User != user {
		st = state{} // another user's record: the profile was changed by hand
	}
	res := &Result{User: user}
	keys, err := listKeys(ctx, c, user)
	if err != nil {
		return nil, err
	}
	// A creation that died after the profile was switched, before it
	// recorded the switch: the switch counts from now (the usage gate
	// only gets stricter), with the old key's last use read now, signed
	// with the new key.
	if !st.PendingSince.IsZero() && st.Created != "" && st.Created == held.AccessKeyID {
		if len(keys) == 1 {
			// The old key is gone already (deleted by hand): the profile's
			// key is the user's only one, and the rotation is over.
			res.NewKey = held.AccessKeyID
			return res, saveState(statePath, req.Profile, state{})
		}
		for _, k := range keys {
			if k.ID != held.AccessKeyID && contains(st.Before, k.ID) {
				lu, err := lastUse(ctx, c, k.ID)
				if err != nil {
					return res, err
				}
				st = state{User: user, OldKey: k.ID, NewKey: held.AccessKeyID, SwitchedAt: r.now(), OldLastUsed: useText(lu)}
				if err := saveState(statePath, req.Profile, st); err != nil {
					return res, err
				}
			}
		}
		st.PendingSince, st.Before, st.Created = time.Time{}, nil, ""
	}
	// A creation that died before its key reached the profile: that key's
	// secret is lost (keyrot alone ever held it, to verify it); delete it.
	if !st.PendingSince.IsZero() {
		for _, k := range keys {
			if k.ID == held.AccessKeyID || contains(st.Before, k.ID) || k.Created.Before(st.PendingSince.Add(-time.Minute)) {
				continue
			}
			lu, err := lastUse(ctx, c, k.ID)
			if err != nil {
				return res, err
			}
			if lu != nil && k.ID != st.Created {
				return res, fmt.Errorf("key %s was created by an interrupted rotate --self but has been used: someone holds its secret; delete it by hand if it is not yours", inventory.MaskKeyID(k.ID))
			}
			if err := r.step("before-delete-orphan"); err != nil {
				return res, err
			}
			if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(k.ID)}); err != nil {
				return res, fmt.Errorf("delete key %s left by an interrupted run: %w", inventory.MaskKeyID(k.ID), err)
			}
			res.Done = append(res.Done, "deleted key "+inventory.MaskKeyID(k.ID)+", created by an interrupted run that never stored it")
		}
		st.PendingSince, st.Before, st.Created = time.Time{}, nil, ""
		if keys, err = listKeys(ctx, c, user); err != nil {
			return res, err
		}
	}
	var other *liveKey
	for i := range keys {
		if keys[i].ID != held.AccessKeyID {
			other = &keys[i]
		}
	}
	switch {
	case other == nil:
		return res, r.create(ctx, req, dest, held, user, arn, keys, statePath, res)
	case st.NewKey == held.AccessKeyID && st.OldKey == other.ID:
		res.OldKey, res.NewKey = other.ID, held.AccessKeyID
		return res, r.finish(ctx, req, held, arn, other, st, statePath, res)
	case find(keys, held.AccessKeyID) != nil && find(keys, held.AccessKeyID).Created.After(other.Created) && !other.Active:
		// A rotation whose record is gone (another state file): the old
		// key is off already; it is deleted only when asked.
		res.OldKey, res.NewKey = other.ID, held.AccessKeyID
		if !req.DeleteOld {
			res.Next = "key " + inventory.MaskKeyID(other.ID) + " is inactive; delete it with --delete-old"
			return res, nil
		}
		return res, r.deleteOld(ctx, c, user, other.ID, statePath, req.Profile, res)
	}
	return res, fmt.Errorf("%w, %s (%s), which no earlier rotate --self of profile %s replaced: IAM allows two keys; delete the one you do not use by hand, then run again",
		ErrNoRoom, inventory.MaskKeyID(other.ID), map[bool]string{true: "active", false: "inactive"}[other.Active], req.Profile)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// create makes the new key, verifies it, switches the profile to it and
// verifies it again as read back from the file.
func (r *Rotator) create(ctx context.Context, req Request, dest *profile.Destination, held deliver.Key, user, arn string, keys []liveKey,
	statePath string, res *Result) error {
	c, _ := r.Clients(held.AccessKeyID, held.SecretAccessKey)
	st := state{User: user, PendingSince: r.now()}
	for _, k := range keys {
		st.Before = append(st.Before, k.ID)
	}
	if err := saveState(statePath, req.Profile, st); err != nil {
		return err
	}
	if err := r.step("before-create"); err != nil {
		return err
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		return fmt.Errorf("create a new access key for %s: %w", user, err)
	}
	newKey := deliver.Key{AccessKeyID: aws.ToString(out.AccessKey.AccessKeyId), SecretAccessKey: secretstore.NewSecret(aws.ToString(out.AccessKey.SecretAccessKey)), UserName: user}
	res.OldKey, res.NewKey = held.AccessKeyID, newKey.AccessKeyID
	res.Done = append(res.Done, "created key "+inventory.MaskKeyID(newKey.AccessKeyID))
	if err := r.step("after-create"); err != nil {
		return err
	}
	st.Created = newKey.AccessKeyID
	if err := saveState(statePath, req.Profile, st); err != nil {
		return err
	}
	if err := r.verify(ctx, newKey.AccessKeyID, newKey.SecretAccessKey, arn); err != nil {
		return fmt.Errorf("new key not verified, the profile still holds the old key (the next run deletes the new one): %w", err)
	}
	res.Done = append(res.Done, "verified it with sts get-caller-identity signed with the new key")
	// The old key's last use, read with the new key: from the switch on,
	// nothing of keyrot's signs with the old key.
	nc, _ := r.Clients(newKey.AccessKeyID, newKey.SecretAccessKey)
	lu, err := lastUse(ctx, nc, held.AccessKeyID)
	if err != nil {
		return err
	}
	if err := r.step("before-write-profile"); err != nil {
		return err
	}
	if err := dest.Write(ctx, newKey); err != nil {
		return fmt.Errorf("the profile still holds the old key: %w", err)
	}
	switched := r.now()
	if err := r.step("after-write-profile"); err != nil {
		return err
	}
	back, err := dest.Credentials(ctx)
	if err != nil {
		return err
	}
	if back.AccessKeyID != newKey.AccessKeyID || back.SecretAccessKey.Reveal() != newKey.SecretAccessKey.Reveal() {
		return fmt.Errorf("profile %s read back does not hold the new key (the previous file is %s)", req.Profile, req.File+profile.BackupSuffix)
	}
	if err := r.verify(ctx, back.AccessKeyID, back.SecretAccessKey, arn); err != nil {
		return fmt.Errorf("the key read back from %s: %w", req.File, err)
	}
	res.Done = append(res.Done, fmt.Sprintf("wrote it to profile %s of %s (previous file kept as %s) and verified it as read back", req.Profile, req.File, filepath.Base(req.File+profile.BackupSuffix)))
	st = state{User: user, OldKey: held.AccessKeyID, NewKey: newKey.AccessKeyID, SwitchedAt: switched, OldLastUsed: useText(lu)}
	if err := saveState(statePath, req.Profile, st); err != nil {
		return err
	}
	old := &liveKey{ID: held.AccessKeyID, Active: true}
	return r.finish(ctx, req, newKey, arn, old, st, statePath, res)
}

// finish deactivates the old key when the usage gate passes (or Force),
// then deletes it when DeleteOld or on a later run.
func (r *Rotator) finish(ctx context.Context, req Request, held deliver.Key, arn string, old *liveKey, st state, statePath string, res *Result) error {
	c, _ := r.Clients(held.AccessKeyID, held.SecretAccessKey)
	mk := inventory.MaskKeyID(old.ID)
	if !old.Active {
		// Deactivated by an earlier run: this later run deletes it.
		if st.DeactivatedAt.IsZero() && !req.DeleteOld {
			res.Next = "key " + mk + " is inactive (not by keyrot); delete it with --delete-old"
			return nil
		}
		return r.deleteOld(ctx, c, st.User, old.ID, statePath, req.Profile, res)
	}
	if err := r.verify(ctx, held.AccessKeyID, held.SecretAccessKey, arn); err != nil {
		return fmt.Errorf("the profile's new key: %w; the old key %s stays active", err, mk)
	}
	if !req.Force {
		window := req.SwitchWindow
		if window <= 0 {
			window = DefaultSwitchWindow
		}
		if due := st.SwitchedAt.Add(window); r.now().Before(due) {
			res.Next = fmt.Sprintf("run again after %s to deactivate key %s once nothing has used it since the switch (IAM reports last use with a delay), or pass --force now",
				due.Format(time.RFC3339), mk)
			return nil
		}
		lu, err := lastUse(ctx, c, old.ID)
		if err != nil {
			return err
		}
		if lu != nil && !sameUse(st.OldLastUsed, *lu.LastUsedDate) && !lu.LastUsedDate.Before(st.SwitchedAt.Add(-usageMargin)) {
			res.Blocked = fmt.Sprintf("key %s was used after the switch to the new key on %s: last used %s by %s in %s; something else still holds it (another profile, an application, a CI secret): switch it to the new key and run again, or pass --force",
				mk, st.SwitchedAt.Format(time.RFC3339), lu.LastUsedDate.UTC().Format(time.RFC3339), orUnknown(aws.ToString(lu.ServiceName)), orUnknown(aws.ToString(lu.Region)))
			return nil
		}
	}
	if err := r.step("before-deactivate"); err != nil {
		return err
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(st.User), AccessKeyId: aws.String(old.ID), Status: types.StatusTypeInactive}); err != nil {
		return fmt.Errorf("deactivate key %s: %w", mk, err)
	}
	st.DeactivatedAt = r.now()
	if err := saveState(statePath, req.Profile, st); err != nil {
		return err
	}
	res.Done = append(res.Done, "deactivated the old key "+mk)
	if !req.DeleteOld {
		res.Next = "the next run deletes key " + mk + " (or run with --delete-old)"
		return nil
	}
	return r.deleteOld(ctx, c, st.User, old.ID, statePath, req.Profile, res)
}

// deleteOld deletes the inactive old key and forgets the rotation.
func (r *Rotator) deleteOld(ctx context.Context, c IAM, user, keyID, statePath, prof string, res *Result) error {
	if err := r.step("before-delete"); err != nil {
		return err
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(keyID)}); err != nil {
		return fmt.Errorf("delete key %s: %w", inventory.MaskKeyID(keyID), err)
	}
	res.Done = append(res.Done, "deleted the old key "+inventory.MaskKeyID(keyID))
	res.Next = ""
	return saveState(statePath, prof, state{})
}

func sameUse(recorded string, at time.Time) bool {
	t, err := time.Parse(time.RFC3339Nano, recorded)
	return err == nil && t.Sub(at).Abs() < time.Second
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown service"
	}
	return s
}
