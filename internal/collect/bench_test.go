package collect

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// BenchmarkCollectSyntheticOrg collects a generated organization (20
// accounts of 200 users) and reports the AWS calls made per audited account.
// The first, report-generating run is outside the timer: the benchmark
// measures collection against ready reports, as any run within IAM's
// four-hour report window is.
func BenchmarkCollectSyntheticOrg(b *testing.B) {
	srv := sandbox.New(sandbox.Options{})
	if err := srv.ApplyScenario(sandbox.GenerateScenario(20, 200, 1)); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	env := &sandboxtest.Env{Server: srv, URL: hs.URL}
	opts := sandboxOptions(env, retrying(env.Admin()))
	opts.ReportPoll = Poll{Initial: 500 * time.Millisecond, Max: time.Second, Attempts: 20}
	ctx := context.Background()
	if _, err := Collect(ctx, opts); err != nil {
		b.Fatal(err)
	}
	srv.ResetCallCounts()
	var audited int
	b.ResetTimer()
	for b.Loop() {
		snap, err := Collect(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		audited = 0
		for _, a := range snap.Accounts {
			if a.Status == inventory.AccountAudited {
				audited++
			}
		}
	}
	b.StopTimer()
	total := 0
	for _, m := range srv.CallCounts() {
		total += callTotal(m)
	}
	if audited > 0 {
		b.ReportMetric(float64(total)/float64(b.N)/float64(audited), "calls/account")
	}
}
