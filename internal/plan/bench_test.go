package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// benchSnapshot is an organization of accounts x users, one key each, aged
// 0 to 399 days, every key used an hour ago.
func benchSnapshot(accounts, users int, now time.Time) *inventory.Snapshot {
	used := now.Add(-time.Hour)
	snap := &inventory.Snapshot{}
	for a := range accounts {
		acct := inventory.Account{ID: fmt.Sprintf("%012d", 300000000000+a), Name: fmt.Sprintf("bench-%04d", a), Status: inventory.AccountAudited}
		for u := range users {
			acct.Users = append(acct.Users, inventory.User{Name: fmt.Sprintf("svc-%04d", u), CreateDate: now.Add(-500 * 24 * time.Hour),
				Keys: []inventory.AccessKey{{ID: fmt.Sprintf("AKIA%016d", a*users+u), Status: inventory.KeyActive,
					CreateDate: now.Add(-time.Duration((a*users+u)%400) * 24 * time.Hour), LastUsed: &used, LastUsedKnown: true}}})
		}
		snap.Accounts = append(snap.Accounts, acct)
	}
	return snap
}

// BenchmarkBuild150k plans an organization of 1,000 accounts x 150 users
// (150,000 keys), about 77% of them past a lifecycle age.
func BenchmarkBuild150k(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	snap := benchSnapshot(1000, 150, now)
	in := Input{Snapshot: snap, Lifecycle: DefaultLifecycle(), Limits: Limits{MaxChanges: 1 << 30}}
	b.ResetTimer()
	for b.Loop() {
		p := Build(in, now)
		if len(p.Actions) == 0 {
			b.Fatal("no actions")
		}
	}
	b.ReportMetric(150000, "keys/op")
}
