package execute

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// fillTags gives user n tags of its own (IAM's maximum is 50).
func (w *world) fillTags(user string, n int) {
	w.t.Helper()
	for i := 0; i < n; i += 10 {
		var tags []types.Tag
		for j := i; j < min(i+10, n); j++ {
			tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("team-%02d", j)), Value: aws.String("x")})
		}
		if _, err := w.iam.TagUser(context.Background(), &iam.TagUserInput{UserName: aws.String(user), Tags: tags}); err != nil {
			w.t.Fatalf("tag %s: %v", user, err)
		}
	}
}

// deleteUser deletes a user and its keys, as a person would.
func (w *world) deleteUser(user string) {
	w.t.Helper()
	ctx := context.Background()
	for _, k := range w.keys(user) {
		if _, err := w.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(k.ID)}); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := w.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(user)}); err != nil {
		w.t.Fatal(err)
	}
}

// TestOneBadUserIsThatUsersFailure: 19 users are due for rotation; one more
// has IAM's maximum of 50 tags and an inactive key keyrot has never seen
// (it cannot add its keyrot:deactivated tag); one has a secret whose value
// someone else overwrote with garbage, and a pending mark; one is deleted
// between collection and gathering. The old code failed the whole apply
// (0 of 19 done) on every rerun. Now the 19 are rotated, each bad user is
// blocked with the reason and a way out, in the plan computed read-only (as
// keyrot plan and apply compute it) and in the writable run.
func TestOneBadUserIsThatUsersFailure(t *testing.T) {
	var users []string
	for i := 1; i <= 19; i++ {
		users = append(users, fmt.Sprintf("svc%02d", i))
	}
	w := newWorld(t, append(users, "full", "mangled", "gone")...)
	ctx := context.Background()
	// full: 50 tags and an inactive key.
	w.fillTags("full", MaxUserTags)
	extra := w.humanKey("full")
	w.setStatus("full", extra.ID, types.StatusTypeInactive)
	// mangled: a keyrot-looking secret whose value is not keyrot's document.
	if _, err := w.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/" + w.acct + "/mangled"),
		SecretString: aws.String("not a key document"), Tags: []smtypes.Tag{
			{Key: aws.String(secretstore.TagAccount), Value: aws.String(w.acct)},
			{Key: aws.String(secretstore.TagUser), Value: aws.String("mangled")}}}); err != nil {
		t.Fatal(err)
	}
	w.advance(90 * day)
	for _, u := range append(users, "full", "mangled", "gone") {
		w.use(u)
	}
	w.setTag("mangled", TagPending, w.now().Add(-time.Hour).Format(time.RFC3339)+" run-1@elsewhere")
	snap := w.snapshot()
	w.deleteUser("gone")
	lc := plan.DefaultLifecycle()
	ex := w.executor(w.hist, "org")
	// keyrot plan / the first half of apply: read-only.
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only gathering failed for the whole organization: %v", err)
	}
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now())
	checkBlocked := func(p *plan.Plan, when string) {
		t.Helper()
		want := map[string]string{"full": "50 tags", "mangled": "secret", "gone": "no longer exists"}
		for _, b := range p.Blocked {
			if sub, ok := want[b.User]; ok && strings.Contains(b.Reason, sub) {
				delete(want, b.User)
			}
		}
		for u, sub := range want {
			t.Errorf("%s: %s not blocked with %q: %+v", when, u, sub, p.Blocked)
		}
		for _, a := range p.Actions {
			if a.User == "full" || a.User == "mangled" || a.User == "gone" {
				t.Errorf("%s: action planned for a blocked user: %s", when, a.ID)
			}
		}
		if len(p.Actions) != 19 {
			t.Errorf("%s: %d actions planned, want 19: %v", when, len(p.Actions), kinds(p))
		}
	}
	checkBlocked(p, "read-only plan")
	// The writable gathering (apply, once confirmed) and the run.
	rots, err = ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter})
	if err != nil {
		t.Fatalf("gathering failed for the whole organization: %v", err)
	}
	p = plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now())
	checkBlocked(p, "writable plan")
	res, err := ex.Apply(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Count(Succeeded); n != 19 {
		t.Fatalf("%d of 19 rotations done: %+v", n, res.Outcomes)
	}
	for _, b := range p.Blocked {
		if b.User == "full" && !strings.Contains(b.Reason, "remove one of the user's tags") {
			t.Errorf("no way out for full: %s", b.Reason)
		}
	}
}

// TestTagQuotaBlocksCreate: a user due for rotation with 50 tags (IAM's
// maximum) has no room for keyrot's pending mark: the create is blocked for
// that user with the reason and a way out, before any write.
func TestTagQuotaBlocksCreate(t *testing.T) {
	w := newWorld(t, "full", "app1")
	w.fillTags("full", MaxUserTags)
	w.advance(90 * day)
	w.use("full")
	w.use("app1")
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var full, app Outcome
	for _, o := range res.Outcomes {
		if o.User == "full" {
			full = o
		} else {
			app = o
		}
	}
	if full.Status != Blocked || !strings.Contains(full.Detail, "50 tags") || !strings.Contains(full.Detail, "remove one") {
		t.Errorf("full: %+v", full)
	}
	if app.Status != Succeeded {
		t.Errorf("app1: %+v", app)
	}
	if len(w.keys("full")) != 1 {
		t.Errorf("a key was created for full: %s", keysText(w.keys("full")))
	}
}

// TestUserDeletedSincePlan: a plan's user deleted before its action runs is
// that action's outcome (skipped, saying so), not a failure of the run.
func TestUserDeletedSincePlan(t *testing.T) {
	w := newWorld(t, "gone", "app1")
	w.advance(90 * day)
	w.use("gone")
	w.use("app1")
	snap := w.snapshot()
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle()}, w.now())
	w.deleteUser("gone")
	res, err := w.executor(w.hist, "x").Apply(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("the run failed: %v", err)
	}
	for _, o := range res.Outcomes {
		switch o.User {
		case "gone":
			if o.Status != Skipped || !strings.Contains(o.Detail, "no longer exists") {
				t.Errorf("gone: %+v", o)
			}
		default:
			if o.Status != Succeeded {
				t.Errorf("%s: %+v", o.User, o)
			}
		}
	}
}

// TestOddUserNameBlocked: IAM allows a comma in a user name, Secrets
// Manager not in a secret name. Such a user is blocked before a key is
// created (the old code created one, failed to store it and deleted it
// again, failing the run, on every run); the others are rotated.
func TestOddUserNameBlocked(t *testing.T) {
	w := newWorld(t, "ci,deploy", "app1")
	w.advance(90 * day)
	w.use("ci,deploy")
	w.use("app1")
	creates := w.calls.count("CreateAccessKey")
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatalf("the run failed: %v", err)
	}
	for _, o := range res.Outcomes {
		switch o.User {
		case "ci,deploy":
			if o.Status != Blocked || !strings.Contains(o.Detail, "secret name") {
				t.Errorf("ci,deploy: %+v", o)
			}
		default:
			if o.Status != Succeeded {
				t.Errorf("%s: %+v", o.User, o)
			}
		}
	}
	if n := w.calls.count("CreateAccessKey") - creates; n != 1 {
		t.Errorf("CreateAccessKey called %d times, want 1 (app1 only)", n)
	}
}

// TestForeignPendingTagBlocksUser: someone else wrote keyrot's pending tag
// with a date in the future. The old code skipped the user silently on every
// run ("another keyrot run started creating a key"); it is now blocked with
// the reason and what to do, and the others go on.
func TestForeignPendingTagBlocksUser(t *testing.T) {
	w := newWorld(t, "odd", "app1")
	w.advance(90 * day)
	w.use("odd")
	w.use("app1")
	w.setTag("odd", TagPending, "2999-01-01T00:00:00Z someone")
	p, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range p.Blocked {
		found = found || (b.User == "odd" && strings.Contains(b.Reason, "in the future") && strings.Contains(b.Reason, "remove the tag"))
	}
	if !found {
		t.Errorf("odd not blocked with the reason: %+v", p.Blocked)
	}
	if res.Count(Succeeded) != 1 || len(res.Outcomes) != 1 || res.Outcomes[0].User != "app1" {
		t.Errorf("outcomes: %+v", res.Outcomes)
	}
}
