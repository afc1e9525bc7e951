package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
)

func TestCreatedByPending(t *testing.T) {
	mark := at(90)
	withKeys := Rotation{PendingSince: mark, PendingBefore: "OLD1/OLD2", PendingBeforeKnown: true}
	legacy := Rotation{PendingSince: mark}
	tests := []struct {
		name    string
		r       Rotation
		key     string
		created time.Time
		want    bool
	}{
		{"no mark", Rotation{}, "NEW", mark, false},
		{"seconds after", withKeys, "NEW", mark.Add(2 * time.Second), true},
		{"host 90s ahead of AWS", withKeys, "NEW", mark.Add(-90 * time.Second), true},
		{"host 5m ahead", withKeys, "NEW", mark.Add(-5 * time.Minute), true},
		{"host 5m behind", withKeys, "NEW", mark.Add(5*time.Minute + 2*time.Second), true},
		{"a key the user had", withKeys, "OLD2", mark.Add(-30 * time.Second), false},
		{"a person's key a day later", withKeys, "HUMAN", mark.Add(day), false},
		{"beyond the window and allowance", withKeys, "LATE", mark.Add(31 * time.Minute), false},
		{"older than any allowed skew", withKeys, "EARLY", mark.Add(-16 * time.Minute), false},
		{"legacy mark: one minute before only", legacy, "NEW", mark.Add(-90 * time.Second), false},
		{"legacy mark: after", legacy, "NEW", mark.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CreatedByPending(tt.r, tt.key, tt.created); got != tt.want {
				t.Errorf("CreatedByPending = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestExemptUserOrphan: an exempt user's orphan (a killed rotate --now) is
// deleted after the grace period; nothing else is planned for the user.
func TestExemptUserOrphan(t *testing.T) {
	mark := at(200)
	s := snap(key("K1", "Active", 0, used(199)), inventory.AccessKey{ID: "ORPHAN", Status: "Active", CreateDate: mark.Add(time.Second), LastUsedKnown: true})
	in := Input{Snapshot: s, Lifecycle: DefaultLifecycle(),
		Rotations: map[UserRef]Rotation{{"111111111111", "alice"}: {PendingSince: mark, PendingBefore: "K1", PendingBeforeKnown: true}},
		Exempt: func(*inventory.Account, *inventory.User) Exemption {
			return Exemption{Exempt: true, Reason: "break-glass"}
		}}
	if diff := cmp.Diff([]string{"upcoming-delete-orphan:ORPHAN@4801h0m1s"}, summary(Build(in, mark.Add(time.Minute)))); diff != "" {
		t.Errorf("within grace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"delete-orphan:ORPHAN"}, summary(Build(in, mark.Add(2*time.Hour)))); diff != "" {
		t.Errorf("after grace (-want +got):\n%s", diff)
	}
}

// TestProblemBlocksUser: a user whose records gathering could not read or
// write is blocked with the problem, and nothing is planned for it.
func TestProblemBlocksUser(t *testing.T) {
	s := snap(key("K1", "Active", 0, used(95)), key("K2", "Inactive", 0, nil))
	in := Input{Snapshot: s, Lifecycle: DefaultLifecycle(),
		Rotations: map[UserRef]Rotation{{"111111111111", "alice"}: {Problem: "user alice has 50 tags, IAM's maximum"}}}
	p := Build(in, at(120))
	if len(p.Actions) != 0 || len(p.Blocked) != 1 || !strings.Contains(p.Blocked[0].Reason, "50 tags") {
		t.Fatalf("plan: %v %+v", summary(p), p.Blocked)
	}
}
