package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

func TestSummarize(t *testing.T) {
	unknown := key("AKIAUNKNOWN00001", 10, -1)
	unknown.LastUsedKnown = false
	s := snapshot(
		user("fresh", key("AKIAFRESH0000001", 10, 1)),
		user("old", key("AKIAOLD000000001", 120, 1)),
		user("exempt", key("AKIAEXEMPT000001", 120, 1)),
		user("unknown", unknown),
	)
	p := policy.Default()
	p.Exemptions = []policy.Exemption{exemption(policy.Match{User: "exempt"})}
	sum := Summarize(Evaluate(p, s, now))
	got := map[string]ControlSummary{}
	for _, c := range sum.Controls {
		got[c.Framework+" "+c.Control] = c
	}
	// IAM.3: four active keys, one fails (old); exempt counts as passing.
	want := ControlSummary{Framework: FrameworkSecurityHub, Control: "IAM.3", Evaluated: 4, Passing: 3, Failing: 1, Exempt: 1, Percent: 75}
	if diff := cmp.Diff(want, got[FrameworkSecurityHub+" IAM.3"]); diff != "" {
		t.Errorf("IAM.3 (-want +got):\n%s", diff)
	}
	// IAM.22: the unknown key can never pass.
	want = ControlSummary{Framework: FrameworkSecurityHub, Control: "IAM.22", Evaluated: 4, Passing: 3, Failing: 1, Unknown: 1, Percent: 75}
	if diff := cmp.Diff(want, got[FrameworkSecurityHub+" IAM.22"]); diff != "" {
		t.Errorf("IAM.22 (-want +got):\n%s", diff)
	}
	// Root: one root user, MFA on, no keys.
	want = ControlSummary{Framework: FrameworkCISv5, Control: "1.3", Evaluated: 1, Passing: 1, Percent: 100}
	if diff := cmp.Diff(want, got[FrameworkCISv5+" 1.3"]); diff != "" {
		t.Errorf("CIS v5 1.3 (-want +got):\n%s", diff)
	}
	var order []string
	for _, c := range sum.Controls {
		if c.Framework == FrameworkCISv3 {
			order = append(order, c.Control)
		}
	}
	if diff := cmp.Diff([]string{"1.4", "1.5", "1.11", "1.12", "1.13", "1.14"}, order); diff != "" {
		t.Errorf("CIS v3 control order (-want +got):\n%s", diff)
	}
}

func TestKeyAgeHistogram(t *testing.T) {
	s := snapshot(
		user("a", key("K1", 0, 0), key("K2", 30, 0), key("K3", 31, 0)),
		user("b", key("K4", 90, 0), key("K5", 91, 0), inactive(key("K6", 400, -1))),
		user("c", key("K7", 365, 0), key("K8", 366, 0)),
	)
	s.Accounts[0].Root.Keys = []inventory.AccessKey{key("R1", 200, 0)}
	s.Accounts = append(s.Accounts, inventory.Account{ID: "222222222222", Status: inventory.AccountFailed})
	got := KeyAgeHistogram(Evaluate(policy.Default(), s, now))
	if len(got) != 1 {
		t.Fatalf("got %d histograms, want 1 (failed accounts have none)", len(got))
	}
	var counts []int
	for _, b := range got[0].Buckets {
		counts = append(counts, b.Count)
	}
	if diff := cmp.Diff([]int{2, 1, 1, 1, 2, 1}, counts); diff != "" {
		t.Errorf("bucket counts (-want +got):\n%s", diff)
	}
	if got[0].AccountID != acct || got[0].Buckets[5].Label != ">365" {
		t.Errorf("histogram = %+v", got[0])
	}
}

// TestComplianceTallyEqualsChecks: the tally Evaluate keeps account by
// account gives the summary the full list of checks gives, on accounts
// with passing, failing, exempt, unknown and root checks, a failed
// account and users in several accounts with the same name.
func TestComplianceTallyEqualsChecks(t *testing.T) {
	unknown := key("AKIAUNKNOWN00001", 10, -1)
	unknown.LastUsedKnown = false
	console := user("console", key("AKIACONSOLE00001", 200, 100), inactive(key("AKIACONSOLE00002", 300, -1)))
	console.Password = &inventory.Password{Enabled: true, LastUsed: ptr(daysAgo(120))}
	s := snapshot(
		user("fresh", key("AKIAFRESH0000001", 10, 1)),
		user("old", key("AKIAOLD000000001", 120, 1)),
		user("exempt", key("AKIAEXEMPT000001", 120, 1)),
		user("unknown", unknown),
		console,
	)
	second := s.Accounts[0]
	second.ID = "222222222222"
	second.Root = &inventory.Root{MFAActive: false, Keys: []inventory.AccessKey{key("AKIAROOT00000001", 400, 2)}}
	s.Accounts = append(s.Accounts, second, inventory.Account{ID: "333333333333", Status: inventory.AccountFailed, Reason: "AccessDenied"})
	p := policy.Default()
	p.Exemptions = []policy.Exemption{exemption(policy.Match{User: "exempt"})}

	kept := evaluate(p, s, now, true)
	if len(kept.Checks) == 0 {
		t.Fatal("no checks kept")
	}
	want := Summarize(&Result{Checks: kept.Checks})
	res := Evaluate(p, s, now)
	if len(res.Checks) != 0 || res.Compliance == nil {
		t.Fatalf("Evaluate kept %d checks and compliance %v, want none and a tally", len(res.Checks), res.Compliance)
	}
	if diff := cmp.Diff(want, Summarize(res)); diff != "" {
		t.Errorf("tallied summary differs from the checks' (-checks +tally):\n%s", diff)
	}
	if diff := cmp.Diff(kept.Findings, res.Findings); diff != "" {
		t.Errorf("findings differ when checks are kept (-kept +tally):\n%s", diff)
	}
}
