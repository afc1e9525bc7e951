package execute

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// motoAccount is moto's default account.
const motoAccount = "123456789012"

// skewMoto is moto, the independent emulator, with an executor wired to
// it. moto's clock is the wall clock and cannot be moved; keyrot's clock is
// moved instead (Executor.Now), which is the host clock running ahead.
type skewMoto struct {
	t    *testing.T
	cfg  aws.Config
	iam  *iam.Client
	sm   *secretsmanager.Client
	hist *history.Store
}

func newSkewMoto(t *testing.T, users ...string) *skewMoto {
	t.Helper()
	url := mototest.Start(t)
	m := &skewMoto{t: t, cfg: mototest.Config(url)}
	m.iam, m.sm = iam.NewFromConfig(m.cfg), secretsmanager.NewFromConfig(m.cfg)
	h, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	m.hist = h
	for _, u := range users {
		if _, err := m.iam.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.iam.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

type skewMotoClients struct{ m *skewMoto }

func (c skewMotoClients) IAM(context.Context, string) (IAM, error) { return c.m.iam, nil }
func (c skewMotoClients) Secrets(context.Context, string) (KeyStore, error) {
	return secretstore.New(c.m.sm, secretstore.Config{Region: "us-east-1"})
}
func (c skewMotoClients) KeyConfig(context.Context, string) (aws.Config, error) {
	cfg := c.m.cfg.Copy()
	cfg.Credentials = nil
	return cfg, nil
}

// executor is a keyrot run whose clock reads the wall clock plus ahead.
func (m *skewMoto) executor(owner string, ahead time.Duration) *Executor {
	id, err := m.hist.StartRun(context.Background(), history.Run{Command: "apply", Mode: history.ModeEnforce, Started: time.Now()})
	if err != nil {
		m.t.Fatal(err)
	}
	return &Executor{Clients: skewMotoClients{m}, History: m.hist, RunID: id, Owner: owner,
		Now: func() time.Time { return time.Now().Add(ahead) }, VerifyAttempts: 3, VerifyBackoff: 10 * time.Millisecond}
}

func (m *skewMoto) keys(user string) []liveKey {
	m.t.Helper()
	ks, err := listKeys(context.Background(), m.iam, user)
	if err != nil {
		m.t.Fatal(err)
	}
	return ks
}

// snapshot collects the account as the collector would.
func (m *skewMoto) snapshot() *inventory.Snapshot {
	m.t.Helper()
	ctx := context.Background()
	acct := inventory.Account{ID: motoAccount, Name: "moto", Status: inventory.AccountAudited}
	users, err := m.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		m.t.Fatal(err)
	}
	for _, u := range users.Users {
		iu := inventory.User{Name: aws.ToString(u.UserName), ARN: aws.ToString(u.Arn), Path: aws.ToString(u.Path)}
		for _, k := range m.keys(iu.Name) {
			ik := inventory.AccessKey{ID: k.ID, Status: k.Status, CreateDate: k.Created, LastUsedKnown: true}
			lu, err := lastUsed(ctx, m.iam, k.ID)
			if err != nil {
				m.t.Fatal(err)
			}
			ik.LastUsed = lu.At
			iu.Keys = append(iu.Keys, ik)
		}
		acct.Users = append(acct.Users, iu)
	}
	return &inventory.Snapshot{CollectedAt: time.Now(), Accounts: []inventory.Account{acct}}
}

// cycle is one keyrot apply with exempt as the planner's exemptions.
func (m *skewMoto) cycle(ex *Executor, exempt func(*inventory.Account, *inventory.User) plan.Exemption) *Result {
	m.t.Helper()
	ctx := context.Background()
	snap := m.snapshot()
	lc := plan.DefaultLifecycle()
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter})
	if err != nil {
		m.t.Fatal(err)
	}
	res, err := ex.Apply(ctx, plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots, Exempt: exempt}, ex.Now()), Options{})
	if err != nil {
		m.t.Fatal(err)
	}
	return res
}

// TestMotoKilledRotateNowOrphans: against moto, a rotate --now killed right
// after CreateAccessKey on a host 90 s ahead of AWS, for an exempt user and
// for a regular one. After the orphan grace both orphans are found by AWS's
// dates and deleted, whatever the planner's exemptions (the old code found
// neither: the clocks, and the planner skipping exempt users).
func TestMotoKilledRotateNowOrphans(t *testing.T) {
	m := newSkewMoto(t, "breakglass", "app1")
	for _, u := range []string{"breakglass", "app1"} {
		ex := m.executor("now-"+u, 90*time.Second)
		ex.LeaseTTL = time.Millisecond // the killed run's lease must not hold the next
		_, err := ex.RotateNow(context.Background(), motoAccount, u, RotateNowRequest{}, Options{Crash: crashAt("after-create")})
		if !errors.Is(err, ErrCrashed) || len(m.keys(u)) != 2 {
			t.Fatalf("%s: want a crash leaving an orphan: %v %s", u, err, keysText(m.keys(u)))
		}
	}
	exempt := func(_ *inventory.Account, u *inventory.User) plan.Exemption {
		return plan.Exemption{Exempt: u.Name == "breakglass", Reason: "break-glass"}
	}
	// Within the grace period nothing is done.
	if res := m.cycle(m.executor("early", 90*time.Second), exempt); len(res.Outcomes) != 0 {
		t.Fatalf("within grace: %+v", res.Outcomes)
	}
	res := m.cycle(m.executor("later", 2*time.Hour+90*time.Second), exempt)
	if diff := cmp.Diff([]string{"delete-orphan succeeded", "delete-orphan succeeded"}, outcomeKinds(res)); diff != "" {
		t.Fatalf("(-want +got):\n%s\n%+v", diff, res.Outcomes)
	}
	for _, u := range []string{"breakglass", "app1"} {
		if ks := m.keys(u); len(ks) != 1 || ks[0].Status != inventory.KeyActive {
			t.Errorf("%s: %s", u, keysText(ks))
		}
		tags, err := readUserTags(context.Background(), m.iam, u)
		if err != nil || !tags.PendingSince.IsZero() {
			t.Errorf("%s: pending tag left: %+v %v", u, tags, err)
		}
	}
}

// TestMotoFrozenRotateNowDoesNotDemoteNewerKey: against moto, a rotate
// --now stopped after CreateAccessKey (SIGSTOP) past the orphan grace;
// meanwhile a run deletes its key as an orphan and a second rotate --now
// stores a fresh key. The frozen run resumes: it must not store its deleted
// key as AWSCURRENT (the old code did).
func TestMotoFrozenRotateNowDoesNotDemoteNewerKey(t *testing.T) {
	m := newSkewMoto(t, "app1")
	ctx := context.Background()
	var fresh string
	frozen := m.executor("frozen", 0)
	frozen.LeaseTTL = time.Minute
	o, err := frozen.RotateNow(ctx, motoAccount, "app1", RotateNowRequest{}, Options{Crash: func(s string) error {
		if s != "after-create" || fresh != "" {
			return nil
		}
		// Two hours later, by keyrot's clock: the orphan is cleaned up and
		// the rotation done again.
		res := m.cycle(m.executor("cleaner", 2*time.Hour), nil)
		if diff := cmp.Diff([]string{"delete-orphan succeeded"}, outcomeKinds(res)); diff != "" {
			t.Fatalf("cleaner (-want +got):\n%s\n%+v", diff, res.Outcomes)
		}
		again, err := m.executor("again", 2*time.Hour).RotateNow(ctx, motoAccount, "app1", RotateNowRequest{}, Options{})
		if again.NewKeyID == "" {
			t.Fatalf("second rotate --now: %v %+v", err, again)
		}
		fresh = again.NewKeyID
		return nil
	}})
	if fresh == "" {
		t.Fatal("the frozen step was never reached")
	}
	st, _ := secretstore.New(m.sm, secretstore.Config{})
	cur, cerr := st.Stage(ctx, "keyrot/"+motoAccount+"/app1", "AWSCURRENT")
	if cerr != nil || cur.Value.AccessKeyID != fresh {
		t.Fatalf("AWSCURRENT holds %s (%v), want the live key %s; frozen run: %v %+v", cur.Value.AccessKeyID, cerr, fresh, err, o)
	}
	if k := findKey(m.keys("app1"), fresh); k == nil || k.Status != inventory.KeyActive {
		t.Fatalf("live key gone: %s", keysText(m.keys("app1")))
	}
	if o.Status == Succeeded {
		t.Errorf("frozen run claims success: %+v", o)
	}
}
