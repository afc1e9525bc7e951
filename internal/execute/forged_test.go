package execute

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// The tests of this file hand the executor plans keyrot's planner would
// never make, as a tampered plan file could hold them: the action's Expect
// is copied from the live keys so the "state changed since plan" check
// passes, and the gate and evidence are whatever the forger chose. The
// executor must re-check keyrot's own rules against live state and refuse,
// changing nothing in AWS.

// forge returns a one-action plan for user with Expect copied from AWS.
func (w *world) forge(kind plan.Kind, user, keyID string, gate plan.Gate, ev map[string]string) *plan.Plan {
	w.t.Helper()
	a := plan.Action{ID: "forged/" + string(kind) + "/" + keyID, Kind: kind, AccountID: w.acct, AccountName: "management", User: user,
		UserARN: "arn:aws:iam::" + w.acct + ":user/" + user, KeyID: keyID, Reason: "forged", Due: w.now(), Gate: gate, Evidence: ev}
	for _, k := range w.keys(user) {
		a.Expect = append(a.Expect, plan.KeyState{ID: k.ID, Status: k.Status})
	}
	return &plan.Plan{GeneratedAt: w.now(), Actions: []plan.Action{a}, Accounts: []string{w.acct}}
}

// awsState describes what keyrot could change for a user: keys, keyrot's
// tags and the secret's AWSCURRENT.
func (w *world) awsState(user string) string {
	w.t.Helper()
	out, err := w.iam.ListUserTags(context.Background(), &iam.ListUserTagsInput{UserName: aws.String(user)})
	if err != nil {
		w.t.Fatalf("tags: %v", err)
	}
	var tags []string
	for _, t := range out.Tags {
		tags = append(tags, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(tags)
	cur := "no secret"
	if v, err := w.current(user); err == nil {
		cur = "AWSCURRENT " + v.Value.AccessKeyID + " " + v.VersionID
	}
	return fmt.Sprintf("keys: %s\ntags: %s\nsecret: %s", keysText(w.keys(user)), strings.Join(tags, ", "), cur)
}

// applyForged applies p and checks that its one action was refused with
// want, with a detail containing each of details, and that nothing changed
// in AWS (no write call at all, the user's state the same).
func (w *world) applyForged(p *plan.Plan, want Status, details ...string) Outcome {
	w.t.Helper()
	user := p.Actions[0].User
	before, writes := w.awsState(user), w.calls.writes()
	res, err := w.executor(w.hist, "forged").Apply(context.Background(), p, Options{})
	if err != nil {
		w.t.Errorf("apply: %v", err)
	}
	if res == nil || len(res.Outcomes) != 1 {
		w.t.Fatalf("outcomes: %+v", res)
	}
	o := res.Outcomes[0]
	if o.Status != want {
		w.t.Errorf("status %s, want %s: %s", o.Status, want, o.Detail)
	}
	for _, d := range details {
		if !strings.Contains(o.Detail, d) {
			w.t.Errorf("detail %q does not say %q", o.Detail, d)
		}
	}
	if diff := cmp.Diff(before, w.awsState(user)); diff != "" {
		w.t.Errorf("AWS changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(writes, w.calls.writes()); diff != "" {
		w.t.Errorf("write calls were made (-before +after):\n%s", diff)
	}
	return o
}

func (w *world) setStatus(user, keyID string, st types.StatusType) {
	w.t.Helper()
	if _, err := w.iam.UpdateAccessKey(context.Background(), &iam.UpdateAccessKeyInput{UserName: aws.String(user),
		AccessKeyId: aws.String(keyID), Status: st}); err != nil {
		w.t.Fatalf("set %s %s: %v", keyID, st, err)
	}
}

// TestForgedDeleteOfActiveKey: keyrot deletes inactive keys only. Today's
// code checked the status only when the plan's gate asked it to.
func TestForgedDeleteOfActiveKey(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(200 * day)
	w.useKey(k)
	p := w.forge(plan.DeleteKey, "app1", k.ID, plan.Gate{}, nil)
	w.applyForged(p, Blocked, "Active", "keyrot deletes only inactive keys")
}

// TestForgedDeleteOfKeyFirstSeenInactiveTooSoon: a person deactivated an
// old key; keyrot first saw it inactive yesterday. Its deletion window runs
// from that first sighting (delete_after - deactivate_after, 10 days), not
// from what the plan's gate says.
func TestForgedDeleteOfKeyFirstSeenInactiveTooSoon(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(200 * day)
	w.useKey(k)
	w.advance(time.Hour)
	w.setStatus("app1", k.ID, types.StatusTypeInactive)
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil { // records the first sighting
		t.Fatal(err)
	}
	seen := w.now()
	if tg := w.tags("app1"); tg.DeactKey != k.ID {
		t.Fatalf("first sighting not recorded: %+v", tg)
	}
	w.advance(day)
	p := w.forge(plan.DeleteKey, "app1", k.ID, plan.Gate{UnusedSince: seen, RequireStatus: inventory.KeyInactive}, nil)
	w.applyForged(p, Blocked, "first seen inactive", seen.Format("2006-01-02"), "not before")
}

// TestForgedDeleteOfKeyUsedWhileInactive: a key keyrot first saw inactive
// was re-activated by hand, used, and deactivated again between two runs.
// Its last use is after keyrot's record of its deactivation: somebody holds
// and uses its secret. The forged gate claims a later deactivation.
func TestForgedDeleteOfKeyUsedWhileInactive(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(200 * day)
	w.setStatus("app1", k.ID, types.StatusTypeInactive)
	if _, _, err := w.cycle(w.executor(w.hist, "x"), Options{}); err != nil {
		t.Fatal(err)
	}
	w.advance(5 * day)
	w.setStatus("app1", k.ID, types.StatusTypeActive)
	w.useKey(k)
	w.setStatus("app1", k.ID, types.StatusTypeInactive)
	w.advance(6 * day)
	p := w.forge(plan.DeleteKey, "app1", k.ID, plan.Gate{UnusedSince: w.now(), RequireStatus: inventory.KeyInactive}, nil)
	o := w.applyForged(p, Blocked, "used after")
	if o.LastUsed == nil {
		t.Error("outcome does not carry the last use")
	}
}

// TestForgedDeactivateOfInUseKeyWithoutReplacement: two active keys, both
// in use, no rotation in progress. The forged plan names one with no usage
// gate; keyrot never chooses which key an application depends on.
func TestForgedDeactivateOfInUseKeyWithoutReplacement(t *testing.T) {
	w := newWorld(t, "app1")
	a := w.held["app1"]
	b := w.humanKey("app1")
	w.advance(20 * day)
	w.useKey(a)
	w.useKey(b)
	p := w.forge(plan.DeactivateKey, "app1", a.ID, plan.Gate{RequireStatus: inventory.KeyActive}, nil)
	w.applyForged(p, Blocked, "still in use", "no newer key keyrot created and stored")
}

// TestForgedDeactivateOfOnlyWorkingKey: the user's only active key was last
// used 20 days ago: not idle for unused_after (45 days), and no replacement
// exists. The forged gate is shaped like an unused-key gate.
func TestForgedDeactivateOfOnlyWorkingKey(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(100 * day)
	w.useKey(k)
	used := w.now()
	w.advance(20 * day)
	p := w.forge(plan.DeactivateKey, "app1", k.ID, plan.Gate{UnusedSince: used.Add(time.Second), RequireStatus: inventory.KeyActive}, nil)
	w.applyForged(p, Blocked, "only active key", "no newer key keyrot created and stored")
}

// TestForgedDeactivateWithoutUsageGate: a rotation is in progress and the
// application still uses the old key. The forged plan claims the rotation
// (new_key) but drops the gate's date; the executor's gate comes from the
// secret's version, not from the plan.
func TestForgedDeactivateWithoutUsageGate(t *testing.T) {
	w := newWorld(t, "app1")
	old := w.held["app1"]
	w.advance(90 * day)
	w.use("app1")
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	newKey := res.Outcomes[0].NewKeyID
	w.advance(11 * day)
	w.useKey(old) // the application never switched
	p := w.forge(plan.DeactivateKey, "app1", old.ID, plan.Gate{RequireStatus: inventory.KeyActive}, map[string]string{"new_key": newKey})
	w.applyForged(p, Blocked, "still in use")
}

// TestForgedDeactivateBeforeSwitchWindow: an hour after the new key was
// stored, the forged plan deactivates the old key (last used before the
// store, so the usage gate passes). Owners get deactivate_after -
// rotate_after (10 days) to switch.
func TestForgedDeactivateBeforeSwitchWindow(t *testing.T) {
	w := newWorld(t, "app1")
	old := w.held["app1"]
	w.advance(90 * day)
	w.use("app1")
	w.advance(time.Hour)
	_, res, err := w.cycle(w.executor(w.hist, "x"), Options{})
	if err != nil || res.Count(Succeeded) != 1 {
		t.Fatalf("rotation: %v %+v", err, res)
	}
	stored := w.now()
	w.follow("app1")
	w.advance(time.Hour)
	w.use("app1")
	p := w.forge(plan.DeactivateKey, "app1", old.ID, plan.Gate{UnusedSince: stored, RequireStatus: inventory.KeyActive},
		map[string]string{"new_key": res.Outcomes[0].NewKeyID})
	w.applyForged(p, Blocked, "not before", stored.Add(10*day).Format("2006-01-02"))
}

// TestForgedCreateForYoungKey: keyrot replaces a key at rotate_after (90
// days); a forged create for a 10-day-old key is refused.
func TestForgedCreateForYoungKey(t *testing.T) {
	w := newWorld(t, "app1")
	k := w.held["app1"]
	w.advance(10 * day)
	w.useKey(k)
	p := w.forge(plan.CreateKey, "app1", k.ID, plan.Gate{RequireStatus: inventory.KeyActive}, nil)
	w.applyForged(p, Blocked, "10 days old", "90d")
}

// TestForgedDeleteOrphanOfPersonsKey: a person created a second key for an
// application not deployed yet (never used, stored nowhere keyrot knows).
// No interrupted keyrot rotation marks it: it is not an orphan.
func TestForgedDeleteOrphanOfPersonsKey(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(30 * day)
	h := w.humanKey("app1")
	w.advance(2 * time.Hour)
	p := w.forge(plan.DeleteOrphan, "app1", h.ID, plan.Gate{}, nil)
	w.applyForged(p, Blocked, "pending")
}

// TestForgedUnknownKind: an action kind keyrot does not know is refused.
func TestForgedUnknownKind(t *testing.T) {
	w := newWorld(t, "app1")
	p := w.forge("reactivate-key", "app1", w.held["app1"].ID, plan.Gate{}, nil)
	w.applyForged(p, Blocked, "unknown action kind")
}
