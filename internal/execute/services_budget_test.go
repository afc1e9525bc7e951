package execute

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/plan"
)

// TestServiceCallBudget is the call budget of one service-specific
// credential's rotation, step by step (docs/performance.md lists the same
// counts), for git's CodeCommit credential, its application following its
// secret. A new call in a step fails this test until the budget and the
// document say why it is needed.
func TestServiceCallBudget(t *testing.T) {
	w := newSvcWorld(t)
	ctx := context.Background()
	want := map[plan.Kind]map[string]int{
		plan.CreateServiceCredential: {
			// Gate: the user's credentials of the service and the secret's
			// records (ListServiceSpecificCredentials, DescribeSecret).
			// Mark the creation pending on the secret, creating it on the
			// first rotation (DescribeSecret, CreateSecret with the mark).
			// Create the credential. Store: PutResourcePolicy,
			// PutSecretValue, TagResource (credential ID, date); just before
			// PutSecretValue, still this run's creation
			// (ListServiceSpecificCredentials, DescribeSecret). Clear the
			// mark if still this run's (DescribeSecret, UntagResource).
			// Check: IAM lists it active, the secret reads back equal
			// (ListServiceSpecificCredentials, GetSecretValue).
			"ListServiceSpecificCredentials": 3, "DescribeSecret": 4, "CreateSecret": 1, "CreateServiceSpecificCredential": 1,
			"PutResourcePolicy": 1, "PutSecretValue": 1, "TagResource": 1, "UntagResource": 1, "GetSecretValue": 1,
		},
		plan.DeactivateServiceCredential: {
			// Gate: credentials, records, the stored replacement
			// (GetSecretValue). Act: the deactivation's record first
			// (TagResource), the replacement re-read just before
			// (ListServiceSpecificCredentials), UpdateServiceSpecificCredential.
			"ListServiceSpecificCredentials": 2, "DescribeSecret": 1, "GetSecretValue": 1, "TagResource": 1, "UpdateServiceSpecificCredential": 1,
		},
		plan.DeleteServiceCredential: {
			// Gate: credentials, records, the stored replacement. Act:
			// DeleteServiceSpecificCredential, then clear the deactivation
			// record if unchanged (DescribeSecret, UntagResource).
			"ListServiceSpecificCredentials": 1, "DescribeSecret": 2, "GetSecretValue": 1, "DeleteServiceSpecificCredential": 1, "UntagResource": 1,
		},
	}
	got := map[plan.Kind]map[string]int{}
	for d := 0; d <= 110; d++ {
		snap := w.snapshot()
		ex := w.executor("budget")
		recs, err := ex.GatherServices(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		svcs := w.services()
		svcs.Records = recs
		p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Services: &svcs}, w.now())
		p.Actions = slices.DeleteFunc(p.Actions, func(a plan.Action) bool { return !plan.ServiceKind(a.Kind) || a.User != "git" })
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
		w.follow("git")
		w.advance(day)
	}
	t.Logf("calls by step: %v", got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls per lifecycle step (-budget +got):\n%s", diff)
	}
}
