package app

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
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
			user("rotated", key("AKIAROTATEDOLD000001", 200)),                                // rotated now; its old key is a finding
			user("waiting", key("AKIAWAITINGOLD000001", 95), key("AKIAWAITINGNEW000001", 3)), // mid-rotation: two keys
			user("idle", key("AKIAIDLEKEY000000001", 300)),                                   // a finding; its create failed outright
			user("tagless", key("AKIATAGLESSOLD000001", 91)),                                 // stored, but the secret's tags failed
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
		"rotated finding",
		"rotated rotated keyrot/111111111111/rotated eu-west-1 due 2026-06-11",
		"tagless finding",
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
