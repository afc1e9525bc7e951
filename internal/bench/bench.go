// Package bench measures keyrot at organization scale against the sandbox:
// it generates an organization (accounts, users, keys, the share of users
// due for rotation), sets a per-call latency and a per-account IAM rate
// limit that answers AWS's Throttling error, runs the real keyrot binary's
// audit and apply, and the per-user strategy most scripts use, and reports
// for each the AWS calls the sandbox counted, the floor for the workload,
// the wall time beside its lower bound, throttling, and the keyrot
// process's peak memory. docs/performance.md has the figures.
package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/keyrot/keyrot/internal/sandbox"
)

// Workload is one benchmark organization and its conditions.
type Workload struct {
	Accounts        int
	UsersPerAccount int
	// KeysPerUser is between 1 and 2: the share KeysPerUser-1 of users
	// hold a second key, that of a rotation in progress (Scenario).
	KeysPerUser float64
	// DueShare is the share of users whose key is past the rotation age;
	// FindingShare the share of the others with another finding (a
	// console password without MFA).
	DueShare, FindingShare float64
	// Latency is added to every AWS call.
	Latency time.Duration
	// RatePerAccount limits IAM calls per second in each account (0: none);
	// Burst is the bucket size.
	RatePerAccount float64
	Burst          int
	// AccountRates overrides RatePerAccount in some accounts: account
	// index (0 is the management account) to IAM calls per second, with a
	// burst of 1. The other accounts keep RatePerAccount.
	AccountRates map[int]float64
	// Concurrency is keyrot's --concurrency (accounts at once), also used
	// for the per-user strategy.
	Concurrency int
	Seed        uint64
}

// DefaultWorkload is a short form that runs in seconds.
func DefaultWorkload() Workload {
	return Workload{Accounts: 20, UsersPerAccount: 50, KeysPerUser: 1, DueShare: 0.05, FindingShare: 0.05,
		Latency: 25 * time.Millisecond, RatePerAccount: 20, Burst: 20, Concurrency: 16, Seed: 1}
}

// Validate checks the workload's ranges.
func (w Workload) Validate() error {
	switch {
	case w.Accounts < 1 || w.Accounts > 5000:
		return fmt.Errorf("accounts must be between 1 and 5000 (got %d)", w.Accounts)
	case w.UsersPerAccount < 1 || w.UsersPerAccount > 5000:
		return fmt.Errorf("users per account must be between 1 and 5000 (got %d)", w.UsersPerAccount)
	case w.KeysPerUser < 1 || w.KeysPerUser > 2:
		return fmt.Errorf("keys per user must be between 1 and 2 (got %g)", w.KeysPerUser)
	case w.DueShare < 0 || w.DueShare > 1 || w.FindingShare < 0 || w.FindingShare > 1:
		return fmt.Errorf("shares must be between 0 and 1 (due %g, findings %g)", w.DueShare, w.FindingShare)
	case w.Latency < 0 || w.RatePerAccount < 0 || w.Burst < 0:
		return fmt.Errorf("latency, rate and burst must not be negative")
	case w.Concurrency < 1 || w.Concurrency > 64:
		return fmt.Errorf("concurrency must be between 1 and 64 (got %d)", w.Concurrency)
	}
	for i, r := range w.AccountRates {
		if i < 0 || i >= w.Accounts || r <= 0 {
			return fmt.Errorf("account rate override %d=%g: the account index must be between 0 and %d and the rate positive", i, r, w.Accounts-1)
		}
	}
	return nil
}

// AccountID is the ID of the workload organization's account i (0 is the
// management account).
func AccountID(i int) string { return fmt.Sprintf("%012d", 300000000000+i) }

// Presets are the named conditions docs/performance.md measures, applied
// to a workload by ApplyPreset.
var Presets = map[string]string{
	"halved":      "the per-account IAM rate limit and burst halved (10 calls/s, burst 10 by default)",
	"hot-account": "account 1 throttles hard (1 IAM call/s, burst 1) while the others keep the full rate",
}

// ApplyPreset changes w for the named preset.
func ApplyPreset(name string, w *Workload) error {
	switch name {
	case "halved":
		w.RatePerAccount /= 2
		w.Burst = max(w.Burst/2, 1)
	case "hot-account":
		if w.Accounts < 2 {
			return fmt.Errorf("preset hot-account needs at least 2 accounts")
		}
		w.AccountRates = map[int]float64{1: 1}
	default:
		return fmt.Errorf("unknown preset %q (want halved or hot-account)", name)
	}
	return nil
}

// Scenario builds the workload's organization: the management account and
// Accounts-1 members under the root, each with UsersPerAccount service
// users; due users' keys are 95 days old, the others' 10 days; every key
// was used an hour ago. A share KeysPerUser-1 of the users hold a second
// key, as a rotation leaves it: a user not due rotated 5 days ago (its new
// key is 5 days old, the previous one, 95 days old, inactive and last used
// 6 days ago), a due user has just been given a new key (5 days old,
// active, beside its 95-day-old one). The same workload always gives the
// same scenario.
func Scenario(w Workload) *sandbox.Scenario {
	rng := rand.New(rand.NewPCG(w.Seed, w.Seed^0xbe9c))
	acct := func(i int) sandbox.ScenarioAccount {
		a := sandbox.ScenarioAccount{
			ID: AccountID(i), Name: fmt.Sprintf("bench-%04d", i),
			Email: fmt.Sprintf("aws+bench%04d@example.com", i), Root: sandbox.ScenarioRoot{MFA: true},
		}
		for j := range w.UsersPerAccount {
			u := sandbox.ScenarioUser{Name: fmt.Sprintf("svc-%04d", j), Path: "/service/", Created: "400d",
				Tags: map[string]string{"owner": "team@example.com"}}
			due := false
			switch r := rng.Float64(); {
			case r < w.DueShare:
				due = true
			case r < w.DueShare+w.FindingShare:
				u.Console = &sandbox.ScenarioConsole{Created: "200d", PasswordLastUsed: "2d"}
			}
			second := rng.Float64() < w.KeysPerUser-1
			key := func(age, status, used string) sandbox.ScenarioKey {
				return sandbox.ScenarioKey{Age: age, Status: status, LastUsed: used, Service: "s3", Region: "us-east-1"}
			}
			switch {
			case due && second:
				u.Keys = append(u.Keys, key("95d", "", "1h"), key("5d", "", "1h"))
			case due:
				u.Keys = append(u.Keys, key("95d", "", "1h"))
			case second:
				u.Keys = append(u.Keys, key("95d", "Inactive", "6d"), key("5d", "", "1h"))
			default:
				u.Keys = append(u.Keys, key("10d", "", "1h"))
			}
			a.Users = append(a.Users, u)
		}
		return a
	}
	sc := &sandbox.Scenario{Name: fmt.Sprintf("bench-%dx%d", w.Accounts, w.UsersPerAccount),
		Description: fmt.Sprintf("benchmark organization: %d accounts x %d users, %.0f%% due", w.Accounts, w.UsersPerAccount, 100*w.DueShare)}
	sc.Organization.ID = "o-bench00001"
	sc.Organization.Management = acct(0)
	for i := 1; i < w.Accounts; i++ {
		sc.Accounts = append(sc.Accounts, acct(i))
	}
	return sc
}
