package selfrotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// selfPolicy is the IAM policy AWS documents for users who manage their
// own access keys, for one user.
func selfPolicy(acct, user string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys","iam:CreateAccessKey","iam:UpdateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed"],"Resource":"arn:aws:iam::%s:user/%s"}]}`, acct, user)
}

// laptop is a person's user in the sandbox and their credentials file,
// whose profile "work" holds their key.
type laptop struct {
	t     *testing.T
	env   *sandboxtest.Env
	admin *iam.Client
	file  string
	user  string
}

func newLaptop(t *testing.T) *laptop {
	env := sandboxtest.Start(t, "empty")
	l := &laptop{t: t, env: env, admin: iam.NewFromConfig(env.Admin()), file: filepath.Join(t.TempDir(), "credentials"), user: "alice"}
	ctx := context.Background()
	if _, err := l.admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(l.user)}); err != nil {
		t.Fatal(err)
	}
	acct := env.Server.ManagementAccountID()
	if _, err := l.admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(l.user), PolicyName: aws.String("self"),
		PolicyDocument: aws.String(selfPolicy(acct, l.user))}); err != nil {
		t.Fatal(err)
	}
	k, err := l.admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(l.user)})
	if err != nil {
		t.Fatal(err)
	}
	content := "[default]\naws_access_key_id = AKIAOTHERPROFILE0001\naws_secret_access_key = other\n\n# my work key\n[work]\naws_access_key_id = " +
		aws.ToString(k.AccessKey.AccessKeyId) + "\naws_secret_access_key = " + aws.ToString(k.AccessKey.SecretAccessKey) + "\nregion = us-east-1\n"
	if err := os.WriteFile(l.file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *laptop) rotator(crash func(string) error) *Rotator {
	return &Rotator{Clients: func(id string, secret secretstore.Secret) (IAM, STS) {
		cfg := l.env.Config(id, secret.Reveal(), "")
		return iam.NewFromConfig(cfg), sts.NewFromConfig(cfg)
	}, Now: l.env.Server.Clock().Now, VerifyAttempts: 20, VerifyBackoff: 10 * time.Millisecond, Crash: crash}
}

// profileKey is what profile work holds.
func (l *laptop) profileKey() deliver.Key {
	d, err := profile.New(deliver.Ref{Kind: deliver.KindProfile, Name: "work"}, l.file)
	if err != nil {
		l.t.Fatal(err)
	}
	k, err := d.Credentials(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	return k
}

// works reports whether the profile's key authenticates as the user.
func (l *laptop) works() error {
	k := l.profileKey()
	out, err := sts.NewFromConfig(l.env.Config(k.AccessKeyID, k.SecretAccessKey.Reveal(), "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("the profile's key %s does not work: %w", k.AccessKeyID, err)
	}
	if !strings.HasSuffix(aws.ToString(out.Arn), ":user/"+l.user) {
		return fmt.Errorf("the profile's key is %s", aws.ToString(out.Arn))
	}
	return nil
}

func (l *laptop) keys() []liveKey {
	ks, err := listKeys(context.Background(), l.admin, l.user)
	if err != nil {
		l.t.Fatal(err)
	}
	return ks
}

func (l *laptop) run(req Request, crash func(string) error) (*Result, error) {
	req.File, req.Profile = l.file, "work"
	return l.rotator(crash).Run(context.Background(), req)
}

// TestSelfRotation: the whole lifecycle over three runs: switch, then
// (after the window, the old key unused) deactivate, then delete.
func TestSelfRotation(t *testing.T) {
	l := newLaptop(t)
	old := l.profileKey().AccessKeyID
	res, err := l.run(Request{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nk := l.profileKey()
	if nk.AccessKeyID == old || res.NewKey != nk.AccessKeyID || res.OldKey != old {
		t.Fatalf("after the first run: profile %s, result %+v", nk.AccessKeyID, res)
	}
	if err := l.works(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Next, "run again after") {
		t.Errorf("next: %q", res.Next)
	}
	bak, err := os.ReadFile(l.file + profile.BackupSuffix)
	if err != nil || !strings.Contains(string(bak), old) {
		t.Errorf("the previous file is not kept as the backup: %v", err)
	}
	cur, _ := os.ReadFile(l.file)
	if !strings.Contains(string(cur), "AKIAOTHERPROFILE0001") || !strings.Contains(string(cur), "# my work key") {
		t.Errorf("the other profile or the comment was lost:\n%s", cur)
	}
	state, _ := os.ReadFile(StateFile(l.file))
	if strings.Contains(string(state), nk.SecretAccessKey.Reveal()) {
		t.Error("the state file holds the secret")
	}
	// Too early: nothing changes.
	if res, err = l.run(Request{}, nil); err != nil || len(res.Done) != 0 || len(l.keys()) != 2 {
		t.Fatalf("a run within the window: %v %+v", err, res)
	}
	l.env.Server.Clock().Advance(DefaultSwitchWindow + time.Minute)
	if res, err = l.run(Request{}, nil); err != nil || res.Blocked != "" {
		t.Fatalf("after the window: %v %+v", err, res)
	}
	if ks := l.keys(); len(ks) != 2 || find(ks, old).Active {
		t.Fatalf("old key not deactivated: %+v", ks)
	}
	if res, err = l.run(Request{}, nil); err != nil {
		t.Fatal(err)
	}
	if ks := l.keys(); len(ks) != 1 || ks[0].ID != nk.AccessKeyID {
		t.Fatalf("old key not deleted on the later run: %+v", ks)
	}
	if err := l.works(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(StateFile(l.file)); err != nil {
		t.Fatal(err)
	}
}

// TestSelfRotationUsedByOthers: the old key used after the switch (another
// application still holds it) is not deactivated without --force.
func TestSelfRotationUsedByOthers(t *testing.T) {
	l := newLaptop(t)
	orig := l.profileKey()
	if _, err := l.run(Request{}, nil); err != nil {
		t.Fatal(err)
	}
	l.env.Server.Clock().Advance(time.Hour)
	// Another application signs with the old key after the switch.
	if _, err := sts.NewFromConfig(l.env.Config(orig.AccessKeyID, orig.SecretAccessKey.Reveal(), "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	l.env.Server.Clock().Advance(DefaultSwitchWindow)
	res, err := l.run(Request{}, nil)
	if err != nil || !strings.Contains(res.Blocked, "used after the switch") || !strings.Contains(res.Blocked, "sts") {
		t.Fatalf("want blocked in use: %v %+v", err, res)
	}
	if !find(l.keys(), orig.AccessKeyID).Active {
		t.Fatal("old key deactivated while in use")
	}
	res, err = l.run(Request{Force: true, DeleteOld: true}, nil)
	if err != nil || res.Blocked != "" {
		t.Fatalf("--force --delete-old: %v %+v", err, res)
	}
	if ks := l.keys(); len(ks) != 1 || ks[0].ID == orig.AccessKeyID {
		t.Fatalf("after --force --delete-old: %+v", ks)
	}
}

var errDie = errors.New("die")

// TestSelfRotationCrashes: a crash at every write step leaves a working key
// in the profile, and runs after it (with --force --delete-old, so that one
// run finishes) end with one key, in the profile.
func TestSelfRotationCrashes(t *testing.T) {
	for _, at := range []string{"before-create", "after-create", "before-write-profile", "after-write-profile", "before-deactivate", "before-delete"} {
		t.Run(at, func(t *testing.T) {
			l := newLaptop(t)
			_, err := l.run(Request{Force: true, DeleteOld: true}, func(s string) error {
				if s == at {
					return errDie
				}
				return nil
			})
			if !errors.Is(err, ErrCrashed) {
				t.Fatalf("want a crash at %s, got %v", at, err)
			}
			if err := l.works(); err != nil {
				t.Fatalf("after the crash: %v", err)
			}
			for i := 0; i < 2; i++ {
				if _, err := l.run(Request{Force: true, DeleteOld: true}, nil); err != nil {
					t.Fatalf("run %d after the crash: %v", i+1, err)
				}
				if err := l.works(); err != nil {
					t.Fatal(err)
				}
			}
			ks := l.keys()
			if len(ks) != 1 || ks[0].ID != l.profileKey().AccessKeyID || !ks[0].Active {
				t.Fatalf("not converged: keys %+v, profile %s", ks, l.profileKey().AccessKeyID)
			}
		})
	}
}
