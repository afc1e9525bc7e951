package execute

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// The console password lifecycle through the real SDK against the sandbox.
//
// Disabling console access is DeleteLoginProfile: "Deletes the password for
// the specified IAM user or root user" (IAM API Reference,
// DeleteLoginProfile); the console's "Disable console access" of a user
// does the same (IAM User Guide, "Managing passwords for IAM users"). The
// password is gone: a restore is CreateLoginProfile with a new one, which
// AWS checks against the account password policy and rejects with
// PasswordPolicyViolation, "the provided password did not meet the
// requirements imposed by the account password policy" (IAM API
// Reference, CreateLoginProfile, Errors).

func consoleLC() plan.ConsoleLifecycle {
	return plan.ConsoleLifecycle{DisableUnused: true, UnusedAfter: 45 * day, DisableAfter: 60 * day}
}

// givePassword creates a console password for the user and signs in with it.
func (w *world) givePassword(user, pw string) {
	w.t.Helper()
	if _, err := w.iam.CreateLoginProfile(context.Background(), &iam.CreateLoginProfileInput{UserName: aws.String(user), Password: aws.String(pw)}); err != nil {
		w.t.Fatalf("create login profile of %s: %v", user, err)
	}
	if err := w.env.Server.ConsoleSignIn(w.acct, user, pw); err != nil {
		w.t.Fatal(err)
	}
}

// consoleSnapshot is snapshot with the users' console passwords, as the
// collector reads them from the credential report.
func (w *world) consoleSnapshot() *inventory.Snapshot {
	w.t.Helper()
	ctx := context.Background()
	snap := w.snapshot()
	for i := range snap.Accounts[0].Users {
		u := &snap.Accounts[0].Users[i]
		gu, err := w.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(u.Name)})
		if err != nil {
			w.t.Fatal(err)
		}
		lp, err := w.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(u.Name)})
		if isNoSuchEntity(err) {
			continue
		}
		if err != nil {
			w.t.Fatal(err)
		}
		u.Password = &inventory.Password{Enabled: true, LastUsed: gu.User.PasswordLastUsed, LastChanged: lp.LoginProfile.CreateDate}
	}
	return snap
}

// consoleCycle is one keyrot apply with the console lifecycle on (and
// unused keys left alone, so that only console passwords change).
func (w *world) consoleCycle(ex *Executor, o Options) (*plan.Plan, *Result, error) {
	w.t.Helper()
	ctx := context.Background()
	ex.Console = consoleLC()
	snap := w.consoleSnapshot()
	lc := plan.DefaultLifecycle()
	lc.DeactivateUnused = false
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter, ReadOnly: o.DryRun || o.AuditOnly})
	if err != nil {
		return nil, nil, err
	}
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots, Console: ex.Console}, w.now())
	res, err := ex.Apply(ctx, p, o)
	return p, res, err
}

func (w *world) hasLoginProfile(user string) bool {
	w.t.Helper()
	_, err := w.iam.GetLoginProfile(context.Background(), &iam.GetLoginProfileInput{UserName: aws.String(user)})
	if err != nil && !isNoSuchEntity(err) {
		w.t.Fatal(err)
	}
	return err == nil
}

// storedPassword reads the user's console password secret.
func (w *world) storedPassword(user string) (secretstore.PasswordValue, error) {
	v, _, err := w.store().StoredPassword(context.Background(), "keyrot/"+w.acct+"/"+user+secretstore.PasswordSuffix)
	return v, err
}

func TestConsoleDisableAndRollback(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "alice", "bob", "carol")
	w.givePassword("alice", "Old-Passw0rd!")
	w.givePassword("bob", "Bobs-Passw0rd!")
	w.givePassword("carol", "Carols-Passw0rd!")

	// Day 50: alice's and carol's passwords are unused past 45 days, bob's is
	// in use. The owners are told (the notice tag); nothing is disabled.
	w.advance(40 * day)
	if err := w.env.Server.ConsoleSignIn(w.acct, "bob", "Bobs-Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	w.advance(10 * day)
	ex := w.executor(w.hist, "run-1")
	ex.ExemptTag = "keyrot:exempt"
	p, _, err := w.consoleCycle(ex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	noticed := w.now()
	var ups []string
	for _, u := range p.Upcoming {
		if u.Kind == plan.DisableConsole {
			ups = append(ups, string(u.Kind)+" "+u.User+" "+u.Due.Sub(noticed).String())
		}
	}
	if want := "disable-console alice 360h0m0s,disable-console carol 360h0m0s"; strings.Join(ups, ",") != want {
		t.Errorf("upcoming = %v, want %s (the notice period, 15 days)", ups, want)
	}
	if len(p.Actions) != 0 {
		t.Errorf("actions on day 50: %v", kinds(p))
	}
	if got := w.tags("alice").All[TagConsoleNotice]; got != noticed.UTC().Format(time.RFC3339) {
		t.Errorf("notice tag %q", got)
	}

	// Day 64: not yet. Day 66: alice's password is disabled; carol, tagged
	// exempt after the plan was made, is not (the live re-check).
	w.advance(14 * day)
	if p, _, err := w.consoleCycle(w.executor(w.hist, "run-2"), Options{}); err != nil || len(p.Actions) != 0 {
		t.Fatalf("day 64: %v %v", kinds(p), err)
	}
	w.advance(2 * day)
	ex = w.executor(w.hist, "run-3")
	ex.Console = consoleLC()
	snap := w.consoleSnapshot()
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: plan.DefaultLifecycle().RotateAfter})
	if err != nil {
		t.Fatal(err)
	}
	lc := plan.DefaultLifecycle()
	lc.DeactivateUnused = false
	p = plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots, Console: ex.Console}, w.now())
	// carol is tagged exempt after the plan was made.
	if _, err := w.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("carol"), Tags: []types.Tag{{Key: aws.String("keyrot:exempt"), Value: aws.String("break-glass")}}}); err != nil {
		t.Fatal(err)
	}
	ex.ExemptTag = "keyrot:exempt"
	res, err := ex.Apply(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, o := range res.Outcomes {
		got[o.User] = o.Status
	}
	if got["alice"] != Succeeded || got["carol"] != Blocked || got["bob"] != "" {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}
	if w.hasLoginProfile("alice") || !w.hasLoginProfile("bob") || !w.hasLoginProfile("carol") {
		t.Error("login profiles: alice's should be gone, bob's and carol's kept")
	}
	if rec, ok := parseConsoleRecord(w.tags("alice").All[TagConsoleDisabled]); !ok || rec.Created.IsZero() {
		t.Errorf("disabled record %q", w.tags("alice").All[TagConsoleDisabled])
	}
	acts, err := w.hist.ActionsFor(ctx, w.acct, "alice")
	if err != nil || len(acts) != 1 || acts[0].Kind != KindDisableConsole || acts[0].Outcome.Status != history.ActionSucceeded {
		t.Errorf("journal %+v %v", acts, err)
	}

	// Rollback: a new password, stored first, reset required; alice signs
	// in with it. A second rollback changes nothing.
	w.advance(day)
	o, err := w.executor(w.hist, "rb").RollbackConsole(ctx, w.acct, "alice", Options{})
	if err != nil || o.Status != Succeeded || o.SecretARN == "" {
		t.Fatalf("rollback: %+v %v", o, err)
	}
	v, err := w.storedPassword("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.env.Server.ConsoleSignIn(w.acct, "alice", v.Password.Reveal()); err != nil {
		t.Errorf("the stored password does not open the restored login profile: %v", err)
	}
	if strings.Contains(o.Detail, v.Password.Reveal()) || !v.PasswordResetRequired {
		t.Errorf("outcome %q, stored reset %v", o.Detail, v.PasswordResetRequired)
	}
	lp, err := w.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")})
	if err != nil || !lp.LoginProfile.PasswordResetRequired {
		t.Errorf("login profile %+v %v", lp, err)
	}
	if _, ok := w.tags("alice").All[TagConsoleDisabled]; ok {
		t.Error("disabled tag left after the restore")
	}
	puts := w.calls.count("PutSecretValue")
	if o, err := w.executor(w.hist, "rb2").RollbackConsole(ctx, w.acct, "alice", Options{}); err != nil || o.Status != Skipped {
		t.Errorf("second rollback: %+v %v", o, err)
	}
	if w.calls.count("PutSecretValue") != puts {
		t.Error("second rollback stored another password")
	}
	// The restored password counts from its creation: not noticed again
	// (carol, exempt by her tag, stays planned and blocked live).
	w.advance(10 * day)
	if p, _, err := w.consoleCycle(w.executor(w.hist, "run-4"), Options{}); err != nil || strings.Join(kinds(p), ",") != "disable-console carol" || upcomingConsole(p, "alice") != 0 {
		t.Errorf("after the restore: %v %+v %v", kinds(p), p.Upcoming, err)
	}

	// bob's password was never disabled by keyrot: nothing to restore; a
	// user without password and without keyrot's record is refused.
	if o, _ := w.executor(w.hist, "rb3").RollbackConsole(ctx, w.acct, "bob", Options{}); o.Status != Skipped {
		t.Errorf("bob: %+v", o)
	}
	if _, err := w.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.executor(w.hist, "rb4").RollbackConsole(ctx, w.acct, "bob", Options{}); !errors.Is(err, ErrNotDisabledByKeyrot) {
		t.Errorf("bob without password: %v, want ErrNotDisabledByKeyrot", err)
	}
}

// TestConsoleGuards: a password used after the plan was made, the identity
// keyrot runs as, a dry run and an audit-only run change nothing.
func TestConsoleGuards(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "alice")
	w.givePassword("alice", "Old-Passw0rd!")
	w.advance(50 * day)
	if _, _, err := w.consoleCycle(w.executor(w.hist, "notice"), Options{}); err != nil {
		t.Fatal(err)
	}
	w.advance(16 * day)
	ex := w.executor(w.hist, "x")
	ex.Console = consoleLC()
	snap := w.consoleSnapshot()
	rots, err := ex.Gather(ctx, snap, GatherOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Rotations: rots, Console: ex.Console}, w.now())
	var disable plan.Plan
	for _, a := range p.Actions {
		if a.Kind == plan.DisableConsole {
			disable.Actions = append(disable.Actions, a)
		}
	}
	if len(disable.Actions) != 1 {
		t.Fatalf("plan: %v", kinds(p))
	}
	for _, o := range []Options{{DryRun: true}, {AuditOnly: true}} {
		res, err := ex.Apply(ctx, &disable, o)
		if err != nil || len(res.Outcomes) != 1 || !res.Outcomes[0].WouldDo || !w.hasLoginProfile("alice") {
			t.Errorf("%+v: %+v %v", o, res, err)
		}
	}
	arn := aws.ToString(mustUser(t, w, "alice").Arn)
	ex.Self = func(context.Context) (string, error) { return arn, nil }
	res, err := ex.Apply(ctx, &disable, Options{})
	if err != nil || res.Outcomes[0].Status != Blocked || !w.hasLoginProfile("alice") {
		t.Errorf("self: %+v %v", res.Outcomes, err)
	}
	ex.Self = nil
	if err := w.env.Server.ConsoleSignIn(w.acct, "alice", "Old-Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	res, err = ex.Apply(ctx, &disable, Options{})
	if err != nil || res.Outcomes[0].Status != Blocked || res.Outcomes[0].LastUsed == nil || !w.hasLoginProfile("alice") {
		t.Errorf("used since the plan: %+v %v", res.Outcomes, err)
	}
	ex.Console.DisableUnused = false
	if res, _ := ex.Apply(ctx, &disable, Options{}); res.Outcomes[0].Status != Blocked {
		t.Errorf("switched off: %+v", res.Outcomes)
	}
}

// TestRestoreMeetsPasswordPolicy: the restored password satisfies a strict
// account policy (longer than keyrot's default length), which the sandbox
// enforces as AWS does; a weak password is refused with
// PasswordPolicyViolation.
func TestRestoreMeetsPasswordPolicy(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "alice")
	if err := w.env.Server.SetPasswordPolicy(w.acct, &sandbox.PasswordPolicy{MinimumPasswordLength: 40, RequireSymbols: true,
		RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true}); err != nil {
		t.Fatal(err)
	}
	_, err := w.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Sh0rt!")})
	if errCode(err) != "PasswordPolicyViolation" {
		t.Fatalf("weak password: %v, want PasswordPolicyViolation", err)
	}
	w.givePassword("alice", "A-Long-Enough-Passw0rd-For-The-Policy-Of-40!")
	w.advance(50 * day)
	if _, _, err := w.consoleCycle(w.executor(w.hist, "notice"), Options{}); err != nil {
		t.Fatal(err)
	}
	w.advance(16 * day)
	if _, res, err := w.consoleCycle(w.executor(w.hist, "disable"), Options{}); err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("disable: %+v %v", res, err)
	}
	if o, err := w.executor(w.hist, "rb").RollbackConsole(ctx, w.acct, "alice", Options{}); err != nil {
		t.Fatalf("rollback: %+v %v", o, err)
	}
	v, err := w.storedPassword("alice")
	if err != nil || len(v.Password.Reveal()) != 40 {
		t.Errorf("stored password of %d characters, %v", len(v.Password.Reveal()), err)
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s, err := GeneratePassword(PasswordRules{MinLength: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pw := s.Reveal()
		if len(pw) != generatedLength || !strings.ContainsAny(pw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.ContainsAny(pw, "abcdefghijklmnopqrstuvwxyz") ||
			!strings.ContainsAny(pw, "0123456789") || !strings.ContainsAny(pw, passwordSymbols) {
			t.Fatalf("password %d characters lacks a character type", len(pw))
		}
		if seen[pw] {
			t.Fatal("a password repeated")
		}
		seen[pw] = true
	}
	if _, err := GeneratePassword(PasswordRules{MinLength: 129}, nil); err == nil {
		t.Error("a policy over 128 characters was accepted")
	}
	if _, err := GeneratePassword(PasswordRules{}, bytes.NewReader(nil)); err == nil {
		t.Error("an exhausted random source gave a password")
	}
}

func mustUser(t *testing.T, w *world, name string) *types.User {
	t.Helper()
	out, err := w.iam.GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.User
}

func upcomingConsole(p *plan.Plan, user string) int {
	n := 0
	for _, u := range p.Upcoming {
		if u.Kind == plan.DisableConsole && u.User == user {
			n++
		}
	}
	return n
}

func FuzzParseConsoleRecord(f *testing.F) {
	f.Add("2025-06-01T09:30:00Z created=2024-01-01T00:00:00Z reset=true")
	f.Add("2025-06-01T09:30:00Z")
	f.Add("garbage created=x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		rec, ok := parseConsoleRecord(s)
		if !ok {
			return
		}
		again, ok := parseConsoleRecord(rec.value())
		if !ok || !again.At.Equal(rec.At) || again.Reset != rec.Reset || !again.Created.Equal(rec.Created) {
			t.Fatalf("record %q does not survive its own value %q", s, rec.value())
		}
	})
}

// TestConsoleExemptUserNotNoticed: a user exempt from console-unused gets no
// keyrot:console-notice tag (keyrot touches no exempt user, and no notice
// reaches its owner), so that when the exemption ends the owner still gets
// the whole notice period before the password is disabled.
func TestConsoleExemptUserNotNoticed(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "dave")
	w.givePassword("dave", "Daves-Passw0rd!")
	exempt := true
	if _, err := w.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("dave"), Tags: []types.Tag{{Key: aws.String("keyrot:exempt"), Value: aws.String("on leave")}}}); err != nil {
		t.Fatal(err)
	}
	cycle := func(run string) (*plan.Plan, *Result) {
		t.Helper()
		ex := w.executor(w.hist, run)
		ex.Console, ex.ExemptTag = consoleLC(), "keyrot:exempt"
		snap := w.consoleSnapshot()
		lc := plan.DefaultLifecycle()
		lc.DeactivateUnused = false
		rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter})
		if err != nil {
			t.Fatal(err)
		}
		p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots, Console: ex.Console,
			Exempt: func(*inventory.Account, *inventory.User) plan.Exemption { return plan.Exemption{ConsoleExempt: exempt} }}, w.now())
		res, err := ex.Apply(ctx, p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p, res
	}
	// Day 50: unused past 45 days, but exempt: not planned, not noticed.
	w.advance(50 * day)
	if p, _ := cycle("run-1"); upcomingConsole(p, "dave") != 0 || len(p.Actions) != 0 {
		t.Fatalf("exempt user planned: %v %+v", kinds(p), p.Upcoming)
	}
	if v, ok := w.tags("dave").All[TagConsoleNotice]; ok {
		t.Errorf("exempt user tagged %s=%q", TagConsoleNotice, v)
	}
	// Day 80: the exemption ends. The owner is told now; the password is
	// kept for the notice period (15 days), not disabled at once.
	w.advance(30 * day)
	if _, err := w.iam.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("dave"), TagKeys: []string{"keyrot:exempt"}}); err != nil {
		t.Fatal(err)
	}
	exempt = false
	p, _ := cycle("run-2")
	if !w.hasLoginProfile("dave") {
		t.Fatalf("the password was disabled the day the exemption ended, without notice: %v", kinds(p))
	}
	for _, u := range p.Upcoming {
		if u.Kind == plan.DisableConsole && u.User == "dave" && u.Due.Before(w.now().Add(15*day)) {
			t.Errorf("due %s, less than the notice period from now", u.Due)
		}
	}
	if upcomingConsole(p, "dave") != 1 {
		t.Errorf("upcoming after the exemption: %+v", p.Upcoming)
	}
}

// TestConsoleBlockedUserNotNoticed: a user blocked by a problem with
// keyrot's records is not planned, so its owner is told nothing: no notice
// is recorded either, and once the problem is resolved the full notice
// period runs before the password is disabled.
func TestConsoleBlockedUserNotNoticed(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "erin")
	w.givePassword("erin", "Erins-Passw0rd!")
	k, err := w.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("erin")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("erin"), AccessKeyId: k.AccessKey.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	w.advance(50 * day)
	// A pending-rotation tag dated in the future: keyrot does not act on erin.
	future := w.now().Add(30 * day).UTC().Format(time.RFC3339)
	if _, err := w.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("erin"), Tags: []types.Tag{{Key: aws.String(TagPending), Value: aws.String(future + " someone")}}}); err != nil {
		t.Fatal(err)
	}
	p, _, err := w.consoleCycle(w.executor(w.hist, "run-1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if upcomingConsole(p, "erin") != 0 || len(p.Actions) != 0 {
		t.Fatalf("blocked user planned: %v %+v", kinds(p), p.Upcoming)
	}
	if v, ok := w.tags("erin").All[TagConsoleNotice]; ok {
		t.Errorf("blocked user tagged %s=%q although its owner was told nothing", TagConsoleNotice, v)
	}
	// Day 80: the tag is removed; the owner is told now, not disabled at once.
	w.advance(30 * day)
	if _, err := w.iam.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("erin"), TagKeys: []string{TagPending}}); err != nil {
		t.Fatal(err)
	}
	p, _, err = w.consoleCycle(w.executor(w.hist, "run-2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !w.hasLoginProfile("erin") || upcomingConsole(p, "erin") != 1 {
		t.Errorf("after the problem was resolved: login profile %v, plan %v %+v", w.hasLoginProfile("erin"), kinds(p), p.Upcoming)
	}
}
