package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// compliantOrg is an organization with nothing to report: young keys in
// daily use, no console passwords, root with MFA and no keys, a password
// policy as strong as CIS asks.
func compliantOrg(accounts, users int) *sandbox.Scenario {
	acct := func(i int) sandbox.ScenarioAccount {
		a := sandbox.ScenarioAccount{
			ID: fmt.Sprintf("%012d", 200000000000+i), Name: fmt.Sprintf("acct-%03d", i),
			Email: fmt.Sprintf("aws+%03d@example.com", i), Root: sandbox.ScenarioRoot{MFA: true},
			PasswordPolicy: &sandbox.ScenarioPasswordPolicy{MinimumLength: 14, ReusePrevention: 24,
				RequireSymbols: true, RequireNumbers: true, RequireUppercase: true, RequireLowercase: true},
		}
		for j := range users {
			a.Users = append(a.Users, sandbox.ScenarioUser{
				Name: fmt.Sprintf("svc-%03d", j), Created: "30d",
				Keys: []sandbox.ScenarioKey{{Age: "10d", LastUsed: "1d", Service: "s3", Region: "us-east-1"}},
			})
		}
		return a
	}
	sc := &sandbox.Scenario{Name: "compliant"}
	sc.Organization.Management = acct(0)
	for i := 1; i < accounts; i++ {
		sc.Accounts = append(sc.Accounts, acct(i))
	}
	return sc
}

// auditCalls audits a compliant organization and returns the IAM and STS
// calls made per audited account.
func auditCalls(tb testing.TB, accounts, users int) (perAccount map[string]int, total int) {
	tb.Helper()
	env := sandboxtest.Start(tb, "")
	r := scenarioApp(tb, env, compliantOrg(accounts, users))
	res, err := r.Audit(context.Background(), AuditRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(res.Findings) != 0 {
		tb.Fatalf("compliant organization has %d findings, first %+v", len(res.Findings), res.Findings[0])
	}
	perAccount = map[string]int{}
	mgmt := env.Server.ManagementAccountID()
	for acct, ops := range env.Server.CallCounts() {
		for op, n := range ops {
			svc, name, _ := strings.Cut(op, ":")
			if svc != "iam" && svc != "sts" {
				continue
			}
			total += n
			if svc == "sts" && name == "AssumeRole" && acct == mgmt {
				continue // made by the management account, on behalf of a member
			}
			perAccount[acct] += n
		}
	}
	return perAccount, total
}

// scenarioApp loads sc into env's sandbox, with credential reports built
// at once, and returns an App with the default policy that polls for them
// briefly.
func scenarioApp(tb testing.TB, env *sandboxtest.Env, sc *sandbox.Scenario) *App {
	tb.Helper()
	if err := env.Server.ApplyScenario(sc); err != nil {
		tb.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)
	return &App{Policy: policy.Default(), AWS: env.Admin(), CollectOptions: func(o *collect.Options) {
		o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
	}}
}

// iamKindCalls are the calls per account of the other credential kinds
// and the password policy: ListServiceSpecificCredentials for CodeCommit,
// Keyspaces and Bedrock, and GetAccountPasswordPolicy.
const iamKindCalls = 4

// TestAuditCallBudget: a compliant 500-user account costs at most 5 IAM and
// STS calls for its access keys, passwords and root user, and iamKindCalls
// for the other kinds; an organization of 200 accounts stays near that
// bound per account (AssumeRole counted once per member).
func TestAuditCallBudget(t *testing.T) {
	perAccount, _ := auditCalls(t, 1, 500)
	for acct, n := range perAccount {
		if n > 5+iamKindCalls {
			t.Errorf("500-user compliant account %s cost %d IAM/STS calls, want <= %d", acct, n, 5+iamKindCalls)
		}
	}
	accounts := 200
	if testing.Short() {
		accounts = 40
	}
	perAccount, total := auditCalls(t, accounts, 20)
	if len(perAccount) != accounts {
		t.Fatalf("calls seen in %d accounts, want %d", len(perAccount), accounts)
	}
	for acct, n := range perAccount {
		if n > 4+iamKindCalls {
			t.Errorf("account %s: %d IAM calls, want <= %d", acct, n, 4+iamKindCalls)
		}
	}
	if avg := float64(total) / float64(accounts); avg > 5.5+iamKindCalls {
		t.Errorf("%d IAM/STS calls for %d accounts: %.2f per account, want <= %.1f", total, accounts, avg, 5.5+iamKindCalls)
	}
	t.Logf("%d accounts: %d IAM/STS calls, %.2f per account", accounts, total, float64(total)/float64(accounts))
}

// BenchmarkAuditCompliantOrg measures a whole-organization audit of 200
// compliant accounts of 50 users through the real SDK and the sandbox.
func BenchmarkAuditCompliantOrg(b *testing.B) {
	for b.Loop() {
		_, total := auditCalls(b, 200, 50)
		b.ReportMetric(float64(total)/200, "calls/account")
	}
}

// BenchmarkAuditSyntheticOrg audits a generated organization full of
// findings (20 accounts of 200 users, keys 1 to 500 days old) the way
// keyrot audit does, and reports the AWS calls per account: users with a
// finding cost their live key and tag look-ups, compliant ones nothing.
func BenchmarkAuditSyntheticOrg(b *testing.B) {
	for b.Loop() {
		env := sandboxtest.Start(b, "")
		if err := env.Server.ApplyScenario(sandbox.GenerateScenario(20, 200, 1)); err != nil {
			b.Fatal(err)
		}
		env.Server.SetReportBuildTime(0)
		r := &App{Policy: policy.Default(), AWS: env.Admin(), CollectOptions: func(o *collect.Options) {
			o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
		}}
		res, err := r.Audit(context.Background(), AuditRequest{})
		if err != nil {
			b.Fatal(err)
		}
		total, audited := 0, 0
		for _, ops := range env.Server.CallCounts() {
			for op, n := range ops {
				if svc, _, _ := strings.Cut(op, ":"); svc == "iam" || svc == "sts" {
					total += n
				}
			}
		}
		for _, a := range res.Snapshot.Accounts {
			if a.Status == "audited" {
				audited++
			}
		}
		b.ReportMetric(float64(total)/float64(audited), "calls/account")
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}

// TestAuditCallBudgetFindingsHeavy: in an organization full of findings, an
// audit reads last use from the credential report and tags and groups from
// one authorization-details listing per account: no GetAccessKeyLastUsed,
// no per-user tag or group call, one ListAccessKeys per user whose
// findings name a key. Its findings are the same as a --fresh audit's,
// which reads all of that live.
func TestAuditCallBudgetFindingsHeavy(t *testing.T) {
	accounts, users := 6, 60
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sandbox.GenerateScenario(accounts, users, 7)); err != nil {
		t.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)
	now := env.Server.Clock().Now()
	audit := func(fresh bool) *AuditResult {
		t.Helper()
		r := &App{Policy: policy.Default(), AWS: env.Admin(), Now: func() time.Time { return now }, CollectOptions: func(o *collect.Options) {
			o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
		}}
		res, err := r.Audit(context.Background(), AuditRequest{Scope: Scope{Fresh: fresh}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := audit(false)
	counts := env.Server.CallCounts()
	withKeyIDs := map[string]map[string]bool{}
	for _, f := range res.Findings {
		if f.KeyID != "" {
			if withKeyIDs[f.AccountID] == nil {
				withKeyIDs[f.AccountID] = map[string]bool{}
			}
			withKeyIDs[f.AccountID][f.User] = true
		}
	}
	audited := 0
	for _, a := range res.Snapshot.Accounts {
		if a.Status != "audited" {
			continue
		}
		audited++
		ops := counts[a.ID]
		for _, op := range []string{"iam:GetAccessKeyLastUsed", "iam:ListUserTags", "iam:ListGroupsForUser", "iam:ListUsers"} {
			if ops[op] != 0 {
				t.Errorf("account %s: %d %s calls, want none", a.ID, ops[op], op)
			}
		}
		if n := ops["iam:GetAccountAuthorizationDetails"]; n != 1 {
			t.Errorf("account %s: %d GetAccountAuthorizationDetails pages, want 1", a.ID, n)
		}
		// The secrets inventory is one list in keyrot's region, which also
		// gives the rotation records (the store is the account's own).
		if n, want := ops["secretsmanager:ListSecrets"], 1; n != want {
			t.Errorf("account %s: %d ListSecrets pages, want %d", a.ID, n, want)
		}
		// One list call per other kind: server certificates, ACM
		// certificates, trust anchors; no region discovery, as the policy
		// reads keyrot's region only.
		for _, op := range []string{"iam:ListServerCertificates", "acm:ListCertificates", "rolesanywhere:ListTrustAnchors"} {
			if ops[op] != 1 {
				t.Errorf("account %s: %d %s calls, want 1", a.ID, ops[op], op)
			}
		}
		if n := ops["account:ListRegions"]; n != 0 {
			t.Errorf("account %s: %d ListRegions calls, want none", a.ID, n)
		}
		for _, op := range []string{"acm:DescribeCertificate", "secretsmanager:DescribeSecret"} {
			if ops[op] != 0 {
				t.Errorf("account %s: %d %s calls, want none (the list calls carry every fact)", a.ID, ops[op], op)
			}
		}
		// Users with two keys or an inactive key are resolved too (the
		// planner acts on them); never more than the users holding keys.
		need := len(withKeyIDs[a.ID])
		if n := ops["iam:ListAccessKeys"]; n < need || n > len(a.Users) {
			t.Errorf("account %s: %d ListAccessKeys, want between %d (users whose findings name a key) and %d", a.ID, n, need, len(a.Users))
		}
	}
	if audited < accounts-2 {
		t.Fatalf("only %d of %d accounts audited", audited, accounts)
	}

	key := func(r *AuditResult) map[string]bool {
		m := map[string]bool{}
		for _, f := range r.Findings {
			m[f.AccountID+"/"+f.User+"/"+f.KeyID+"/"+string(f.Rule)+"/"+fmt.Sprint(f.Exempt)] = true
		}
		return m
	}
	lean, fresh := key(res), key(audit(true))
	for k := range lean {
		if !fresh[k] {
			t.Errorf("finding %s only without --fresh", k)
		}
	}
	for k := range fresh {
		if !lean[k] {
			t.Errorf("finding %s only with --fresh", k)
		}
	}
	t.Logf("%d findings in %d audited accounts", len(res.Findings), audited)
}

// TestKeyIDsOnlyWhereTheLifecycleActs: in an audit, a finished rotation at
// rest (the older key inactive and not yet due for deletion, the newer one
// active and young) costs no ListAccessKeys; every other pair, and an
// inactive key within a day of its deletion age, still has its keys read
// live. A plan reads every user's with two keys or an inactive one: it
// records when keyrot first saw a key inactive, which starts its deletion
// window.
func TestKeyIDsOnlyWhereTheLifecycleActs(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "")
	key := func(age, status string) sandbox.ScenarioKey {
		return sandbox.ScenarioKey{Age: age, Status: status, LastUsed: "1h", Service: "s3", Region: "us-east-1"}
	}
	users := map[string][]sandbox.ScenarioKey{
		"at-rest":        {key("95d", "Inactive"), key("5d", "")},
		"two-active":     {key("20d", ""), key("5d", "")},
		"near-deletion":  {key("109d", "Inactive"), key("5d", "")},
		"newer-inactive": {key("20d", ""), key("5d", "Inactive")},
		"lone-inactive":  {key("30d", "Inactive")},
		"one-young":      {key("10d", "")},
	}
	sc := compliantOrg(1, 0)
	for name, keys := range users {
		sc.Organization.Management.Users = append(sc.Organization.Management.Users,
			sandbox.ScenarioUser{Name: name, Created: "400d", Keys: keys})
	}
	r := scenarioApp(t, env, sc)
	res, err := r.Audit(context.Background(), AuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	resolved := map[string]bool{}
	for _, u := range res.Snapshot.Accounts[0].Users {
		for _, k := range u.Keys {
			if k.ID != "" {
				resolved[u.Name] = true
			}
		}
	}
	want := map[string]bool{"two-active": true, "near-deletion": true, "newer-inactive": true, "lone-inactive": true}
	if diff := cmp.Diff(want, resolved); diff != "" {
		t.Errorf("users whose keys were read live (-want +got):\n%s", diff)
	}
	calls := 0
	for _, ops := range env.Server.CallCounts() {
		calls += ops["iam:ListAccessKeys"]
	}
	if calls != len(want) {
		t.Errorf("%d ListAccessKeys calls, want %d", calls, len(want))
	}
	rp, err := r.Plan(context.Background(), PlanRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range rp.Snapshot.Accounts[0].Users {
		if u.Name != "one-young" && (len(u.Keys) == 0 || u.Keys[0].ID == "") {
			t.Errorf("plan: the keys of %s were not read live", u.Name)
		}
	}
}

// TestAuditCallBudgetEnabledRegions: with the regional kinds' regions
// [enabled], each account costs one account:ListRegions and then one list
// call per kind in each of its 17 enabled regions (the default ones; no
// opt-in region is enabled): 1 + 3 x 17 = 52 calls, against 3 in keyrot's
// region alone. The audit still has no finding.
func TestAuditCallBudgetEnabledRegions(t *testing.T) {
	const accounts = 3
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(compliantOrg(accounts, 5)); err != nil {
		t.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)
	p := policy.Default()
	all := []string{policy.EnabledRegions}
	p.Certificates.Regions, p.Secrets.Regions, p.TrustAnchors.Regions = all, all, all
	r := &App{Policy: p, AWS: env.Admin(), CollectOptions: func(o *collect.Options) {
		o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
	}}
	res, err := r.Audit(context.Background(), AuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Fatalf("%d findings, first %+v", len(res.Findings), res.Findings[0])
	}
	counts := env.Server.CallCounts()
	audited := 0
	for _, a := range res.Snapshot.Accounts {
		if a.Status != "audited" {
			continue
		}
		audited++
		ops := counts[a.ID]
		want := map[string]int{"account:ListRegions": 1, "acm:ListCertificates": 17, "secretsmanager:ListSecrets": 17, "rolesanywhere:ListTrustAnchors": 17}
		for op, n := range want {
			if ops[op] != n {
				t.Errorf("account %s: %d %s calls, want %d", a.ID, ops[op], op, n)
			}
		}
		if len(a.Kinds.Regions) != 17 || !a.Kinds.Certificates || !a.Kinds.Secrets || !a.Kinds.TrustAnchors {
			t.Errorf("account %s: kinds %+v", a.ID, a.Kinds)
		}
	}
	if audited != accounts {
		t.Errorf("%d of %d accounts audited", audited, accounts)
	}
}
