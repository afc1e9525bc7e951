package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
)

// TestServiceExemptUserOrphan: the never-stored credential of an
// interrupted creation (nobody holds its secret) is keyrot's own leftover:
// it is deleted for an exempt user too, as an orphan key is, and nothing
// else is planned for that user (its old credential, past rotate_after,
// is not rotated).
func TestServiceExemptUserOrphan(t *testing.T) {
	cc := inventory.ServiceCodeCommit
	s := credSnap(cred("ACCAOLD", cc, inventory.KeyActive, 0), cred("ACCAORPHAN", cc, inventory.KeyActive, 95))
	lc := DefaultLifecycle()
	rec := ServiceRecord{PendingSince: at(95), PendingBefore: []string{"ACCAOLD"}}
	svc := &Services{Lifecycle: lc, Records: map[ServiceRef]ServiceRecord{{"111111111111", "alice", cc}: rec}}
	exempt := func(*inventory.Account, *inventory.User) Exemption {
		return Exemption{Exempt: true, Reason: "break-glass"}
	}
	for _, tt := range []struct {
		name string
		now  int
		want []string
	}{
		{"orphan past its grace", 96, []string{"delete-service-credential:ACCAORPHAN"}},
		{"no orphan: nothing", 96, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := s
			if tt.want == nil {
				snap = credSnap(cred("ACCAOLD", cc, inventory.KeyActive, 0))
			}
			p := Build(Input{Snapshot: snap, Lifecycle: lc, Services: svc, Exempt: exempt}, at(tt.now))
			if diff := cmp.Diff(tt.want, serviceSummary(p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
