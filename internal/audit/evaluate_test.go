package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time    { return now.Add(-time.Duration(n) * 24 * time.Hour) }
func ptr(t time.Time) *time.Time { return &t }

const acct = "111111111111"

// key returns an active key created n days ago, used u days ago (u < 0: never).
func key(id string, created, used int) inventory.AccessKey {
	k := inventory.AccessKey{ID: id, Status: inventory.KeyActive, CreateDate: daysAgo(created), LastUsedKnown: true}
	if used >= 0 {
		k.LastUsed = ptr(daysAgo(used))
		k.LastUsedService, k.LastUsedRegion = "s3", "eu-west-1"
	}
	return k
}

func inactive(k inventory.AccessKey) inventory.AccessKey { k.Status = inventory.KeyInactive; return k }

// user is created 400 days ago unless changed.
func user(name string, keys ...inventory.AccessKey) inventory.User {
	return inventory.User{Name: name, Path: "/", CreateDate: daysAgo(400), Keys: keys}
}

func snapshot(users ...inventory.User) *inventory.Snapshot {
	return &inventory.Snapshot{CollectedAt: now, Accounts: []inventory.Account{{
		ID: acct, Name: "prod", Status: inventory.AccountAudited, OUPath: []string{"r-ab12", "ou-ab12-aaaaaaaa"},
		Tags: map[string]string{"env": "prod"}, Root: &inventory.Root{MFAActive: true}, Users: users,
	}}}
}

// summary lists findings as "rule id severity[ exempt]".
func summary(r *Result) []string {
	var out []string
	for _, f := range r.Findings {
		s := fmt.Sprintf("%s %s", f.ID, f.Severity)
		if f.Exempt {
			s += " exempt(" + f.Exemption.Match + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		policy func(p *policy.Policy)
		snap   *inventory.Snapshot
		want   []string
	}{
		{name: "fresh used key passes", snap: snapshot(user("alice", key("AKIAALICE0000001", 10, 1)))},
		{name: "key exactly 90 days old passes", snap: snapshot(user("alice", key("AKIAALICE0000001", 90, 1)))},
		{name: "key 90 days and 23 hours old passes", snap: snapshot(user("alice", func() inventory.AccessKey {
			k := key("AKIAALICE0000001", 90, 1)
			k.CreateDate = k.CreateDate.Add(-23 * time.Hour)
			return k
		}()))},
		{name: "key 91 days old", snap: snapshot(user("alice", key("AKIAALICE0000001", 91, 1))),
			want: []string{"access-key-age/111111111111/alice/AKIAALICE0000001 medium"}},
		{name: "key past deactivate_after is high", snap: snapshot(user("alice", key("AKIAALICE0000001", 101, 1))),
			want: []string{"access-key-age/111111111111/alice/AKIAALICE0000001 high"}},
		{name: "hour thresholds compare durations", policy: func(p *policy.Policy) {
			p.AccessKeys.RotateAfter = policy.Duration(36 * time.Hour)
		}, snap: snapshot(user("alice", key("AKIAALICE0000001", 2, 0))),
			want: []string{"access-key-age/111111111111/alice/AKIAALICE0000001 medium"}},
		{name: "key used 44 days ago passes", snap: snapshot(user("alice", key("AKIAALICE0000001", 60, 44)))},
		{name: "key unused for exactly 45 days", snap: snapshot(user("alice", key("AKIAALICE0000001", 60, 45))),
			want: []string{"access-key-unused/111111111111/alice/AKIAALICE0000001 medium"}},
		{name: "never-used key judged by creation date", snap: snapshot(user("alice", key("AKIAALICE0000001", 50, -1))),
			want: []string{"access-key-unused/111111111111/alice/AKIAALICE0000001 medium"}},
		{name: "young never-used key passes", snap: snapshot(user("alice", key("AKIAALICE0000001", 44, -1)))},
		{name: "key created with the user and never used", snap: snapshot(func() inventory.User {
			u := user("alice", key("AKIAALICE0000001", 10, -1))
			u.CreateDate = daysAgo(10).Add(-time.Hour)
			return u
		}()), want: []string{"access-key-setup-unused/111111111111/alice/AKIAALICE0000001 low"}},
		{name: "key created days after the user is not a set-up key", snap: snapshot(func() inventory.User {
			u := user("alice", key("AKIAALICE0000001", 10, -1))
			u.CreateDate = daysAgo(12)
			return u
		}())},
		{name: "set-up key that was used passes", snap: snapshot(func() inventory.User {
			u := user("alice", key("AKIAALICE0000001", 10, 1))
			u.CreateDate = daysAgo(10)
			return u
		}())},
		{name: "two active keys", snap: snapshot(user("alice", key("AKIAALICE0000001", 10, 1), key("AKIAALICE0000002", 5, 1))),
			want: []string{"access-key-multiple-active/111111111111/alice medium"}},
		{name: "two active keys allowed", policy: func(p *policy.Policy) { p.AccessKeys.MaxActiveKeys = 2 },
			snap: snapshot(user("alice", key("AKIAALICE0000001", 10, 1), key("AKIAALICE0000002", 5, 1)))},
		{name: "one active one inactive is fine", snap: snapshot(user("alice", key("AKIAALICE0000001", 10, 1), inactive(key("AKIAALICE0000002", 50, 49))))},
		{name: "inactive key exactly at delete_after passes", snap: snapshot(user("alice", inactive(key("AKIAALICE0000002", 110, 100))))},
		{name: "inactive key past delete_after", snap: snapshot(user("alice", inactive(key("AKIAALICE0000002", 111, 100)))),
			want: []string{"access-key-inactive-lingering/111111111111/alice/AKIAALICE0000002 low"}},
		{name: "unknown last use: age still judged, unused not", snap: snapshot(user("alice", func() inventory.AccessKey {
			k := key("AKIAALICE0000001", 100, -1)
			k.LastUsedKnown = false
			return k
		}())), want: []string{
			"access-key-age/111111111111/alice/AKIAALICE0000001 medium",
			"key-last-used-unknown/111111111111/alice/AKIAALICE0000001 low",
		}},
		{name: "credential report slot without key ID", snap: snapshot(user("alice", inventory.AccessKey{Slot: 2, Status: inventory.KeyActive, CreateDate: daysAgo(200), LastUsed: ptr(daysAgo(1)), LastUsedKnown: true})),
			want: []string{"access-key-age/111111111111/alice/slot2 high"}},
		{name: "root active and inactive keys", snap: func() *inventory.Snapshot {
			s := snapshot()
			s.Accounts[0].Root.Keys = []inventory.AccessKey{key("AKIAROOT00000001", 5, 1), inactive(key("AKIAROOT00000002", 5, -1))}
			return s
		}(), want: []string{
			"root-access-key/111111111111/<root_account>/AKIAROOT00000001 critical",
			"root-access-key/111111111111/<root_account>/AKIAROOT00000002 low",
		}},
		{name: "root keys allowed by policy", policy: func(p *policy.Policy) { p.Root.ForbidAccessKeys = false }, snap: func() *inventory.Snapshot {
			s := snapshot()
			s.Accounts[0].Root.Keys = []inventory.AccessKey{key("AKIAROOT00000001", 5, 1)}
			return s
		}()},
		{name: "root without MFA", snap: func() *inventory.Snapshot {
			s := snapshot()
			s.Accounts[0].Root.MFAActive = false
			return s
		}(), want: []string{"root-no-mfa/111111111111/<root_account> critical"}},
		{name: "console user without MFA", snap: snapshot(func() inventory.User {
			u := user("bob")
			u.Password = &inventory.Password{Enabled: true, LastUsed: ptr(daysAgo(1))}
			return u
		}()), want: []string{"console-no-mfa/111111111111/bob high"}},
		{name: "console MFA not required", policy: func(p *policy.Policy) { p.Console.RequireMFA = false }, snap: snapshot(func() inventory.User {
			u := user("bob")
			u.Password = &inventory.Password{Enabled: true, LastUsed: ptr(daysAgo(1))}
			return u
		}())},
		{name: "disabled password is not judged", snap: snapshot(func() inventory.User {
			u := user("bob")
			u.Password = &inventory.Password{Enabled: false}
			return u
		}())},
		{name: "console password unused 50 days", snap: snapshot(func() inventory.User {
			u := user("bob")
			u.MFAActive = true
			u.Password = &inventory.Password{Enabled: true, LastUsed: ptr(daysAgo(50))}
			return u
		}()), want: []string{"console-unused/111111111111/bob medium"}},
		{name: "console password never used, judged by user creation", snap: snapshot(func() inventory.User {
			u := user("bob")
			u.MFAActive = true
			u.Password = &inventory.Password{Enabled: true}
			return u
		}()), want: []string{"console-unused/111111111111/bob medium"}},
		{name: "console password never used but set 10 days ago", snap: snapshot(func() inventory.User {
			u := user("bob")
			u.MFAActive = true
			u.Password = &inventory.Password{Enabled: true, LastChanged: ptr(daysAgo(10))}
			return u
		}())},
		{name: "failed account", snap: &inventory.Snapshot{Accounts: []inventory.Account{{ID: "222222222222", Status: inventory.AccountFailed, Reason: "AccessDenied assuming role"}}},
			want: []string{"account-not-audited/222222222222 high"}},
		{name: "skipped account", snap: &inventory.Snapshot{Accounts: []inventory.Account{{ID: "222222222222", Status: inventory.AccountSkipped, Reason: "suspended"}}}},
		{name: "nil snapshot", snap: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			if tt.policy != nil {
				tt.policy(p)
			}
			got := summary(evaluateExact(t, p, tt.snap))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func exemption(m policy.Match, rules ...string) policy.Exemption {
	return policy.Exemption{Match: m, Reason: "ticket SEC-1", Expires: now.AddDate(0, 1, 0), Rules: rules}
}

func TestExemptions(t *testing.T) {
	old := func() inventory.User {
		u := user("ci-bot", key("AKIACIBOT0000001", 100, 1))
		u.Path = "/service/ci/"
		u.Groups = []string{"automation"}
		u.Tags = map[string]string{"team": "platform"}
		return u
	}
	const id = "access-key-age/111111111111/ci-bot/AKIACIBOT0000001"
	tests := []struct {
		name       string
		exemptions []policy.Exemption
		exemptTag  string
		want       []string
	}{
		{name: "no exemption", want: []string{id + " medium"}},
		{name: "account", exemptions: []policy.Exemption{exemption(policy.Match{Account: acct})}, want: []string{id + " medium exempt(account:111111111111)"}},
		{name: "other account", exemptions: []policy.Exemption{exemption(policy.Match{Account: "999999999999"})}, want: []string{id + " medium"}},
		{name: "ou anywhere above", exemptions: []policy.Exemption{exemption(policy.Match{OU: "r-ab12"})}, want: []string{id + " medium exempt(ou:r-ab12)"}},
		{name: "other ou", exemptions: []policy.Exemption{exemption(policy.Match{OU: "ou-ab12-bbbbbbbb"})}, want: []string{id + " medium"}},
		{name: "user glob", exemptions: []policy.Exemption{exemption(policy.Match{User: "ci-*"})}, want: []string{id + " medium exempt(user:ci-*)"}},
		{name: "path prefix", exemptions: []policy.Exemption{exemption(policy.Match{PathPrefix: "/service/"})}, want: []string{id + " medium exempt(path_prefix:/service/)"}},
		{name: "group", exemptions: []policy.Exemption{exemption(policy.Match{Group: "automation"})}, want: []string{id + " medium exempt(group:automation)"}},
		{name: "tag key", exemptions: []policy.Exemption{exemption(policy.Match{Tag: "team"})}, want: []string{id + " medium exempt(tag:team)"}},
		{name: "tag key=value", exemptions: []policy.Exemption{exemption(policy.Match{Tag: "team=platform"})}, want: []string{id + " medium exempt(tag:team=platform)"}},
		{name: "tag wrong value", exemptions: []policy.Exemption{exemption(policy.Match{Tag: "team=data"})}, want: []string{id + " medium"}},
		{name: "all keys must hold", exemptions: []policy.Exemption{exemption(policy.Match{Account: acct, User: "alice"})}, want: []string{id + " medium"}},
		{name: "rules limit", exemptions: []policy.Exemption{exemption(policy.Match{User: "ci-bot"}, policy.RuleAccessKeyUnused)}, want: []string{id + " medium"}},
		{name: "rules include", exemptions: []policy.Exemption{exemption(policy.Match{User: "ci-bot"}, policy.RuleAccessKeyAge)}, want: []string{id + " medium exempt(user:ci-bot)"}},
		{name: "exempt tag", exemptTag: "team", want: []string{id + " medium exempt(tag:team)"}},
		{name: "first current exemption wins", exemptions: []policy.Exemption{
			exemption(policy.Match{User: "nobody"}), exemption(policy.Match{Group: "automation"}), exemption(policy.Match{User: "ci-bot"}),
		}, want: []string{id + " medium exempt(group:automation)"}},
		{name: "expired exemption no longer applies and is reported", exemptions: []policy.Exemption{func() policy.Exemption {
			e := exemption(policy.Match{User: "ci-bot"})
			e.Expires = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			return e
		}()}, want: []string{"exemption-expired/111111111111/user:ci-bot medium", id + " medium"}},
		{name: "expired exemption that matches nothing is not reported", exemptions: []policy.Exemption{func() policy.Exemption {
			e := exemption(policy.Match{User: "someone-else"})
			e.Expires = daysAgo(10)
			return e
		}()}, want: []string{id + " medium"}},
		{name: "override schedule", exemptions: []policy.Exemption{func() policy.Exemption {
			e := exemption(policy.Match{User: "ci-bot"})
			rot, deact, del := policy.Duration(180*day), policy.Duration(190*day), policy.Duration(200*day)
			e.AccessKeys = &policy.AccessKeysOverride{RotateAfter: &rot, DeactivateAfter: &deact, DeleteAfter: &del}
			return e
		}()}},
		{name: "expired override", exemptions: []policy.Exemption{func() policy.Exemption {
			e := exemption(policy.Match{User: "ci-bot"})
			e.Expires = daysAgo(1)
			rot := policy.Duration(95 * day)
			e.AccessKeys = &policy.AccessKeysOverride{RotateAfter: &rot}
			return e
		}()}, want: []string{"exemption-expired/111111111111/user:ci-bot medium", id + " medium"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			p.ExemptTag = tt.exemptTag
			p.Exemptions = tt.exemptions
			got := summary(evaluateExact(t, p, snapshot(old())))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExemptionsForRootAndAccount(t *testing.T) {
	s := snapshot()
	s.Accounts[0].Root.MFAActive = false
	s.Accounts = append(s.Accounts, inventory.Account{ID: "222222222222", Status: inventory.AccountFailed, Reason: "denied"})
	p := policy.Default()
	p.Exemptions = []policy.Exemption{
		exemption(policy.Match{Account: acct, User: "*"}), // names a user: never covers root
		exemption(policy.Match{Tag: "env=prod"}),          // account tag covers root
		exemption(policy.Match{Account: "222222222222"}, policy.RuleAccountNotAudited),
	}
	got := summary(Evaluate(p, s, now))
	want := []string{
		"root-no-mfa/111111111111/<root_account> critical exempt(tag:env=prod)",
		"account-not-audited/222222222222 high exempt(account:222222222222)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestFindingDetails(t *testing.T) {
	p := policy.Default()
	p.Exemptions = []policy.Exemption{exemption(policy.Match{User: "alice"}, policy.RuleAccessKeyUnused)}
	k := key("AKIAALICE0000001", 95, 92)
	res := Evaluate(p, snapshot(user("alice", k)), now)
	if len(res.Findings) != 2 {
		t.Fatalf("got %v", summary(res))
	}
	age, unused := res.Findings[0], res.Findings[1]
	ad, ud, sd := 95, 92, 92
	wantAge := Finding{
		ID: "access-key-age/111111111111/alice/AKIAALICE0000001", Rule: "access-key-age", Title: "Access key not rotated within the rotation period",
		Severity: SeverityMedium, AccountID: acct, AccountName: "prod", User: "alice", KeyID: "AKIAALICE0000001",
		Evidence: Evidence{CreateDate: ptr(k.CreateDate), AgeDays: &ad, LastUsed: k.LastUsed, LastUsedService: "s3", LastUsedRegion: "eu-west-1",
			DaysSinceUse: &sd, ThresholdDays: 90, Detail: "active key is 95 days old; keys are rotated after 90d"},
		Controls:    Controls{CISv3: []string{"1.14"}, CISv5: []string{"1.13"}, SecurityHub: []string{"IAM.3"}},
		Remediation: age.Remediation,
	}
	if diff := cmp.Diff(wantAge, age); diff != "" {
		t.Errorf("age finding (-want +got):\n%s", diff)
	}
	if !strings.Contains(age.Remediation, "alice") || strings.Contains(age.Remediation, "AKIAALICE0000001") {
		t.Errorf("remediation should name the user but not the key ID: %q", age.Remediation)
	}
	wantUnused := Controls{CISv3: []string{"1.12"}, CISv5: []string{"1.11"}, SecurityHub: []string{"IAM.8", "IAM.22"}}
	if diff := cmp.Diff(wantUnused, unused.Controls); diff != "" {
		t.Errorf("unused controls at 92 days (-want +got):\n%s", diff)
	}
	if *unused.Evidence.DaysSinceUse != ud || unused.Evidence.ThresholdDays != 45 {
		t.Errorf("unused evidence = %+v", unused.Evidence)
	}
	wantEx := &ExemptionApplied{Match: "user:alice", Reason: "ticket SEC-1", Expires: now.AddDate(0, 1, 0)}
	if diff := cmp.Diff(wantEx, unused.Exemption); !unused.Exempt || diff != "" {
		t.Errorf("exemption (-want +got):\n%s", diff)
	}
	// Below 90 days IAM.8 (90-day unused credentials) does not fail.
	res = Evaluate(policy.Default(), snapshot(user("alice", key("AKIAALICE0000001", 60, 50))), now)
	if got := res.Findings[0].Controls.SecurityHub; !cmp.Equal(got, []string{"IAM.22"}) {
		t.Errorf("Security Hub controls at 50 days = %v, want [IAM.22]", got)
	}
}

func TestUnknownLastUsedEvidence(t *testing.T) {
	k := key("AKIAALICE0000001", 10, -1)
	k.LastUsedKnown = false
	s := snapshot(user("alice", k))
	s.Accounts[0].Errors = []inventory.CollectError{{User: "alice", KeyID: "AKIAALICE0000001", Op: "GetAccessKeyLastUsed", Message: "AccessDenied"}}
	res := evaluate(policy.Default(), s, now, true)
	if diff := cmp.Diff([]string{"key-last-used-unknown/111111111111/alice/AKIAALICE0000001 low"}, summary(res)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if d := res.Findings[0].Evidence.Detail; !strings.Contains(d, "GetAccessKeyLastUsed: AccessDenied") {
		t.Errorf("detail = %q", d)
	}
	for _, c := range res.Checks {
		if c.Rule == policy.RuleAccessKeyUnused && !c.Unknown {
			t.Errorf("unused check of an unknown key must be Unknown, got %+v", c)
		}
	}
}

func TestSortAndPurity(t *testing.T) {
	s := snapshot(
		user("zed", key("AKIAZED000000001", 200, 1)),
		func() inventory.User {
			u := user("amy", key("AKIAAMY000000001", 95, 1))
			u.Password = &inventory.Password{Enabled: true, LastUsed: ptr(daysAgo(1))}
			return u
		}(),
	)
	s.Accounts = append([]inventory.Account{{ID: "999999999999", Status: inventory.AccountAudited, Root: &inventory.Root{}}}, s.Accounts...)
	before, _ := json.Marshal(s)
	r1 := Evaluate(policy.Default(), s, now)
	r2 := Evaluate(policy.Default(), s, now)
	after, _ := json.Marshal(s)
	if string(before) != string(after) {
		t.Error("Evaluate changed the snapshot")
	}
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Errorf("Evaluate is not deterministic:\n%s", diff)
	}
	want := []string{
		"root-no-mfa/999999999999/<root_account> critical",
		"console-no-mfa/111111111111/amy high",
		"access-key-age/111111111111/zed/AKIAZED000000001 high",
		"access-key-age/111111111111/amy/AKIAAMY000000001 medium",
	}
	if diff := cmp.Diff(want, summary(r1)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if !r1.GeneratedAt.Equal(now) || r1.Snapshot != s {
		t.Error("GeneratedAt/Snapshot not set")
	}
}

func TestRulesMatchPolicy(t *testing.T) {
	var ids []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff(policy.KnownRules(), ids); diff != "" {
		t.Errorf("audit rules differ from policy.KnownRules (-policy +audit):\n%s", diff)
	}
}

// evaluateExact is Evaluate at now, checking that the count its slice of
// findings was made with is the number of findings, and that FindingsOf
// finds the same findings.
func evaluateExact(t *testing.T, p *policy.Policy, snap *inventory.Snapshot) *Result {
	t.Helper()
	res := Evaluate(p, snap, now)
	if n := countFindings(p, snap, now); n != len(res.Findings) || cap(res.Findings) != n {
		t.Errorf("%d findings, %d counted, capacity %d", len(res.Findings), n, cap(res.Findings))
	}
	light := FindingsOf(p, snap, now)
	sortFindings(light)
	if d := cmp.Diff(res.Findings, light, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("FindingsOf differs from Evaluate (-Evaluate +FindingsOf):\n%s", d)
	}
	return res
}
