package plan

import (
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// RotateSecret starts a Secrets Manager rotation (RotateSecret) of a
// secret whose rotation is configured and overdue. Secrets Manager runs
// the rotation function asynchronously; the action's outcome is that the
// rotation started, and the next audit shows whether it finished.
const RotateSecret Kind = "rotate-secret"

// SecretDue says when a secret is due for rotation and by which setting;
// ok is false when the policy does not judge the secret (excluded, or
// keyrot's own store).
type SecretDue func(a *inventory.Account, s *inventory.Secret) (due time.Time, schedule string, ok bool)

// secretActions returns a rotate-secret action for each secret of the
// account whose rotation is overdue and can be started: rotation turned on
// with a function, and no earlier rotation left unfinished (a lingering
// AWSPENDING makes RotateSecret fail; a human must look first, so such a
// secret is blocked instead).
func secretActions(a *inventory.Account, due SecretDue, now time.Time) (actions, blocked []Action) {
	if due == nil {
		return nil, nil
	}
	for i := range a.Secrets {
		s := &a.Secrets[i]
		if s.DeletedDate != nil || s.KeyrotStore || !s.RotationEnabled || !s.RotationConfigured() {
			continue
		}
		when, schedule, ok := due(a, s)
		if !ok || !now.After(when) {
			continue
		}
		act := Action{
			ID: string(RotateSecret) + "/" + a.ID + "/" + s.ARN, Kind: RotateSecret, AccountID: a.ID, AccountName: a.Name,
			Resource: s.ARN, Region: s.Region, Due: when, Expect: []KeyState{},
			Reason:   fmt.Sprintf("secret %s was due for rotation on %s (%s)", s.Name, when.UTC().Format("2006-01-02"), schedule),
			Evidence: Evidence{"secret": s.Name, "region": s.Region, "schedule": schedule, "rotation_days": fmt.Sprint(s.RotationDays)},
		}
		if s.LastRotatedDate != nil {
			act.Evidence["last_rotated"] = s.LastRotatedDate.UTC().Format(time.RFC3339)
		}
		if s.PendingVersion {
			act.Kind = Blocked
			act.Reason = fmt.Sprintf("secret %s is overdue for rotation, but its last rotation did not finish (an AWSPENDING version lingers); fix the rotation function, then resolve the AWSPENDING version before rotating again", s.Name)
			blocked = append(blocked, act)
			continue
		}
		actions = append(actions, act)
	}
	return actions, blocked
}
