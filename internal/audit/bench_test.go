package audit

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// BenchmarkEvaluate150k judges an organization of 1,000 accounts x 150
// users (150,000 keys aged 0 to 399 days) against the default policy.
func BenchmarkEvaluate150k(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	used := now.Add(-time.Hour)
	snap := &inventory.Snapshot{}
	for a := range 1000 {
		acct := inventory.Account{ID: fmt.Sprintf("%012d", 300000000000+a), Name: fmt.Sprintf("bench-%04d", a), Status: inventory.AccountAudited}
		for u := range 150 {
			acct.Users = append(acct.Users, inventory.User{Name: fmt.Sprintf("svc-%04d", u), CreateDate: now.Add(-500 * 24 * time.Hour),
				Keys: []inventory.AccessKey{{ID: fmt.Sprintf("AKIA%016d", a*150+u), Status: inventory.KeyActive,
					CreateDate: now.Add(-time.Duration((a*150+u)%400) * 24 * time.Hour), LastUsed: &used, LastUsedKnown: true}}})
		}
		snap.Accounts = append(snap.Accounts, acct)
	}
	p := policy.Default()
	b.ResetTimer()
	for b.Loop() {
		if res := Evaluate(p, snap, now); len(res.Findings) == 0 {
			b.Fatal("no findings")
		}
	}
	b.ReportMetric(150000, "keys/op")
}
