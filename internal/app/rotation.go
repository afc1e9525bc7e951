package app

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Lifecycle returns the planner's lifecycle for the policy's access key settings.
func Lifecycle(p *policy.Policy, ak policy.AccessKeys) plan.Lifecycle {
	return plan.Lifecycle{
		RotateAfter:      time.Duration(ak.RotateAfter),
		DeactivateAfter:  time.Duration(ak.DeactivateAfter),
		DeleteAfter:      time.Duration(ak.DeleteAfter),
		UnusedAfter:      time.Duration(ak.UnusedAfter),
		DeactivateUnused: true,
		OrphanGrace:      time.Duration(p.Rotation.OrphanGrace),
	}
}

// ServiceCredentials returns the planner's and the executor's periods of
// the service-specific credential lifecycle (service_credentials), without
// records.
func ServiceCredentials(p *policy.Policy) plan.Services {
	sc := p.ServiceCredentials
	return plan.Services{
		Lifecycle: plan.Lifecycle{RotateAfter: time.Duration(sc.RotateAfter), DeactivateAfter: time.Duration(sc.DeactivateAfter),
			DeleteAfter: time.Duration(sc.DeleteAfter), UnusedAfter: time.Duration(p.AccessKeys.UnusedAfter), OrphanGrace: time.Duration(p.Rotation.OrphanGrace)},
		APIKeyMaxLifetime: time.Duration(sc.APIKeyMaxLifetime),
	}
}

// Clients gives the executor its clients: the caller's own account with the
// caller's credentials, member accounts through the organization role, and
// the secret store in the user's account or the central one.
type Clients struct {
	base   aws.Config
	access *awsaccess.Accounts
	policy *policy.Policy
}

var _ execute.Clients = (*Clients)(nil)

// clients returns the executor's Clients for the scope's role.
func (r *App) clients(scope Scope) *Clients {
	return &Clients{base: r.AWS, access: r.access(scope), policy: r.Policy}
}

// config returns the aws.Config that acts in account.
func (c *Clients) config(ctx context.Context, account string) (aws.Config, error) {
	return c.access.Config(ctx, account)
}

// IAM returns an IAM client acting in account.
func (c *Clients) IAM(ctx context.Context, account string) (execute.IAM, error) {
	cfg, err := c.config(ctx, account)
	if err != nil {
		return nil, err
	}
	return awsconf.NewIAM(cfg), nil
}

// Secrets returns the store for the secrets of account's users.
func (c *Clients) Secrets(ctx context.Context, account string) (execute.KeyStore, error) {
	rot := c.policy.Rotation
	target, region := account, ""
	if rot.Store == "central" {
		target, region = rot.Central.Account, rot.Central.Region
	}
	cfg, err := c.config(ctx, target)
	if err != nil {
		return nil, err
	}
	if region != "" {
		cfg = cfg.Copy()
		cfg.Region = region
	}
	st, err := secretstore.New(secretsmanager.NewFromConfig(cfg), secretstore.Config{
		NameTemplate: rot.SecretName, KMSKeyID: rot.KMSKeyID, Readers: rot.Readers, Region: cfg.Region,
	})
	if err != nil {
		return nil, err // not a nil *Store in a non-nil KeyStore
	}
	return st, nil
}

// KeyConfig returns the configuration to sign with a user's own key.
func (c *Clients) KeyConfig(context.Context, string) (aws.Config, error) {
	cfg := c.base.Copy()
	cfg.Credentials = nil
	return cfg, nil
}

// RotationPlan is a computed plan with the facts behind it.
type RotationPlan struct {
	Snapshot  *inventory.Snapshot
	Rotations map[plan.UserRef]plan.Rotation
	Plan      *plan.Plan
	// ServiceRecords are keyrot's records of the service-specific
	// credentials (nil unless service_credentials.rotate is on).
	ServiceRecords map[plan.ServiceRef]plan.ServiceRecord
}

// planRotation collects the inventory, gathers keyrot's rotation records
// (read-only: nothing is written before a run is confirmed) and builds the
// plan. maxChanges, when positive, overrides the policy's max_changes.
func (r *App) planRotation(ctx context.Context, ex *execute.Executor, scope Scope, maxChanges int) (*RotationPlan, error) {
	snap, err := r.collect(ctx, scope)
	if err != nil {
		return nil, err
	}
	p := r.Policy
	r.progress().Phase(PhaseGather)
	rots, err := ex.Gather(ctx, snap, execute.GatherOptions{RotateAfter: time.Duration(p.AccessKeys.RotateAfter), ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("gather rotation records: %w", err)
	}
	var svcs *plan.Services
	var recs map[plan.ServiceRef]plan.ServiceRecord
	if p.ServiceCredentials.Rotate {
		recs, err = ex.GatherServices(ctx, snap)
		if err != nil {
			return nil, fmt.Errorf("gather service credential records: %w", err)
		}
		s := ServiceCredentials(p)
		s.Records = recs
		svcs = &s
	}
	now := r.now()
	limits := r.limits(maxChanges)
	built := plan.Build(plan.Input{
		Snapshot: snap, Lifecycle: Lifecycle(p, p.AccessKeys), Limits: limits, Rotations: rots,
		Exempt:    func(a *inventory.Account, u *inventory.User) plan.Exemption { return rotationExemption(p, a, u, now) },
		SecretDue: secretDue(p),
		Services:  svcs,
	}, now)
	return &RotationPlan{Snapshot: snap, Rotations: rots, Plan: built, ServiceRecords: recs}, nil
}

// limits returns the guardrails in force: the policy's, with maxChanges
// overriding max_changes when positive.
func (r *App) limits(maxChanges int) plan.Limits {
	l := plan.Limits{MaxChanges: r.Policy.Rotation.MaxChanges, MaxChangesPerAccount: r.Policy.Rotation.MaxChangesPerAccount}
	if maxChanges > 0 {
		l.MaxChanges = maxChanges
	}
	return l
}

// rotationExemption maps the policy's exemptions to the planner's view. A
// user whose tags or groups could not be read is left alone: an exemption
// might have been missed.
func rotationExemption(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) plan.Exemption {
	for _, e := range a.Errors {
		if e.User == u.Name && (e.Op == "ListUserTags" || e.Op == "ListGroupsForUser") {
			return plan.Exemption{Exempt: true, Reason: "tags or groups could not be read (" + e.Message + "); not acting on a guess"}
		}
	}
	ex := audit.ExemptionForRotation(p, a, u, now)
	out := plan.Exemption{Exempt: ex.Exempt, Reason: ex.Reason}
	if ex.Override != "" {
		lc := Lifecycle(p, ex.AccessKeys)
		out.Lifecycle = &lc
	}
	return out
}
