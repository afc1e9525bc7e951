package execute

import (
	"context"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/plan"
)

// TestApplyCallBudget is the call budget of one key's rotation, step by
// step (docs/performance.md lists the same counts): the AWS calls the
// executor makes for the create, deactivate and delete actions of one user
// whose application switches to the new key as soon as it is stored. A
// new call in a step fails this test until the budget and the document say
// why it is needed.
func TestApplyCallBudget(t *testing.T) {
	w := newWorld(t, "app1")
	ctx := context.Background()
	want := map[plan.Kind]map[string]int{
		plan.CreateKey: {
			// Gate: the user's keys, tags and the secret's current version
			// as the plan saw them: ListAccessKeys, ListUserTags, GetSecretValue;
			// the replaced key's last use, live, journaled as the later
			// deactivation's usage evidence: GetAccessKeyLastUsed.
			// Mark the rotation pending, create the key: TagUser, CreateAccessKey.
			// Store: CreateSecret, DescribeSecret, PutResourcePolicy,
			// PutSecretValue, TagResource; before DescribeSecret and again
			// before PutSecretValue, still this run's rotation (the key
			// exists, the pending mark is this run's, the secret's version
			// unchanged): ListAccessKeys, ListUserTags, GetSecretValue twice.
			// Clear the mark if it is still this run's: ListUserTags, UntagUser.
			// Prove the key authenticates: GetCallerIdentity signed with it.
			"ListAccessKeys": 3, "ListUserTags": 4, "GetSecretValue": 3, "GetAccessKeyLastUsed": 1, "TagUser": 1, "CreateAccessKey": 1,
			"CreateSecret": 1, "DescribeSecret": 1, "PutResourcePolicy": 1, "PutSecretValue": 1, "TagResource": 1,
			"UntagUser": 1, "GetCallerIdentity": 1,
		},
		plan.DeactivateKey: {
			// Gate: keys and tags; the secret's current version holds the
			// new key and the new key authenticates (GetSecretValue,
			// GetCallerIdentity); the old key's last use, live
			// (GetAccessKeyLastUsed). Act: re-read keys and the secret just
			// before, UpdateAccessKey, TagUser (keyrot:deactivated).
			"ListAccessKeys": 2, "ListUserTags": 1, "GetSecretValue": 2, "GetCallerIdentity": 1,
			"GetAccessKeyLastUsed": 1, "UpdateAccessKey": 1, "TagUser": 1,
		},
		plan.DeleteKey: {
			// Gate: keys, tags, the key's last use, live. Act:
			// DeleteAccessKey, then clear keyrot:deactivated (ListUserTags,
			// UntagUser).
			"ListAccessKeys": 1, "ListUserTags": 2, "GetAccessKeyLastUsed": 1, "DeleteAccessKey": 1, "UntagUser": 1,
		},
	}
	got := map[plan.Kind]map[string]int{}
	for d := 0; d <= 110; d++ {
		if err := w.use("app1"); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		snap := w.snapshot()
		ex := w.executor(w.hist, "budget")
		lc := plan.DefaultLifecycle()
		rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter})
		if err != nil {
			t.Fatal(err)
		}
		p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now())
		w.calls.mu.Lock()
		before := maps.Clone(w.calls.counts)
		w.calls.mu.Unlock()
		res, err := ex.Apply(ctx, p, Options{})
		if err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		w.calls.mu.Lock()
		after := maps.Clone(w.calls.counts)
		w.calls.mu.Unlock()
		if len(res.Outcomes) == 1 && res.Outcomes[0].Status == Succeeded {
			diff := map[string]int{}
			for op, n := range after {
				if n > before[op] {
					diff[op] = n - before[op]
				}
			}
			got[res.Outcomes[0].Kind] = diff
		} else if len(res.Outcomes) > 0 {
			t.Fatalf("day %d: outcomes %+v", d, res.Outcomes)
		}
		if d >= 90 {
			if _, err := w.follow("app1"); err != nil {
				t.Fatalf("day %d: follow: %v", d, err)
			}
		}
		w.advance(day)
	}
	t.Logf("calls by step: %v", got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls per lifecycle step (-budget +got):\n%s", diff)
	}
}
