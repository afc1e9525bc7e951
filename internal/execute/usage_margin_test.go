package execute

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// TestUsageGateMargin exercises the usage gate's 15-minute margin against
// IAM's last-use granularity, which the sandbox follows: when a key is used
// more than once in a 15-minute span, only the first use is recorded. The
// application uses its old key 5 minutes before the rotation stores the new
// one and again 2 minutes after; IAM shows only the first use, before the
// store. A history that does not hold the rotation's evidence (keyrot run
// from another machine) cannot tell that use from one hiding a later use,
// so the margin keeps the old key active; the history that read that very
// use live before creating the new key knows nothing was recorded since,
// and deactivates it.
func TestUsageGateMargin(t *testing.T) {
	w := newWorld(t, "app")
	ctx := context.Background()
	old := w.held["app"].ID
	lastUse := func() time.Time {
		t.Helper()
		out, err := w.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(old)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToTime(out.AccessKeyLastUsed.LastUsedDate)
	}
	w.advance(91 * day)
	if err := w.use("app"); err != nil {
		t.Fatal(err)
	}
	used := lastUse()
	w.advance(5 * time.Minute)
	if _, _, err := w.cycle(w.executor(w.hist, "rotate"), Options{}); err != nil {
		t.Fatal(err)
	}
	cur, err := w.current("app")
	if err != nil || cur.Value.AccessKeyID == old {
		t.Fatalf("no rotation: %+v %v", cur, err)
	}
	w.advance(2 * time.Minute)
	if err := w.use("app"); err != nil { // after the store, within the span of the first use
		t.Fatal(err)
	}
	if got := lastUse(); !got.Equal(used) {
		t.Fatalf("IAM recorded the use 7 minutes after the first (%v); want only the first (%v)", got, used)
	}
	if switched, err := w.follow("app"); err != nil || !switched {
		t.Fatalf("follow: %v %v", switched, err)
	}
	w.advance(10 * day)
	if err := w.use("app"); err != nil {
		t.Fatal(err)
	}

	deactivation := func(h *history.Store, owner string) Outcome {
		t.Helper()
		_, res, err := w.cycle(w.executor(h, owner), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Outcomes {
			if o.Kind == plan.DeactivateKey {
				return o
			}
		}
		t.Fatalf("no deactivation planned: %+v", res.Outcomes)
		return Outcome{}
	}
	other, err := history.Open(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if o := deactivation(other, "elsewhere"); o.Status != Blocked || !strings.Contains(o.Detail, "still in use after its replacement") {
		t.Fatalf("without the rotation's evidence: %s %s, want blocked as still in use", o.Status, o.Detail)
	}
	if o := deactivation(w.hist, "here"); o.Status != Succeeded {
		t.Fatalf("with the rotation's evidence: %s %s, want the old key deactivated", o.Status, o.Detail)
	}
	for _, k := range w.keys("app") {
		if k.ID == old && k.Status != inventory.KeyInactive {
			t.Errorf("old key %s", k.Status)
		}
	}
}
