package execute

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/plan"
)

// Helpers of the safety-review regression tests (compensate_test.go,
// orphan_test.go, gates_test.go): each of those tests first failed against
// the code it guards.

// humanKey creates a key for user the way a person would, outside keyrot.
func (w *world) humanKey(user string) heldKey {
	w.t.Helper()
	out, err := w.iam.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		w.t.Fatalf("create key for %s: %v", user, err)
	}
	k := heldKey{ID: aws.ToString(out.AccessKey.AccessKeyId), Secret: aws.ToString(out.AccessKey.SecretAccessKey)}
	w.known[k.ID] = k.Secret
	return k
}

// useKey signs a call with k, so IAM records a use of it.
func (w *world) useKey(k heldKey) {
	w.t.Helper()
	if _, err := sts.NewFromConfig(w.keyConfig(k.ID, k.Secret)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		w.t.Fatalf("use key %s: %v", k.ID, err)
	}
}

func crashAt(step string) func(string) error {
	return func(s string) error {
		if s == step {
			return errDie
		}
		return nil
	}
}

// savePlan is keyrot plan --out-file: a read-only plan, through JSON.
func (w *world) savePlan(ex *Executor) *plan.Plan {
	w.t.Helper()
	snap := w.snapshot()
	lc := plan.DefaultLifecycle()
	rots, err := ex.Gather(context.Background(), snap, GatherOptions{RotateAfter: lc.RotateAfter, ReadOnly: true})
	if err != nil {
		w.t.Fatal(err)
	}
	b, err := json.Marshal(plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now()))
	if err != nil {
		w.t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		w.t.Fatal(err)
	}
	return &p
}

// setTag sets a user tag, as a person or an earlier keyrot would.
func (w *world) setTag(user, key, value string) {
	w.t.Helper()
	if err := tagUser(context.Background(), w.iam, user, key, value); err != nil {
		w.t.Fatal(err)
	}
}
