package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunShort is the CI form of keyrot bench: a small organization with
// latency and a rate limit. keyrot's audit stays within 1.2x of the floor
// and far below the per-user strategy, apply rotates every due key without
// failures, and the table names every strategy. Times are printed, never
// asserted.
func TestRunShort(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "keyrot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/keyrot")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build keyrot: %v\n%s", err, out)
	}
	// Account 2 throttles hard: its calls are paced by the adaptive
	// retryer, and the run still ends without failures.
	w := Workload{Accounts: 6, UsersPerAccount: 40, KeysPerUser: 1, DueShare: 0.1, FindingShare: 0.1,
		Latency: 2 * time.Millisecond, RatePerAccount: 200, Burst: 50, AccountRates: map[int]float64{2: 40}, Concurrency: 4, Seed: 3}
	ms, err := Run(context.Background(), w, bin)
	if err != nil {
		t.Fatal(err)
	}
	audit, perUser, apply := ms[0], ms[1], ms[2]
	if audit.Failed != 0 || apply.Failed != 0 || perUser.Failed != 0 {
		t.Errorf("failures: audit %d, per-user %d, apply %d", audit.Failed, perUser.Failed, apply.Failed)
	}
	if audit.Floor == 0 || float64(audit.Calls) > 1.2*float64(audit.Floor) {
		t.Errorf("keyrot audit: %d calls for a floor of %d (want <= 1.2x)", audit.Calls, audit.Floor)
	}
	// The per-user strategy reads access keys only: compare it with the
	// calls keyrot's audit makes for them, without those that inventory
	// the other credential kinds (which it adds per account, not per user).
	keyCalls := audit.Calls
	for _, op := range otherKindOps {
		keyCalls -= audit.ByOp[op]
	}
	if perUser.Calls < 5*keyCalls {
		t.Errorf("per-user strategy: %d calls, keyrot audit %d for access keys: want keyrot at least 5x cheaper", perUser.Calls, keyCalls)
	}
	if apply.Actions == 0 {
		t.Error("apply changed nothing")
	}
	if apply.LowerBound <= 0 || audit.LowerBound <= 0 {
		t.Errorf("lower bounds: audit %s, apply %s", audit.LowerBound, apply.LowerBound)
	}
	if audit.Throttled+apply.Throttled == 0 {
		t.Error("the overridden account was never throttled: the override is not in force")
	}
	var b strings.Builder
	if err := WriteTable(&b, w, ms); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"keyrot audit", "per-user audit", "keyrot apply", "calls by operation", "overridden accounts"} {
		if !strings.Contains(b.String(), name) {
			t.Errorf("table lacks %q:\n%s", name, b.String())
		}
	}
	t.Log("\n" + b.String())
	_ = os.Remove(bin)
}

// otherKindOps are the audit's calls for credentials other than access
// keys: service-specific credentials, the password policy, server and ACM
// certificates, trust anchors.
var otherKindOps = []string{"iam:ListServiceSpecificCredentials", "iam:GetAccountPasswordPolicy", "iam:ListServerCertificates", "acm:ListCertificates",
	"rolesanywhere:ListTrustAnchors"}

// TestWorkloadValidate: out-of-range workloads are refused with the field.
func TestWorkloadValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Workload)
		want string
	}{
		{func(w *Workload) { w.Accounts = 0 }, "accounts"},
		{func(w *Workload) { w.KeysPerUser = 3 }, "keys per user"},
		{func(w *Workload) { w.DueShare = 1.5 }, "shares"},
		{func(w *Workload) { w.Concurrency = 0 }, "concurrency"},
		{func(w *Workload) { w.AccountRates = map[int]float64{20: 1} }, "account rate override"},
		{func(w *Workload) { w.AccountRates = map[int]float64{1: 0} }, "account rate override"},
	} {
		w := DefaultWorkload()
		tc.edit(&w)
		if err := w.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want an error about %s", err, tc.want)
		}
	}
	if err := DefaultWorkload().Validate(); err != nil {
		t.Errorf("default workload: %v", err)
	}
}

// TestApplyPreset: the presets change what docs/performance.md says they
// change, and an unknown one is refused.
func TestApplyPreset(t *testing.T) {
	w := DefaultWorkload()
	if err := ApplyPreset("halved", &w); err != nil || w.RatePerAccount != 10 || w.Burst != 10 {
		t.Errorf("halved: rate %g burst %d, err %v; want 10, 10", w.RatePerAccount, w.Burst, err)
	}
	w = DefaultWorkload()
	if err := ApplyPreset("hot-account", &w); err != nil || len(w.AccountRates) != 1 || w.AccountRates[1] != 1 || w.RatePerAccount != 20 {
		t.Errorf("hot-account: %+v, err %v", w, err)
	}
	if err := w.Validate(); err != nil {
		t.Errorf("hot-account workload: %v", err)
	}
	if err := ApplyPreset("fast", &w); err == nil {
		t.Error("unknown preset accepted")
	}
	for name := range Presets {
		w := DefaultWorkload()
		if err := ApplyPreset(name, &w); err != nil {
			t.Errorf("documented preset %s: %v", name, err)
		}
	}
}
