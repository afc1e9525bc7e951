package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
)

func cred(id, svc string, status inventory.KeyStatus, createdDay int) inventory.ServiceCredential {
	return inventory.ServiceCredential{ID: id, Service: svc, Status: status, CreateDate: at(createdDay)}
}

func credSnap(creds ...inventory.ServiceCredential) *inventory.Snapshot {
	s := snap(key("K1", "Active", 0, used(1)))
	s.Accounts[0].Users[0].ServiceCredentials = creds
	return s
}

func servicePlan(s *inventory.Snapshot, rec *ServiceRecord, now time.Time) *Plan {
	lc := DefaultLifecycle()
	svc := &Services{Lifecycle: lc, APIKeyMaxLifetime: 90 * day, Records: map[ServiceRef]ServiceRecord{}}
	if rec != nil {
		svc.Records[ServiceRef{"111111111111", "alice", inventory.ServiceCodeCommit}] = *rec
	}
	return Build(Input{Snapshot: s, Lifecycle: lc, Services: svc}, now)
}

// serviceSummary is summary without the access key's own items.
func serviceSummary(p *Plan) []string {
	var out []string
	for _, s := range summary(p) {
		if !strings.Contains(s, ":K1") {
			out = append(out, s)
		}
	}
	return out
}

// TestServiceLifecycle walks one CodeCommit credential through the 90/100/110
// lifecycle with keyrot's records as the service secret's tags hold them.
func TestServiceLifecycle(t *testing.T) {
	cc := inventory.ServiceCodeCommit
	old := cred("ACCAOLD", cc, inventory.KeyActive, 0)
	stored := &ServiceRecord{CredentialID: "ACCANEW", StoredAt: at(90)}
	deact := &ServiceRecord{CredentialID: "ACCANEW", StoredAt: at(90), DeactivatedID: "ACCAOLD", DeactivatedAt: at(100)}
	tests := []struct {
		name  string
		creds []inventory.ServiceCredential
		rec   *ServiceRecord
		now   int
		want  []string
	}{
		{"young", []inventory.ServiceCredential{old}, nil, 50, []string{"upcoming-create-service-credential:ACCAOLD@2160h0m0s"}},
		{"due", []inventory.ServiceCredential{old}, nil, 90, []string{"create-service-credential:ACCAOLD"}},
		{"quota: two of the service", []inventory.ServiceCredential{old, cred("ACCAHUMAN", cc, inventory.KeyInactive, 5)}, nil, 95,
			[]string{"blocked:ACCAOLD"}},
		{"another service's credential takes no slot", []inventory.ServiceCredential{old, cred("ACCAKS", inventory.ServiceKeyspaces, inventory.KeyActive, 80)}, nil, 95,
			[]string{"create-service-credential:ACCAOLD", "upcoming-create-service-credential:ACCAKS@4080h0m0s"}},
		{"stored: deactivation waits the window", []inventory.ServiceCredential{old, cred("ACCANEW", cc, inventory.KeyActive, 90)}, stored, 95,
			[]string{"upcoming-deactivate-service-credential:ACCAOLD@2400h0m0s"}},
		{"stored late: window from the store", []inventory.ServiceCredential{cred("ACCAOLD", cc, inventory.KeyActive, -50), cred("ACCANEW", cc, inventory.KeyActive, 90)}, stored, 95,
			[]string{"upcoming-deactivate-service-credential:ACCAOLD@2400h0m0s"}},
		{"deactivation due", []inventory.ServiceCredential{old, cred("ACCANEW", cc, inventory.KeyActive, 90)}, stored, 100,
			[]string{"deactivate-service-credential:ACCAOLD"}},
		{"rolled back: a person decides", []inventory.ServiceCredential{old, cred("ACCANEW", cc, inventory.KeyActive, 90)},
			&ServiceRecord{CredentialID: "ACCANEW", StoredAt: at(90), RolledBackID: "ACCAOLD", RolledBackAt: at(101)}, 105, []string{"blocked:ACCAOLD"}},
		{"deactivated: deletion waits", []inventory.ServiceCredential{cred("ACCAOLD", cc, inventory.KeyInactive, 0), cred("ACCANEW", cc, inventory.KeyActive, 90)}, deact, 105,
			[]string{"upcoming-delete-service-credential:ACCAOLD@2640h0m0s"}},
		{"deletion due", []inventory.ServiceCredential{cred("ACCAOLD", cc, inventory.KeyInactive, 0), cred("ACCANEW", cc, inventory.KeyActive, 90)}, deact, 110,
			[]string{"delete-service-credential:ACCAOLD"}},
		{"inactive but not by keyrot: left to the audit", []inventory.ServiceCredential{cred("ACCAOLD", cc, inventory.KeyInactive, 0), cred("ACCANEW", cc, inventory.KeyActive, 90)}, stored, 200, nil},
		{"deleted: the new one's turn", []inventory.ServiceCredential{cred("ACCANEW", cc, inventory.KeyActive, 90)}, deact, 150,
			[]string{"upcoming-create-service-credential:ACCANEW@4320h0m0s"}},
		{"interrupted creation: its credential is an orphan", []inventory.ServiceCredential{old, cred("ACCAORPH", cc, inventory.KeyActive, 90)},
			&ServiceRecord{PendingSince: at(90).Add(-time.Minute), PendingBefore: []string{"ACCAOLD"}}, 91, []string{"delete-service-credential:ACCAORPH"}},
		{"orphan within its grace", []inventory.ServiceCredential{old, cred("ACCAORPH", cc, inventory.KeyActive, 90)},
			&ServiceRecord{PendingSince: at(90).Add(-time.Minute), PendingBefore: []string{"ACCAOLD"}}, 90, []string{"upcoming-delete-service-credential:ACCAORPH@2161h0m0s"}},
		{"a person's credential after a stale mark is no orphan", []inventory.ServiceCredential{old, cred("ACCAHUMAN", cc, inventory.KeyActive, 92)},
			&ServiceRecord{PendingSince: at(90), PendingBefore: []string{"ACCAOLD"}}, 95, []string{"blocked:ACCAOLD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := servicePlan(credSnap(tt.creds...), tt.rec, at(tt.now))
			if diff := cmp.Diff(tt.want, serviceSummary(p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, a := range append(append([]Action(nil), p.Actions...), p.Blocked...) {
				if ServiceKind(a.Kind) || a.Service != "" {
					n := 0
					for _, c := range tt.creds {
						if c.Service == a.Service {
							n++
						}
					}
					if a.Service == "" || len(a.Expect) != n {
						t.Errorf("%s: service %q, expect %v", a.ID, a.Service, a.Expect)
					}
					if !strings.Contains(a.Evidence["last_used"], "not recorded by AWS") {
						t.Errorf("%s: evidence does not say there is no last use: %v", a.ID, a.Evidence)
					}
				}
			}
		})
	}
}

// serviceActions returns the plan's service-specific credential actions.
func serviceActionsOf(p *Plan) []Action {
	var out []Action
	for _, a := range p.Actions {
		if ServiceKind(a.Kind) {
			out = append(out, a)
		}
	}
	return out
}

// TestServiceReasons: the deactivation's reason says that the gate is time
// and notice, for lack of a last use; the quota's says what to do.
func TestServiceReasons(t *testing.T) {
	cc := inventory.ServiceCodeCommit
	p := servicePlan(credSnap(cred("ACCAOLD", cc, inventory.KeyActive, 0), cred("ACCANEW", cc, inventory.KeyActive, 90)),
		&ServiceRecord{CredentialID: "ACCANEW", StoredAt: at(90)}, at(100))
	if a := serviceActionsOf(p); len(a) != 1 || !strings.Contains(a[0].Reason, "no last use") || !strings.Contains(a[0].Reason, "time and notice") {
		t.Errorf("deactivation reason: %+v", a)
	}
	p = servicePlan(credSnap(cred("ACCAOLD", cc, inventory.KeyActive, 0), cred("ACCAB", cc, inventory.KeyActive, 1)), nil, at(100))
	if len(p.Blocked) != 1 || !strings.Contains(p.Blocked[0].Reason, "two codecommit credentials") {
		t.Errorf("quota: %+v", p.Blocked)
	}
}

// TestServiceRotationOff: without Input.Services nothing is planned for
// service-specific credentials (the policy's switch is off).
func TestServiceRotationOff(t *testing.T) {
	p := Build(Input{Snapshot: credSnap(cred("ACCAOLD", inventory.ServiceCodeCommit, inventory.KeyActive, 0)), Lifecycle: DefaultLifecycle()}, at(200))
	if got := serviceSummary(p); len(got) != 0 {
		t.Errorf("planned %v", got)
	}
}

// TestAPIKeyLifetime: a rotated Bedrock key never gets "no expiry".
func TestAPIKeyLifetime(t *testing.T) {
	exp := func(d int) *time.Time { return ptr(at(d)) }
	lc := DefaultLifecycle()
	tests := []struct {
		name string
		max  time.Duration
		old  inventory.ServiceCredential
		want time.Duration
	}{
		{"the old key's lifetime", 90 * day, inventory.ServiceCredential{CreateDate: at(0), ExpirationDate: exp(30)}, 30 * day},
		{"capped by the policy", 90 * day, inventory.ServiceCredential{CreateDate: at(0), ExpirationDate: exp(365)}, 90 * day},
		{"no expiry: the policy's maximum", 90 * day, inventory.ServiceCredential{CreateDate: at(0)}, 90 * day},
		{"neither: delete_after", 0, inventory.ServiceCredential{CreateDate: at(0)}, lc.DeleteAfter},
		{"at least a day", 0, inventory.ServiceCredential{CreateDate: at(0), ExpirationDate: ptr(at(0).Add(time.Hour))}, day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Services{Lifecycle: lc, APIKeyMaxLifetime: tt.max}).APIKeyLifetime(tt.old); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAPIKeyRotatedBeforeExpiry: a Bedrock key that expires before
// rotate_after is replaced early enough for the whole switch window.
func TestAPIKeyRotatedBeforeExpiry(t *testing.T) {
	k := cred("ACCABED", inventory.ServiceBedrock, inventory.KeyActive, 0)
	k.ExpirationDate = ptr(at(30))
	s := credSnap(k)
	lc := DefaultLifecycle()
	in := Input{Snapshot: s, Lifecycle: lc, Services: &Services{Lifecycle: lc, APIKeyMaxLifetime: 90 * day}}
	if diff := cmp.Diff([]string{"upcoming-create-service-credential:ACCABED@480h0m0s"}, serviceSummary(Build(in, at(10)))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if a := serviceActionsOf(Build(in, at(20))); len(a) != 1 || a[0].Evidence["new_lifetime_days"] != "30" {
		t.Errorf("at day 20: %+v", a)
	}
}

// TestSavedPlanServiceActions: a saved plan with a service credential's
// rotation round-trips its digest and is narrowed to the plan computed now;
// the same action under another service, or a kind keyrot does not carry
// out, is refused.
func TestSavedPlanServiceActions(t *testing.T) {
	now := at(95)
	current := servicePlan(credSnap(cred("ACCAOLD", inventory.ServiceCodeCommit, inventory.KeyActive, 0)), nil, now)
	b, err := Encode(current)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Narrow(saved, current, now, 0, nil)
	if err != nil {
		t.Fatalf("narrow: %v", err)
	}
	if a := serviceActionsOf(got); len(a) != 1 || a[0].Service != inventory.ServiceCodeCommit {
		t.Fatalf("narrowed: %+v", got.Actions)
	}
	for name, edit := range map[string]func(*Action){
		"other service": func(a *Action) { a.Service = inventory.ServiceKeyspaces },
		"unknown kind":  func(a *Action) { a.Kind = "reset-service-credential" },
	} {
		t.Run(name, func(t *testing.T) {
			forged := *saved
			forged.Actions = nil
			for _, a := range saved.Actions {
				if ServiceKind(a.Kind) {
					edit(&a)
				}
				forged.Actions = append(forged.Actions, a)
			}
			if _, err := Narrow(&forged, current, now, 0, nil); !errors.Is(err, ErrBadFile) {
				t.Errorf("forged plan accepted: %v", err)
			}
		})
	}
}
