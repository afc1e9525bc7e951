package execute

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestMotoConsoleDisableAndRollback runs the console password lifecycle
// against moto, the independent emulator: the notice, DeleteLoginProfile
// after the notice period, and the restore (CreateLoginProfile with the
// password stored first in Secrets Manager), then a rollback asked again.
// moto's clock cannot move, so keyrot's runs ahead (Executor.Now). moto does
// not check passwords against the account policy ("This does not currently
// deal with PasswordPolicyViolation", moto/iam/models.py); the sandbox's
// tests cover that part.
func TestMotoConsoleDisableAndRollback(t *testing.T) {
	ctx := context.Background()
	m := newSkewMoto(t, "alice")
	if _, err := m.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Old-Passw0rd!")}); err != nil {
		t.Fatal(err)
	}
	lc := plan.ConsoleLifecycle{DisableUnused: true, UnusedAfter: 45 * day, DisableAfter: 60 * day}
	snapshot := func() *inventory.Snapshot {
		s := m.snapshot()
		for i := range s.Accounts[0].Users {
			u := &s.Accounts[0].Users[i]
			lp, err := m.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(u.Name)})
			if isNoSuchEntity(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			u.CreateDate = aws.ToTime(lp.LoginProfile.CreateDate)
			u.Password = &inventory.Password{Enabled: true, LastChanged: lp.LoginProfile.CreateDate}
		}
		return s
	}
	cycle := func(ahead time.Duration) *Result {
		ex := m.executor("run", ahead)
		ex.Console = lc
		snap := snapshot()
		rots, err := ex.Gather(ctx, snap, GatherOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lcKeys := plan.DefaultLifecycle()
		lcKeys.DeactivateUnused = false
		res, err := ex.Apply(ctx, plan.Build(plan.Input{Snapshot: snap, Lifecycle: lcKeys, Rotations: rots, Console: lc}, ex.Now()), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := cycle(50 * day); len(res.Outcomes) != 0 {
		t.Fatalf("day 50 (notice): %+v", res.Outcomes)
	}
	tags, err := readUserTags(ctx, m.iam, "alice")
	if err != nil || tags.All[TagConsoleNotice] == "" {
		t.Fatalf("no notice recorded: %v %v", tags.All, err)
	}
	res := cycle(66 * day)
	if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Succeeded {
		t.Fatalf("day 66: %+v", res.Outcomes)
	}
	if _, err := m.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")}); !isNoSuchEntity(err) {
		t.Fatalf("login profile after the disable: %v", err)
	}
	o, err := m.executor("rb", 67*day).RollbackConsole(ctx, motoAccount, "alice", Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("rollback: %+v %v", o, err)
	}
	if _, err := m.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")}); err != nil {
		t.Fatalf("no login profile after the rollback: %v", err)
	}
	st, _ := secretstore.New(m.sm, secretstore.Config{Region: "us-east-1"})
	v, _, err := st.StoredPassword(ctx, "keyrot/"+motoAccount+"/alice"+secretstore.PasswordSuffix)
	if err != nil || v.Password.Empty() || !v.PasswordResetRequired {
		t.Fatalf("stored password: %+v %v", v, err)
	}
	if o, err := m.executor("rb2", 67*day).RollbackConsole(ctx, motoAccount, "alice", Options{}); err != nil || o.Status != Skipped {
		t.Errorf("second rollback: %+v %v", o, err)
	}
}
