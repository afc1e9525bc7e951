package execute

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// motoWorld runs the executor against moto, an AWS emulator nobody here
// wrote, through the real SDK. moto checks no signatures and evaluates no
// resource policy, so these tests check the state keyrot leaves (keys,
// tags, secret versions, policy documents), not who may read what; the
// sandbox tests check that.
type motoWorld struct {
	t     *testing.T
	cfg   aws.Config
	iam   *iam.Client
	sm    *secretstore.Store
	hist  *history.Store
	acct  string
	mu    sync.Mutex
	shift time.Duration
}

func (m *motoWorld) IAM(context.Context, string) (IAM, error)          { return m.iam, nil }
func (m *motoWorld) Secrets(context.Context, string) (KeyStore, error) { return m.sm, nil }
func (m *motoWorld) KeyConfig(context.Context, string) (aws.Config, error) {
	cfg := m.cfg.Copy()
	cfg.Credentials = nil
	return cfg, nil
}

// now is keyrot's clock: moto's (the real one) plus what the test skipped.
func (m *motoWorld) now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Now().Add(m.shift)
}

// advance skips time on keyrot's side (a dead run's lease expires); reset
// puts keyrot's clock back on moto's once the rerun released the lease.
func (m *motoWorld) advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shift += d
}

func (m *motoWorld) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shift = 0
}

func (m *motoWorld) executor(owner string) *Executor {
	id, err := m.hist.StartRun(context.Background(), history.Run{Command: "rotate", Mode: history.ModeEnforce, Started: m.now()})
	if err != nil {
		m.t.Fatal(err)
	}
	return &Executor{Clients: m, History: m.hist, RunID: id, Owner: owner, Now: m.now, VerifyAttempts: 3, VerifyBackoff: 10 * time.Millisecond}
}

func (m *motoWorld) user(name string, keys int) []string {
	ctx := context.Background()
	if _, err := m.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		m.t.Fatal(err)
	}
	var ids []string
	for i := 0; i < keys; i++ {
		out, err := m.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			m.t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.AccessKey.AccessKeyId))
		time.Sleep(1100 * time.Millisecond) // distinct CreateDates (IAM's are in seconds)
	}
	return ids
}

func (m *motoWorld) keys(user string) []liveKey {
	ks, err := listKeys(context.Background(), m.iam, user)
	if err != nil {
		m.t.Fatal(err)
	}
	return ks
}

func (m *motoWorld) current(user string) secretstore.Version {
	v, err := m.sm.Stage(context.Background(), "keyrot/"+m.acct+"/"+user, "AWSCURRENT")
	if err != nil {
		m.t.Fatalf("secret of %s: %v", user, err)
	}
	return v
}

func (m *motoWorld) policy(user string) string {
	out, err := secretsmanager.NewFromConfig(m.cfg).GetResourcePolicy(context.Background(), &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("keyrot/" + m.acct + "/" + user)})
	if err != nil {
		m.t.Fatal(err)
	}
	return aws.ToString(out.ResourcePolicy)
}

// TestEmergencyRerunsAgainstMoto: the kill cases of the emergency
// rotation and of rotate --now, against moto: killed at a step, the same
// request run again finishes the rotation.
func TestEmergencyRerunsAgainstMoto(t *testing.T) {
	url := mototest.Start(t)
	cfg := mototest.Config(url)
	m := &motoWorld{t: t, cfg: cfg, iam: iam.NewFromConfig(cfg), acct: "123456789012"}
	st, err := secretstore.New(secretsmanager.NewFromConfig(cfg), secretstore.Config{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	m.sm = st
	m.hist, err = history.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.hist.Close() })
	ctx := context.Background()
	crashThenRerun := func(t *testing.T, user string, req RotateNowRequest, at string) Outcome {
		t.Helper()
		if _, err := m.executor("killed").RotateNow(ctx, m.acct, user, req, Options{Crash: crashAt(at)}); !errors.Is(err, ErrCrashed) {
			t.Fatalf("want a crash at %s, got %v", at, err)
		}
		m.advance(16 * time.Minute)
		o, err := m.executor("rerun").RotateNow(ctx, m.acct, user, req, Options{})
		m.reset()
		if err != nil || o.Status != Succeeded {
			t.Fatalf("rerun after a kill at %s: %v %+v", at, err, o)
		}
		return o
	}

	// Item: a --compromised run killed after CreateAccessKey.
	for i, at := range []string{"after-create", "store-put-value", "before-grant"} {
		user := "only" + string(rune('a'+i))
		old := m.user(user, 1)[0]
		o := crashThenRerun(t, user, RotateNowRequest{Compromised: true}, at)
		ks := m.keys(user)
		if len(ks) != 2 || findKey(ks, old).Status != inventory.KeyInactive || findKey(ks, o.NewKeyID) == nil || m.current(user).Value.AccessKeyID != o.NewKeyID {
			t.Errorf("%s after the rerun: %s (new %s)", at, keysText(ks), o.NewKeyID)
		}
		if p := m.policy(user); strings.Contains(p, "Deny") || !strings.Contains(p, ":user/"+user) {
			t.Errorf("%s: policy after the grant: %s", at, p)
		}
	}

	// Known gap: --compromised --key B of two active keys, killed after
	// the new key was created and before the grant.
	for i, at := range []string{"after-create", "before-grant"} {
		user := "two" + string(rune('a'+i))
		ids := m.user(user, 2)
		o := crashThenRerun(t, user, RotateNowRequest{KeyID: ids[1], Compromised: true}, at)
		ks := m.keys(user)
		if len(ks) != 2 || findKey(ks, ids[1]) != nil || findKey(ks, ids[0]).Status != inventory.KeyActive || m.current(user).Value.AccessKeyID != o.NewKeyID {
			t.Errorf("%s after the rerun: %s (new %s)", at, keysText(ks), o.NewKeyID)
		}
	}

	// A rotation in progress, then --compromised on its old key: the
	// stored key is cut off too. Killed before the grant, the secret's
	// policy denies the user.
	user := "inprogress"
	a := m.user(user, 1)[0]
	o, err := m.executor("sched").RotateNow(ctx, m.acct, user, RotateNowRequest{}, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("plain rotation: %v %+v", err, o)
	}
	n := o.NewKeyID
	time.Sleep(1100 * time.Millisecond)
	if _, err := m.executor("killed").RotateNow(ctx, m.acct, user, RotateNowRequest{KeyID: a, Compromised: true}, Options{Crash: crashAt("before-grant")}); !errors.Is(err, ErrCrashed) {
		t.Fatalf("want a crash, got %v", err)
	}
	if p := m.policy(user); !strings.Contains(p, `"Deny"`) || !strings.Contains(p, ":user/"+user) {
		t.Errorf("before the grant the policy does not deny the user: %s", p)
	}
	m.advance(16 * time.Minute)
	o, err = m.executor("rerun").RotateNow(ctx, m.acct, user, RotateNowRequest{KeyID: a, Compromised: true}, Options{})
	m.reset()
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rerun: %v %+v", err, o)
	}
	ks := m.keys(user)
	if findKey(ks, a) != nil || findKey(ks, n) == nil || findKey(ks, n).Status != inventory.KeyInactive || findKey(ks, o.NewKeyID) == nil || m.current(user).Value.AccessKeyID != o.NewKeyID {
		t.Errorf("after the emergency rotation: %s (old %s, stored %s, new %s)", keysText(ks), a, n, o.NewKeyID)
	}

	// rotate --now killed past the store: the rerun finishes it.
	for i, at := range []string{"store-tag", "before-verify"} {
		user := "plain" + string(rune('a'+i))
		old := m.user(user, 1)[0]
		o := crashThenRerun(t, user, RotateNowRequest{}, at)
		ks := m.keys(user)
		if len(ks) != 2 || findKey(ks, old).Status != inventory.KeyActive || o.NewKeyID != m.current(user).Value.AccessKeyID || o.KeyID != old {
			t.Errorf("%s after the rerun: %s, outcome %+v", at, keysText(ks), o)
		}
		if tg, err := readUserTags(ctx, m.iam, user); err != nil || !tg.PendingSince.IsZero() {
			t.Errorf("%s: pending tag left: %+v %v", at, tg, err)
		}
	}
}
