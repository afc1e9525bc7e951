package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
)

func consoleLifecycle() ConsoleLifecycle {
	return ConsoleLifecycle{DisableUnused: true, UnusedAfter: 45 * day, DisableAfter: 60 * day}
}

// consoleSnap is alice (created day -1) with a console password last used
// on lastUsed (nil: never) and changed on day 0, and no access key.
func consoleSnap(lastUsed *int, mfa bool) *inventory.Snapshot {
	s := snap()
	u := &s.Accounts[0].Users[0]
	u.MFAActive = mfa
	u.Password = &inventory.Password{Enabled: true, LastChanged: ptr(at(0))}
	if lastUsed != nil {
		u.Password.LastUsed = ptr(at(*lastUsed))
	}
	return s
}

func TestConsoleLifecycle(t *testing.T) {
	ref := UserRef{"111111111111", "alice"}
	tests := []struct {
		name   string
		snap   *inventory.Snapshot
		lc     ConsoleLifecycle
		rot    Rotation
		exempt Exemption
		now    int
		want   []string
	}{
		{"used recently: nothing", consoleSnap(used(30), false), consoleLifecycle(), Rotation{}, Exemption{}, 40, nil},
		{"used recently with MFA: nothing", consoleSnap(used(30), true), consoleLifecycle(), Rotation{}, Exemption{}, 74, nil},
		// First found unused on day 60 (idle 50 days): the notice is given
		// now, so the disable date is the notice period (15 days) away,
		// after the 60 days unused (day 70).
		{"first found unused: notice, due after the notice period", consoleSnap(used(10), false), consoleLifecycle(), Rotation{}, Exemption{}, 60,
			[]string{"upcoming-disable-console:@1800h0m0s"}},
		{"noticed on day 55, due day 70", consoleSnap(used(10), false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(55)}, Exemption{}, 69,
			[]string{"upcoming-disable-console:@1680h0m0s"}},
		{"noticed on day 55, disabled on day 70", consoleSnap(used(10), false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(55)}, Exemption{}, 70,
			[]string{"disable-console:"}},
		{"met late (idle 200 days): still a notice period first", consoleSnap(used(10), false), consoleLifecycle(), Rotation{}, Exemption{}, 210,
			[]string{"upcoming-disable-console:@5400h0m0s"}},
		{"notice older than the last use is void", consoleSnap(used(10), false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(5)}, Exemption{}, 70,
			[]string{"upcoming-disable-console:@2040h0m0s"}},
		{"never used: idle from the password's creation", consoleSnap(nil, false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(45)}, Exemption{}, 60,
			[]string{"disable-console:"}},
		{"switched off: nothing", consoleSnap(nil, false), ConsoleLifecycle{UnusedAfter: 45 * day, DisableAfter: 60 * day}, Rotation{ConsoleNoticeAt: at(45)}, Exemption{}, 100, nil},
		{"exempt from console-unused", consoleSnap(nil, false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(45)}, Exemption{ConsoleExempt: true}, 100, nil},
		{"keys exempt, console not", consoleSnap(nil, false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(45)}, Exemption{Exempt: true}, 100,
			[]string{"disable-console:"}},
		{"a user blocked by a problem: nothing", consoleSnap(nil, false), consoleLifecycle(), Rotation{ConsoleNoticeAt: at(45), Problem: "tags unreadable"}, Exemption{}, 100,
			[]string{"blocked:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Snapshot: tt.snap, Lifecycle: DefaultLifecycle(), Console: tt.lc, Rotations: map[UserRef]Rotation{ref: tt.rot},
				Exempt: func(*inventory.Account, *inventory.User) Exemption { return tt.exempt }}
			if diff := cmp.Diff(tt.want, summary(Build(in, at(tt.now)))); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConsoleNoPassword: users who never had a password, or whose password
// is disabled, are not planned for.
func TestConsoleNoPassword(t *testing.T) {
	s := snap()
	s.Accounts[0].Users = append(s.Accounts[0].Users, inventory.User{Name: "bob", CreateDate: at(-100), Password: &inventory.Password{Enabled: false}})
	p := Build(Input{Snapshot: s, Lifecycle: DefaultLifecycle(), Console: consoleLifecycle()}, at(300))
	if got := summary(p); len(got) != 0 {
		t.Errorf("plan = %v, want nothing", got)
	}
}

// TestConsoleAction: the action's gate, ID and evidence, and the
// guardrails count it.
func TestConsoleAction(t *testing.T) {
	s := consoleSnap(used(10), false)
	ref := UserRef{"111111111111", "alice"}
	in := Input{Snapshot: s, Lifecycle: DefaultLifecycle(), Console: consoleLifecycle(), Rotations: map[UserRef]Rotation{ref: {ConsoleNoticeAt: at(55)}}}
	p := Build(in, at(80))
	if len(p.Actions) != 1 {
		t.Fatalf("actions: %v", summary(p))
	}
	a := p.Actions[0]
	if a.ID != "disable-console/111111111111/alice" || a.Kind != DisableConsole || !a.Gate.UnusedSince.Equal(at(10).Add(time.Second)) || !a.Due.Equal(at(70)) {
		t.Errorf("action = %+v", a)
	}
	if a.Evidence["console_last_used"] != "2026-01-11T00:00:00Z" || a.Evidence["noticed"] != "2026-02-25T00:00:00Z" || a.Evidence["idle_days"] != "70" {
		t.Errorf("evidence = %v", a.Evidence)
	}
	in.Limits = Limits{MaxChanges: 2}
	s.Accounts[0].Users[0].Keys = []inventory.AccessKey{key("K1", "Active", 0, used(10))} // unused: deactivated
	p = Build(in, at(80))
	if diff := cmp.Diff([]string{"deactivate-key:K1", "disable-console:"}, summary(p)); diff != "" {
		t.Errorf("two changes within max_changes 2 (-want +got):\n%s", diff)
	}
	in.Limits = Limits{MaxChangesPerAccount: 1}
	if diff := cmp.Diff([]string{"deferred-deactivate-key:K1", "deferred-disable-console:"}, summary(Build(in, at(80)))); diff != "" {
		t.Errorf("over max_changes_per_account (-want +got):\n%s", diff)
	}
}

func TestDisableDue(t *testing.T) {
	c := consoleLifecycle()
	if got := c.DisableDue(at(0), at(45)); !got.Equal(at(60)) {
		t.Errorf("on time: %v", got)
	}
	if got := c.DisableDue(at(0), at(100)); !got.Equal(at(115)) {
		t.Errorf("late notice: %v", got)
	}
}
