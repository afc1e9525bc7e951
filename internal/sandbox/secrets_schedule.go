package sandbox

import (
	"context"
	"fmt"
	"time"
)

// Rotation schedules and the scenario's simulated rotation functions.
//
// DescribeSecret and ListSecrets carry RotationRules (AutomaticallyAfterDays)
// and NextRotationDate, which Secrets Manager omits when rotation is off
// ("If the secret isn't configured for rotation or rotation has been
// disabled, Secrets Manager returns null", DescribeSecret in the Secrets
// Manager API reference). ScheduleExpression and Duration are not modelled.
//
// A scenario secret with rotation has no Lambda function behind it. When
// no RotationHandler is registered for its function, RotateSecret runs a
// simulated one: RotateSecret returns at once with the new version's ID,
// as AWS does (rotation is asynchronous), and then the version is created
// AWSPENDING; with outcome "succeed" AWSCURRENT moves to it (AWSPREVIOUS to
// the old one) and LastRotatedDate is set; with outcome "fail" it stays
// AWSPENDING and nothing else changes. That is how a failed rotation shows
// in the API, as the RotateSecret API reference says: "If the AWSPENDING
// staging label is present but not attached to the same version as
// AWSCURRENT, then any later invocation of RotateSecret assumes that a
// previous rotation request is still in progress and returns an error.
// When rotation is unsuccessful, the AWSPENDING staging label might be
// attached to an empty secret version." (The next RotateSecret answers
// InvalidRequestException "A previous rotation isn't complete".)

type smRotationRules struct {
	AutomaticallyAfterDays *int64 `json:"AutomaticallyAfterDays,omitempty"`
}

func smRulesOut(sec *Secret) *smRotationRules {
	if sec.RotationDays == 0 {
		return nil
	}
	d := int64(sec.RotationDays)
	return &smRotationRules{AutomaticallyAfterDays: &d}
}

// smNextRotation is the date of the next scheduled rotation: the last
// rotation (or the secret's creation) plus the schedule; nil when
// rotation is off or has no schedule.
func smNextRotation(sec *Secret) *time.Time {
	if !sec.RotationEnabled || sec.RotationDays == 0 {
		return nil
	}
	base := sec.CreatedDate
	if sec.LastRotatedDate != nil {
		base = *sec.LastRotatedDate
	}
	t := base.Add(time.Duration(sec.RotationDays) * day)
	return &t
}

// smSetRules applies RotateSecret's RotationRules.
func smSetRules(sec *Secret, rules *smRotationRules) error {
	if rules == nil || rules.AutomaticallyAfterDays == nil {
		return nil
	}
	d := *rules.AutomaticallyAfterDays
	if d < 1 || d > 1000 {
		return smErr("ValidationException", "1 validation error detected: Value '%d' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value between 1 and 1000", d)
	}
	sec.RotationDays = int(d)
	return nil
}

// simulatedRotation returns the rotation function of a scenario secret.
func (s *Server) simulatedRotation(outcome string) RotationHandler {
	return func(_ context.Context, step, secretARN, token string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		sec := s.secretByARNLocked(secretARN)
		if sec == nil {
			return fmt.Errorf("%s: secret %s not found", step, secretARN)
		}
		now := s.clock.Now()
		switch step {
		case "createSecret":
			if sec.Versions[token] == nil {
				value := "rotated-" + newRequestID()
				sec.Versions[token] = &SecretVersion{ID: token, String: &value, CreatedDate: now}
				smAttach(sec, smPending, sec.Versions[token])
				sec.LastChangedDate = now
			}
		case "setSecret":
			if outcome == "fail" {
				return fmt.Errorf("setSecret: the simulated rotation function of %s fails", sec.Name)
			}
		case "finishSecret":
			v := sec.Versions[token]
			if v == nil {
				return fmt.Errorf("finishSecret: version %s not found", token)
			}
			smAttach(sec, smCurrent, v)
			smRemoveStage(v, smPending)
			sec.LastChangedDate = now
		}
		return nil
	}
}

// secretByARNLocked finds a secret by its ARN in any account and region.
func (s *Server) secretByARNLocked(arn string) *Secret {
	for _, a := range s.st.Accounts {
		for _, secs := range a.Secrets {
			for _, sec := range secs {
				if sec.ARN == arn {
					return sec
				}
			}
		}
	}
	return nil
}
