package audit

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// credLine is a Credential in one line: kind owner id status age last-use next-due action.
func credLine(c Credential) string {
	day := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format("2006-01-02")
	}
	age := -1
	if c.AgeDays != nil {
		age = *c.AgeDays
	}
	return fmt.Sprintf("%s %s %s %s %d %s %s %s", c.Kind, c.Owner, c.ID, c.Status, age, c.LastUse, day(c.NextDue), c.DueAction)
}

// TestCredentials: the inventory lists root's password and keys, users'
// keys and passwords, with next due dates from the policy (an override
// exemption's schedule where one matches, not an expired one).
func TestCredentials(t *testing.T) {
	snap := snapshot(
		user("alice", key("AKIAALICE00000000001", 10, 1), inactive(key("AKIAALICE00000000002", 95, -1))),
		user("batch", key("AKIABATCH00000000001", 30, 2)),
		user("old", key("AKIAOLD0000000000001", 30, 2)),
	)
	snap.Accounts[0].Users[0].Password = &inventory.Password{Enabled: true, LastChanged: ptr(daysAgo(200)), LastUsed: ptr(daysAgo(3))}
	snap.Accounts[0].Users[1].Path = "/batch/"
	snap.Accounts[0].Root = &inventory.Root{MFAActive: true, Keys: []inventory.AccessKey{{Slot: 1, Status: inventory.KeyActive, CreateDate: daysAgo(700)}}}
	snap.Accounts = append(snap.Accounts, inventory.Account{ID: "222222222222", Status: inventory.AccountFailed})
	p := policy.Default()
	rot := policy.Duration(180 * 24 * time.Hour)
	p.Exemptions = []policy.Exemption{
		{Match: policy.Match{PathPrefix: "/batch/"}, Reason: "twice a year", Expires: now.AddDate(1, 0, 0), AccessKeys: &policy.AccessKeysOverride{RotateAfter: &rot}},
		{Match: policy.Match{User: "old"}, Reason: "gone", Expires: now.AddDate(0, 0, -1), AccessKeys: &policy.AccessKeysOverride{RotateAfter: &rot}},
	}
	got := Credentials(p, snap, now)
	var lines []string
	for _, c := range got {
		if c.AccountID != acct || c.AccountName != "prod" {
			t.Errorf("%s: account %s %q", c.ID, c.AccountID, c.AccountName)
		}
		lines = append(lines, credLine(c))
	}
	want := []string{
		"access-key alice AKIAALICE00000000001 Active 10 used 2026-08-20 rotate",
		"access-key alice AKIAALICE00000000002 Inactive 95 never 2026-06-16 delete",
		"access-key batch AKIABATCH00000000001 Active 30 used 2026-10-29 rotate",
		"access-key old AKIAOLD0000000000001 Active 30 used 2026-07-31 rotate",
		"console-password alice alice Enabled 200 used - ",
		"root-access-key <root_account> slot1 Active 700 unknown 2026-06-01 delete",
		"root-password <root_account> <root_account>  -1 never - ",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if got[2].Schedule == "access_keys.rotate_after" || got[3].Schedule != "access_keys.rotate_after" {
		t.Errorf("schedules: batch %q, old %q", got[2].Schedule, got[3].Schedule)
	}
	if n := len(Credentials(p, nil, now)); n != 0 {
		t.Errorf("nil snapshot: %d credentials", n)
	}
}
