package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
)

const day = 24 * time.Hour

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d int) time.Time         { return t0.Add(time.Duration(d) * day) }
func ptr(t time.Time) *time.Time { return &t }

func key(id string, status inventory.KeyStatus, createdDay int, lastUsedDay *int) inventory.AccessKey {
	k := inventory.AccessKey{ID: id, Status: status, CreateDate: at(createdDay), LastUsedKnown: true}
	if lastUsedDay != nil {
		k.LastUsed = ptr(at(*lastUsedDay))
		k.LastUsedService, k.LastUsedRegion = "s3", "eu-west-1"
	}
	return k
}

func used(d int) *int { return &d }

func snap(keys ...inventory.AccessKey) *inventory.Snapshot {
	return &inventory.Snapshot{Accounts: []inventory.Account{{
		ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "alice", ARN: "arn:aws:iam::111111111111:user/alice", CreateDate: at(-1), Keys: keys}},
	}}}
}

// summary renders a plan compactly: kind:key for actions and blocked, kind:key@day for upcoming.
func summary(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, string(a.Kind)+":"+a.KeyID)
	}
	for _, a := range p.Deferred {
		out = append(out, "deferred-"+string(a.Kind)+":"+a.KeyID)
	}
	for _, a := range p.Blocked {
		out = append(out, "blocked:"+a.KeyID)
	}
	for _, u := range p.Upcoming {
		out = append(out, "upcoming-"+string(u.Kind)+":"+u.KeyID+"@"+u.Due.Sub(t0).String())
	}
	return out
}

func TestBuild(t *testing.T) {
	lc := DefaultLifecycle()
	ref := UserRef{"111111111111", "alice"}
	tests := []struct {
		name string
		keys []inventory.AccessKey
		rot  Rotation
		now  int
		want []string
	}{
		{"young key: rotation upcoming", []inventory.AccessKey{key("K1", "Active", 0, used(80))}, Rotation{}, 89,
			[]string{"upcoming-create-key:K1@2160h0m0s"}},
		{"day 90: rotate", []inventory.AccessKey{key("K1", "Active", 0, used(89))}, Rotation{}, 90,
			[]string{"create-key:K1"}},
		{"400-day key met late: rotate", []inventory.AccessKey{key("K1", "Active", -310, used(89))}, Rotation{}, 90,
			[]string{"create-key:K1"}},
		{"stored on day 90: deactivation upcoming on day 100", []inventory.AccessKey{key("K1", "Active", 0, used(89)), key("K2", "Active", 90, nil)},
			Rotation{NewKeyID: "K2", StoredAt: at(90)}, 95, []string{"upcoming-deactivate-key:K1@2400h0m0s"}},
		{"day 100: deactivate old", []inventory.AccessKey{key("K1", "Active", 0, used(89)), key("K2", "Active", 90, used(95))},
			Rotation{NewKeyID: "K2", StoredAt: at(90)}, 100, []string{"deactivate-key:K1"}},
		{"late key: window of 10 days after storing holds", []inventory.AccessKey{key("K1", "Active", -310, used(89)), key("K2", "Active", 90, nil)},
			Rotation{NewKeyID: "K2", StoredAt: at(90)}, 95, []string{"upcoming-deactivate-key:K1@2400h0m0s"}},
		{"deactivated day 100: deletion upcoming day 110", []inventory.AccessKey{key("K1", "Inactive", 0, used(89)), key("K2", "Active", 90, used(99))},
			Rotation{NewKeyID: "K2", StoredAt: at(90), DeactivatedKeyID: "K1", DeactivatedAt: at(100)}, 105, []string{"upcoming-delete-key:K1@2640h0m0s"}},
		{"day 110: delete old", []inventory.AccessKey{key("K1", "Inactive", 0, used(89)), key("K2", "Active", 90, used(99))},
			Rotation{NewKeyID: "K2", StoredAt: at(90), DeactivatedKeyID: "K1", DeactivatedAt: at(100)}, 110, []string{"delete-key:K1"}},
		{"late deactivation keeps the 10-day rollback window", []inventory.AccessKey{key("K1", "Inactive", 0, used(89)), key("K2", "Active", 90, used(99))},
			Rotation{NewKeyID: "K2", StoredAt: at(90), DeactivatedKeyID: "K1", DeactivatedAt: at(130)}, 135, []string{"upcoming-delete-key:K1@3360h0m0s"}},
		{"inactive key of unknown deactivation date: window starts now", []inventory.AccessKey{key("K1", "Inactive", 0, used(10)), key("K2", "Active", 90, used(99))},
			Rotation{NewKeyID: "K2", StoredAt: at(90)}, 200, []string{"upcoming-delete-key:K1@5040h0m0s"}},
		{"never-used key past unused threshold: deactivate, do not replace", []inventory.AccessKey{key("K1", "Active", 0, nil)}, Rotation{}, 95,
			[]string{"deactivate-key:K1"}},
		{"used key idle past threshold: deactivate", []inventory.AccessKey{key("K1", "Active", 0, used(10))}, Rotation{}, 60,
			[]string{"deactivate-key:K1"}},
		{"two active keys in use: blocked", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K2", "Active", 10, used(95))}, Rotation{}, 96,
			[]string{"blocked:K1"}},
		{"second key unused: deactivate it, rotation waits for room", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K2", "Active", 10, nil)}, Rotation{}, 96,
			[]string{"deactivate-key:K2", "blocked:K1"}},
		{"old inactive key past deletion makes room first", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K0", "Inactive", -300, used(-200))},
			Rotation{DeactivatedKeyID: "K0", DeactivatedAt: at(-100)}, 96, []string{"delete-key:K0", "create-key:K1"}},
		{"inactive key not yet deletable: rotation blocked", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K0", "Inactive", 80, nil)},
			Rotation{DeactivatedKeyID: "K0", DeactivatedAt: at(90)}, 96, []string{"blocked:K1", "upcoming-delete-key:K0@4560h0m0s"}},
		{"unknown last use: blocked, never guessed", []inventory.AccessKey{{ID: "K1", Status: "Active", CreateDate: at(0)}}, Rotation{}, 200,
			[]string{"blocked:K1"}},
		{"orphan after grace: delete it", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K9", "Active", 96, nil)},
			Rotation{PendingSince: at(96)}, 97, []string{"delete-orphan:K9", "create-key:K1"}},
		{"orphan that was used: blocked", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K9", "Active", 96, used(96))},
			Rotation{PendingSince: at(96)}, 97, []string{"blocked:K1", "blocked:K9"}},
		{"orphan within grace holds its slot", []inventory.AccessKey{key("K1", "Active", 0, used(95)), {ID: "K9", Status: "Active", CreateDate: at(96), LastUsedKnown: true}},
			Rotation{PendingSince: at(96)}, 96, []string{"blocked:K1", "upcoming-delete-orphan:K9@2305h0m0s"}},
		{"key created a day after a stale pending mark is a person's, not an orphan", []inventory.AccessKey{key("K1", "Active", 0, used(95)), key("K9", "Active", 97, nil)},
			Rotation{PendingSince: at(96)}, 98, []string{"blocked:K1"}},
		{"key a person created after the rotation is not the replaced key", []inventory.AccessKey{key("K2", "Active", 90, used(211)), key("K3", "Active", 111, used(209))},
			Rotation{NewKeyID: "K2", StoredAt: at(90)}, 211, []string{"blocked:K2"}},
		{"unused key rolled back: idle again only from the rollback", []inventory.AccessKey{key("K1", "Active", 0, used(10))},
			Rotation{RolledBackAt: at(60), RolledBackKeyID: "K1"}, 61, []string{"upcoming-create-key:K1@2160h0m0s"}},
		{"unused key rolled back, then unused 45 days more: deactivate", []inventory.AccessKey{key("K1", "Active", 0, used(10))},
			Rotation{RolledBackAt: at(60), RolledBackKeyID: "K1"}, 105, []string{"deactivate-key:K1"}},
		{"rolled back: no re-deactivation", []inventory.AccessKey{key("K1", "Active", 0, used(104)), key("K2", "Active", 90, nil)},
			Rotation{NewKeyID: "K2", StoredAt: at(90), RolledBackAt: at(103)}, 105, []string{"blocked:K1"}},
		{"young key known only from the report: nothing to do", []inventory.AccessKey{{Slot: 1, Status: "Active", CreateDate: at(80), LastUsedKnown: true, LastUsed: ptr(at(89))}}, Rotation{}, 89,
			[]string{"upcoming-create-key:@4080h0m0s"}},
		{"due key without ID: blocked, not guessed", []inventory.AccessKey{{Slot: 1, Status: "Active", CreateDate: at(0), LastUsedKnown: true, LastUsed: ptr(at(89))}}, Rotation{}, 90,
			[]string{"blocked:"}},
		{"rotation finished: new key is a normal key", []inventory.AccessKey{key("K2", "Active", 90, used(150))},
			Rotation{NewKeyID: "K2", StoredAt: at(90), DeactivatedKeyID: "K1", DeactivatedAt: at(100)}, 150, []string{"upcoming-create-key:K2@4320h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Build(Input{Snapshot: snap(tt.keys...), Lifecycle: lc, Rotations: map[UserRef]Rotation{ref: tt.rot}}, at(tt.now))
			if diff := cmp.Diff(tt.want, summary(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeactivationGate(t *testing.T) {
	p := Build(Input{Snapshot: snap(key("K1", "Active", 0, used(89)), key("K2", "Active", 90, nil)), Lifecycle: DefaultLifecycle(),
		Rotations: map[UserRef]Rotation{{"111111111111", "alice"}: {NewKeyID: "K2", StoredAt: at(90)}}}, at(100))
	if len(p.Actions) != 1 {
		t.Fatalf("want one action, got %v", summary(p))
	}
	g := p.Actions[0].Gate
	if !g.UnusedSince.Equal(at(90)) || g.RequireStatus != inventory.KeyActive {
		t.Errorf("gate = %+v, want unused since day 90 and still active", g)
	}
	if diff := cmp.Diff([]KeyState{{"K1", "Active"}, {"K2", "Active"}}, p.Actions[0].Expect); diff != "" {
		t.Errorf("expect (-want +got):\n%s", diff)
	}
}

func TestExemptAndOverride(t *testing.T) {
	s := snap(key("K1", "Active", 0, used(95)))
	in := Input{Snapshot: s, Lifecycle: DefaultLifecycle()}
	in.Exempt = func(*inventory.Account, *inventory.User) Exemption { return Exemption{Exempt: true, Reason: "vendor"} }
	if got := summary(Build(in, at(96))); len(got) != 0 {
		t.Errorf("exempt user got %v", got)
	}
	long := DefaultLifecycle()
	long.RotateAfter, long.DeactivateAfter, long.DeleteAfter = 180*day, 190*day, 200*day
	in.Exempt = func(*inventory.Account, *inventory.User) Exemption { return Exemption{Lifecycle: &long} }
	if diff := cmp.Diff([]string{"upcoming-create-key:K1@4320h0m0s"}, summary(Build(in, at(96)))); diff != "" {
		t.Errorf("override (-want +got):\n%s", diff)
	}
}

func TestLimits(t *testing.T) {
	s := &inventory.Snapshot{}
	for _, acct := range []string{"111111111111", "222222222222"} {
		a := inventory.Account{ID: acct, Status: inventory.AccountAudited}
		for i := range 4 {
			a.Users = append(a.Users, inventory.User{Name: "u" + string(rune('a'+i)), Keys: []inventory.AccessKey{key(acct+string(rune('a'+i)), "Active", 0, used(95))}})
		}
		s.Accounts = append(s.Accounts, a)
	}
	p := Build(Input{Snapshot: s, Lifecycle: DefaultLifecycle(), Limits: Limits{MaxChanges: 5, MaxChangesPerAccount: 3}}, at(96))
	if len(p.Actions) != 5 || len(p.Deferred) != 3 {
		t.Fatalf("kept %d deferred %d, want 5 and 3", len(p.Actions), len(p.Deferred))
	}
	perAcct := map[string]int{}
	for _, a := range p.Actions {
		perAcct[a.AccountID]++
	}
	if perAcct["111111111111"] != 3 || perAcct["222222222222"] != 2 {
		t.Errorf("per account %v", perAcct)
	}
	for _, a := range p.Deferred {
		if !strings.HasPrefix(a.Deferred, "guardrail") {
			t.Errorf("deferred reason %q", a.Deferred)
		}
	}
}

func TestSkipsUnauditedAccounts(t *testing.T) {
	s := snap(key("K1", "Active", 0, used(95)))
	s.Accounts[0].Status = inventory.AccountFailed
	if p := Build(Input{Snapshot: s, Lifecycle: DefaultLifecycle()}, at(96)); len(p.Actions)+len(p.Blocked) != 0 || len(p.Accounts) != 0 {
		t.Errorf("failed account planned: %v", summary(p))
	}
}

func TestLifecycleValidate(t *testing.T) {
	lc := DefaultLifecycle()
	if err := lc.Validate(); err != nil {
		t.Fatal(err)
	}
	lc.DeactivateAfter = 120 * day
	if err := lc.Validate(); err == nil || !strings.Contains(err.Error(), "rotate_after < deactivate_after < delete_after") {
		t.Errorf("want ordering error, got %v", err)
	}
}
