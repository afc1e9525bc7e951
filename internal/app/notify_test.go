package app

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestNoticeItems: outcomes become notices; deadlines ahead become notices
// (so reminders fall right); a user's findings ride along only with
// something that happened to that user in this run, and two keys during
// keyrot's own rotation window are not a finding to tell anyone about.
func TestNoticeItems(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	used := now.Add(-day)
	key := func(id string, age int) inventory.AccessKey {
		return inventory.AccessKey{ID: id, Status: inventory.KeyActive, CreateDate: now.Add(-time.Duration(age) * day), LastUsed: &used, LastUsedKnown: true}
	}
	user := func(name string, keys ...inventory.AccessKey) inventory.User {
		return inventory.User{Name: name, ARN: "arn:aws:iam::111111111111:user/" + name, CreateDate: now.Add(-400 * day),
			Tags: map[string]string{"owner": name + "@example.com"}, Keys: keys}
	}
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Email: "aws@example.com", Status: inventory.AccountAudited,
		Users: []inventory.User{
			user("rotated", key("AKIAROTATEDOLD000001", 200)),                                // rotated now; its old key's finding is stale
			user("waiting", key("AKIAWAITINGOLD000001", 95), key("AKIAWAITINGNEW000001", 3)), // mid-rotation: two keys
			user("idle", key("AKIAIDLEKEY000000001", 300)),                                   // a finding; its create failed outright
			user("tagless", key("AKIATAGLESSOLD000001", 91)),                                 // stored, but the secret's tags failed; stale finding too
		}}}}
	rp := &RotationPlan{
		Snapshot:  snap,
		Rotations: map[plan.UserRef]plan.Rotation{{Account: "111111111111", User: "waiting"}: {NewKeyID: "AKIAWAITINGNEW000001", StoredAt: now.Add(-3 * day)}},
		Plan: &plan.Plan{Upcoming: []plan.Upcoming{
			{Kind: plan.DeactivateKey, AccountID: "111111111111", User: "waiting", KeyID: "AKIAWAITINGOLD000001", Due: now.Add(7 * day)},
		}},
	}
	res := &execute.Result{Outcomes: []execute.Outcome{
		{Kind: plan.CreateKey, AccountID: "111111111111", User: "rotated", KeyID: "AKIAROTATEDOLD000001", Status: execute.Succeeded,
			NewKeyID: "AKIAROTATEDNEW000001", SecretName: "keyrot/111111111111/rotated", SecretARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrot/111111111111/rotated-AbCdEf"},
		{Kind: plan.CreateKey, AccountID: "111111111111", User: "tagless", KeyID: "AKIATAGLESSOLD000001", Status: execute.Failed,
			NewKeyID: "AKIATAGLESSNEW000001", SecretName: "keyrot/111111111111/tagless", SecretARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrot/111111111111/tagless-AbCdEf"},
		{Kind: plan.CreateKey, AccountID: "111111111111", User: "idle", KeyID: "AKIAIDLEKEY000000001", Status: execute.Failed},
	}}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	items := r.NoticeItems(rp, res, now)
	var got []string
	for _, it := range items {
		s := it.User + " " + string(it.State)
		if it.State == "rotated" {
			s += " " + it.SecretName + " " + it.SecretRegion + " due " + it.Date.Format("2006-01-02")
		}
		got = append(got, s)
	}
	sort.Strings(got)
	want := []string{
		// The findings about the old keys just rotated are left out (see
		// TestNoticeItemsFindingsAboutChangedKeys).
		"rotated rotated keyrot/111111111111/rotated eu-west-1 due 2026-06-11",
		"tagless rotated keyrot/111111111111/tagless eu-west-1 due 2026-06-11",
		"waiting rotated   due 2026-06-08", // its rotation facts here carry no secret ARN
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notice items (-want +got):\n%s", diff)
	}
}

// TestNoticeItemsOwedDates: the changes of an earlier run that died before
// notifying are announced with deadlines counted from when they happened,
// not from the run that sends them.
func TestNoticeItemsOwedDates(t *testing.T) {
	now := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	then := now.Add(-2 * day)
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "app", ARN: "arn:aws:iam::111111111111:user/app", Tags: map[string]string{"owner": "team@example.com"},
			Keys: []inventory.AccessKey{{ID: "AKIAAPPOLDKEY0000001", Status: inventory.KeyInactive, CreateDate: now.Add(-105 * day)}}}}}}}
	rp := &RotationPlan{Snapshot: snap, Plan: &plan.Plan{}}
	res := &execute.Result{Outcomes: []execute.Outcome{{ActionID: "owed/7", Kind: plan.DeactivateKey, AccountID: "111111111111", User: "app",
		KeyID: "AKIAAPPOLDKEY0000001", Status: execute.Succeeded}}}
	r := &App{Policy: policy.Default()}
	items := r.noticeItems(rp, res, now, map[string]time.Time{"owed/7": then})
	if len(items) != 1 {
		t.Fatalf("items: %+v", items)
	}
	lc := Lifecycle(r.Policy, r.Policy.AccessKeys)
	if want := lc.DeletionDue(now.Add(-105*day), then); !items[0].Rollback.Equal(want) || !items[0].Date.Equal(then) {
		t.Errorf("owed deactivation: date %s, rollback until %s; want %s and %s", items[0].Date, items[0].Rollback, then, want)
	}
}

// TestNoticeItemsFindingsAboutChangedKeys: the findings are evaluated on the
// snapshot taken before the run's actions, so the findings about a key this
// run rotated, deactivated or deleted are stale and left out; findings about
// the user's other keys and about the user stay, each naming its key.
func TestNoticeItemsFindingsAboutChangedKeys(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	used := now.Add(-day)
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "app", ARN: "arn:aws:iam::111111111111:user/app", CreateDate: now.Add(-400 * day),
			Tags:     map[string]string{"owner": "team@example.com"},
			Password: &inventory.Password{Enabled: true, LastUsed: &used}, // a user finding: console without MFA
			Keys: []inventory.AccessKey{
				{ID: "AKIAAPPOLDKEY0000001", Status: inventory.KeyActive, CreateDate: now.Add(-200 * day), LastUsed: &used, LastUsedKnown: true},
				{ID: "AKIAAPPLINGER0000002", Status: inventory.KeyInactive, CreateDate: now.Add(-300 * day)}, // not touched by this run
			}}}}}}
	rp := &RotationPlan{Snapshot: snap, Plan: &plan.Plan{}}
	res := &execute.Result{Outcomes: []execute.Outcome{
		{Kind: plan.CreateKey, AccountID: "111111111111", User: "app", KeyID: "AKIAAPPOLDKEY0000001", Status: execute.Succeeded,
			NewKeyID: "AKIAAPPNEWKEY0000003", SecretName: "keyrot/111111111111/app", SecretARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrot/111111111111/app-AbCdEf"},
	}}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var got []string
	for _, it := range r.NoticeItems(rp, res, now) {
		if it.State == "finding" {
			got = append(got, it.FindingTitles...)
		}
	}
	sort.Strings(got)
	want := []string{
		"Console user has no MFA",
		"key AKIA…0002: Inactive access key past its deletion date",
		// not "key AKIA…0001: Access key not rotated within the rotation period"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings told with the rotation (-want +got):\n%s", diff)
	}
}

// TestNoticeItemsBlockedInUseSaysWhereTheNewKeyIs: a blocked deactivation
// repeats where the new key is, from the run's rotation facts.
func TestNoticeItemsBlockedInUseSaysWhereTheNewKeyIs(t *testing.T) {
	now := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	used := now.Add(-time.Hour)
	arn := "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrot/111111111111/app-AbCdEf"
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "app", ARN: "arn:aws:iam::111111111111:user/app", Tags: map[string]string{"owner": "team@example.com"},
			Keys: []inventory.AccessKey{
				{ID: "AKIAAPPOLDKEY0000001", Status: inventory.KeyActive, CreateDate: now.Add(-105 * day), LastUsed: &used, LastUsedKnown: true},
				{ID: "AKIAAPPNEWKEY0000003", Status: inventory.KeyActive, CreateDate: now.Add(-10 * day)},
			}}}}}}
	rp := &RotationPlan{Snapshot: snap, Plan: &plan.Plan{},
		Rotations: map[plan.UserRef]plan.Rotation{{Account: "111111111111", User: "app"}: {NewKeyID: "AKIAAPPNEWKEY0000003", StoredAt: now.Add(-10 * day), SecretARN: arn}}}
	res := &execute.Result{Outcomes: []execute.Outcome{{Kind: plan.DeactivateKey, AccountID: "111111111111", User: "app",
		KeyID: "AKIAAPPOLDKEY0000001", Status: execute.Blocked, LastUsed: &used, LastUsedService: "s3", LastUsedRegion: "eu-west-1"}}}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var blocked []notify.Item
	for _, it := range r.NoticeItems(rp, res, now) {
		if it.State == notify.StateBlockedInUse {
			blocked = append(blocked, it)
		}
	}
	if len(blocked) != 1 {
		t.Fatalf("blocked-in-use items: %+v", blocked)
	}
	it := blocked[0]
	if it.SecretARN != arn || it.SecretName != "keyrot/111111111111/app" || it.SecretRegion != "eu-west-1" || it.FetchCommand() == "" {
		t.Errorf("blocked-in-use item does not say where the new key is: name %q, ARN %q, region %q", it.SecretName, it.SecretARN, it.SecretRegion)
	}
}

// TestNoticeItemsBlockedDelivery: a deactivation held back because a
// destination does not hold the new key, and a creation whose key did not
// reach every destination, tell the owner which destinations and why.
func TestNoticeItemsBlockedDelivery(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mk := func(id string, age int) inventory.AccessKey {
		return inventory.AccessKey{ID: id, Status: inventory.KeyActive, CreateDate: now.Add(-time.Duration(age) * day), LastUsedKnown: true}
	}
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{
			{Name: "ci", ARN: "arn:aws:iam::111111111111:user/ci", Keys: []inventory.AccessKey{mk("AKIACIOLDKEY00000001", 101), mk("AKIACINEWKEY00000001", 11)}},
			{Name: "web", ARN: "arn:aws:iam::111111111111:user/web", Keys: []inventory.AccessKey{mk("AKIAWEBOLDKEY0000001", 91)}},
		}}}}
	due := now.Add(-day)
	rp := &RotationPlan{Snapshot: snap, Rotations: map[plan.UserRef]plan.Rotation{}, Plan: &plan.Plan{Actions: []plan.Action{
		{ID: "d1", Kind: plan.DeactivateKey, AccountID: "111111111111", User: "ci", KeyID: "AKIACIOLDKEY00000001", Due: due},
	}}}
	res := &execute.Result{Outcomes: []execute.Outcome{
		{ActionID: "d1", Kind: plan.DeactivateKey, AccountID: "111111111111", User: "ci", KeyID: "AKIACIOLDKEY00000001", Status: execute.Blocked,
			Deliveries: []execute.Delivery{
				{Destination: "profile:ci", KeyID: "AKIACINEWKEY00000001", Delivered: true},
				{Destination: "vault:secret/ci", KeyID: "AKIACINEWKEY00000001", Error: "write vault:secret/ci: unauthorized (HTTP 403)"},
			}},
		{Kind: plan.CreateKey, AccountID: "111111111111", User: "web", KeyID: "AKIAWEBOLDKEY0000001", Status: execute.Succeeded,
			NewKeyID: "AKIAWEBNEWKEY0000001", SecretARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keyrot/web-AbCdEf",
			Deliveries: []execute.Delivery{{Destination: "github:acme/web/AWS_ACCESS_KEY_ID", KeyID: "AKIAWEBNEWKEY0000001", Error: "open github:acme/web/AWS_ACCESS_KEY_ID: no token configured"}}},
	}}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var got []string
	for _, it := range r.NoticeItems(rp, res, now) {
		if it.State != notify.StateBlockedDelivery {
			continue
		}
		s := it.User + " " + it.KeyID + " due " + it.Date.Format("2006-01-02")
		for _, u := range it.Undelivered {
			s += " | " + u.Destination + ": " + u.Error
		}
		got = append(got, s)
	}
	sort.Strings(got)
	want := []string{
		"ci AKIACIOLDKEY00000001 due 2026-05-31 | vault:secret/ci: write vault:secret/ci: unauthorized (HTTP 403)",
		"web AKIAWEBOLDKEY0000001 due 2026-06-11 | github:acme/web/AWS_ACCESS_KEY_ID: open github:acme/web/AWS_ACCESS_KEY_ID: no token configured",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocked-delivery items (-want +got):\n%s", diff)
	}
}

// TestNoticeItemsServiceCredentials: a service-specific credential's
// rotation is told like a key's (where the new one is, and when the old one
// goes), and its deactivation's rollback command names the service.
func TestNoticeItemsServiceCredentials(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "git", ARN: "arn:aws:iam::111111111111:user/git", Tags: map[string]string{"owner": "git@example.com"},
			ServiceCredentials: []inventory.ServiceCredential{
				{ID: "ACCAOLD", Service: inventory.ServiceCodeCommit, Status: inventory.KeyActive, CreateDate: now.Add(-95 * day)},
				{ID: "ACCAOLDER", Service: inventory.ServiceKeyspaces, Status: inventory.KeyActive, CreateDate: now.Add(-105 * day)},
			}}}}}}
	create := plan.Action{ID: "c", Kind: plan.CreateServiceCredential, AccountID: "111111111111", User: "git", KeyID: "ACCAOLD", Service: inventory.ServiceCodeCommit}
	deact := plan.Action{ID: "d", Kind: plan.DeactivateServiceCredential, AccountID: "111111111111", User: "git", KeyID: "ACCAOLDER", Service: inventory.ServiceKeyspaces}
	rp := &RotationPlan{Snapshot: snap, Plan: &plan.Plan{Actions: []plan.Action{create, deact}}}
	res := &execute.Result{Outcomes: []execute.Outcome{
		{ActionID: "c", Kind: plan.CreateServiceCredential, AccountID: "111111111111", User: "git", KeyID: "ACCAOLD", Status: execute.Succeeded,
			NewKeyID: "ACCANEW", SecretName: "keyrot/111111111111/git/codecommit", SecretARN: "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/111111111111/git/codecommit-AbCdEf"},
		{ActionID: "d", Kind: plan.DeactivateServiceCredential, AccountID: "111111111111", User: "git", KeyID: "ACCAOLDER", Status: execute.Succeeded},
	}}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var got []string
	for _, it := range r.NoticeItems(rp, res, now) {
		if it.State == notify.StateFinding {
			continue
		}
		got = append(got, string(it.State)+" "+it.KeyID+" "+it.Date.Format("2006-01-02")+" "+it.SecretName+" "+it.RollbackCommand())
	}
	want := []string{
		// Deactivation due at 100 days old, 10 days after the store: June 11.
		"rotated ACCAOLD 2026-06-11 keyrot/111111111111/git/codecommit ",
		"deactivated ACCAOLDER 2026-06-01  keyrot rollback --account 111111111111 --user git --service keyspaces",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A later run: the deadlines ahead are told again (so reminders fall
	// on the right days), from the service secret's records.
	arn := "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/111111111111/git/codecommit-AbCdEf"
	rp = &RotationPlan{Snapshot: snap, Plan: &plan.Plan{Upcoming: []plan.Upcoming{
		{Kind: plan.DeactivateServiceCredential, AccountID: "111111111111", User: "git", Service: inventory.ServiceCodeCommit, KeyID: "ACCAOLD", Due: now.Add(5 * day)},
		{Kind: plan.DeleteServiceCredential, AccountID: "111111111111", User: "git", Service: inventory.ServiceKeyspaces, KeyID: "ACCAOLDER", Due: now.Add(8 * day)},
	}}, ServiceRecords: map[plan.ServiceRef]plan.ServiceRecord{
		{Account: "111111111111", User: "git", Service: inventory.ServiceCodeCommit}: {SecretARN: arn, CredentialID: "ACCANEW"},
		{Account: "111111111111", User: "git", Service: inventory.ServiceKeyspaces}:  {SecretARN: "x", CredentialID: "ACCANEWKS", DeactivatedID: "ACCAOLDER", DeactivatedAt: now.Add(-2 * day)},
	}}
	got = nil
	for _, it := range r.NoticeItems(rp, &execute.Result{}, now) {
		got = append(got, string(it.State)+" "+it.KeyID+" "+it.Date.Format("2006-01-02")+" "+it.SecretName+" "+it.RollbackCommand())
	}
	want = []string{
		"rotated ACCAOLD 2026-06-06 keyrot/111111111111/git/codecommit ",
		"deactivated ACCAOLDER 2026-05-30  keyrot rollback --account 111111111111 --user git --service keyspaces",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}
