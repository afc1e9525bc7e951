// Package service composes keyrot's steps into runs: collect the inventory,
// audit it, plan and apply rotations, and notify. It is what the CLI and
// scheduled entry points call; it holds no state between runs.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/policy"
)

// Scope selects the accounts of a run; empty fields fall back to the policy's
// organization section.
type Scope struct {
	Accounts        []string
	OUs             []string
	ExcludeAccounts []string
	// SingleAccount audits only the caller's own account, without Organizations.
	SingleAccount bool
	RoleName      string
	ExternalID    string
	Concurrency   int
	// Fresh lists users and keys live, not trusting a credential report
	// that may be up to four hours old.
	Fresh bool
}

// Runner runs keyrot's jobs against one AWS configuration.
type Runner struct {
	Policy *policy.Policy
	AWS    aws.Config
	Scope  Scope
	// Progress, if set, is told about each account collected.
	Progress func(done, total int, account string)
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxChanges, when positive, overrides the policy's rotation.max_changes.
	MaxChanges int
	// CollectOptions, if set, adjusts the collector's options (tests).
	CollectOptions func(*collect.Options)
	// NotifyConfig is keyrot.yaml's notify section, decoded and checked by
	// internal/config; nil means no notifications.
	NotifyConfig *notify.Config
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// collectOptions builds the collector's options from the policy and scope.
// Tags and groups are read only for users with a finding, so a compliant
// account costs a handful of calls whatever its size.
func (r *Runner) collectOptions() collect.Options {
	p := r.Policy
	org := p.Organization
	role := collect.Role{Name: first(r.Scope.RoleName, org.RoleName), ExternalID: first(r.Scope.ExternalID, org.ExternalID)}
	o := collect.AWSOptions(r.AWS, role)
	o.SingleAccount = r.Scope.SingleAccount
	o.Accounts = firstList(r.Scope.Accounts, org.Accounts)
	o.OUs = firstList(r.Scope.OUs, org.OUs)
	o.ExcludeAccounts = append(append([]string(nil), org.ExcludeAccounts...), r.Scope.ExcludeAccounts...)
	o.Concurrency = org.Concurrency
	if r.Scope.Concurrency > 0 {
		o.Concurrency = r.Scope.Concurrency
	}
	o.Fresh = r.Scope.Fresh
	o.OUPaths, o.AccountTags = false, false
	for _, ex := range p.Exemptions {
		if ex.Match.OU != "" {
			o.OUPaths = true
		}
		if ex.Match.Tag != "" {
			o.AccountTags = true
		}
	}
	// Live key facts (IDs, exact last use) only for users the report says
	// break policy, have two keys, or have an inactive key: they are the only
	// ones an audit reports on or a plan acts on.
	o.KeyIDsFor = func(a *inventory.Account, u *inventory.User) bool {
		if len(u.Keys) > 1 {
			return true
		}
		for _, k := range u.Keys {
			if !k.Active() {
				return true
			}
		}
		return needsDetail(p, a, u, r.now())
	}
	o.NeedTagsGroups = true
	o.TagsGroupsFor = func(a *inventory.Account, u *inventory.User) bool {
		return needsDetail(p, a, u, r.now())
	}
	o.Progress = r.Progress
	o.Logger = r.Logger
	o.Now = r.now
	if r.CollectOptions != nil {
		r.CollectOptions(&o)
	}
	return o
}

// needsDetail reports whether u needs live facts: it breaks policy, or one
// of its keys reaches the rotation age (the planner acts on the day it is
// reached; the audit reports a key only once it is older).
func needsDetail(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	rotate := time.Duration(p.AccessKeys.RotateAfter)
	for _, ex := range p.Exemptions {
		if ex.AccessKeys != nil {
			rotate = min(rotate, time.Duration(p.EffectiveAccessKeys(ex.AccessKeys).RotateAfter))
		}
	}
	for _, k := range u.Keys {
		if now.Sub(k.CreateDate) >= rotate-24*time.Hour {
			return true
		}
	}
	return hasFinding(p, a, u, now)
}

// hasFinding reports whether u, judged alone and without tags, breaks policy.
func hasFinding(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	one := &inventory.Snapshot{Accounts: []inventory.Account{{ID: a.ID, Name: a.Name, OUPath: a.OUPath, Tags: a.Tags, Status: inventory.AccountAudited, Users: []inventory.User{*u}}}}
	for _, f := range audit.Evaluate(p, one, now).Findings {
		if f.User == u.Name {
			return true
		}
	}
	return false
}

// Collect gathers the inventory of the scope.
func (r *Runner) Collect(ctx context.Context) (*inventory.Snapshot, error) {
	snap, err := collect.Collect(ctx, r.collectOptions())
	if err != nil {
		return nil, fmt.Errorf("collect inventory: %w", err)
	}
	return snap, nil
}

// Audit collects the inventory and judges it against the policy. Findings
// that keyrot's own rotation in progress explains are marked so (see
// markRotationsInProgress).
func (r *Runner) Audit(ctx context.Context) (*audit.Result, error) {
	snap, err := r.Collect(ctx)
	if err != nil {
		return nil, err
	}
	res := audit.Evaluate(r.Policy, snap, r.now())
	r.markRotationsInProgress(ctx, res)
	return res, nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstList(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
