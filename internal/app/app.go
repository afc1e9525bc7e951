// Package app is keyrot's application layer: one method of App per use
// case (Audit, Plan, Apply, Rollback, RotateNow, KeyStory, Runs), each
// taking a request value and returning a result value. It composes the
// steps (collect the inventory, audit it, gather rotation records, plan,
// execute, notify) and keeps the run record; it never parses flags and
// never prints. The CLI, and later the service and Lambda entry points,
// parse their input, call these methods and render the results.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/backends"
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
	// Listed, if set, are the accounts as an earlier listing of the
	// organization gave them: the run collects exactly these and does not
	// list the organization again (Accounts, OUs and ExcludeAccounts are
	// ignored).
	Listed *collect.Listing
}

// App runs keyrot's use cases against one AWS configuration. Its fields
// are set once by the composition root (the CLI, the service); its methods
// are safe for concurrent use.
type App struct {
	Policy *policy.Policy
	// Notify is the notification configuration; nil or no channels means
	// nobody is told (Apply warns).
	Notify *notify.Config
	AWS    aws.Config
	// History is the run record, journal and lease store; required by
	// Apply, Rollback, RotateNow, KeyStory and Runs.
	History Store
	// Progress, if set, is told about each phase and step of a run.
	Progress Progress
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Host and Version identify this keyrot in run records.
	Host, Version string
	// ActionTimeout bounds one action of the executor (its steps run to the
	// end even when the run is cancelled); execute's default if zero.
	ActionTimeout time.Duration
	// Retention is how long audits are kept in the history; at the end of
	// each run older ones are pruned (never the journal). Zero keeps all.
	Retention time.Duration
	// Deliver is the deliver section: where new keys are pushed once
	// verified, before their old keys are deactivated. nil delivers
	// nowhere.
	Deliver *deliver.Config
	// DeliverEnv, if set, replaces the process's environment and home
	// directory when destinations are opened (tests).
	DeliverEnv *backends.Env
	// EmergencyDeliverWait bounds an emergency rotation's delivery in all;
	// execute's default if zero.
	EmergencyDeliverWait time.Duration
	// CollectOptions, if set, adjusts the collector's options (tests).
	CollectOptions func(*collect.Options)

	// accounts holds one access layer per role, shared by the collector
	// and the executor: a role is assumed once per account per App.
	mu       sync.Mutex
	accounts map[awsaccess.Role]*awsaccess.Accounts
}

// access returns the per-account access layer for the scope's role.
func (r *App) access(scope Scope) *awsaccess.Accounts {
	org := r.Policy.Organization
	role := awsaccess.Role{Name: first(scope.RoleName, org.RoleName), ExternalID: first(scope.ExternalID, org.ExternalID), SessionName: awsaccess.DefaultSessionName}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts == nil {
		r.accounts = map[awsaccess.Role]*awsaccess.Accounts{}
	}
	acc, ok := r.accounts[role]
	if !ok {
		acc = awsaccess.New(r.AWS, role)
		r.accounts[role] = acc
	}
	return acc
}

func (r *App) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *App) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// collectOptions builds the collector's options from the policy and scope.
// Tags and groups are read only for users with a finding, so a compliant
// account costs a handful of calls whatever its size.
func (r *App) collectOptions(scope Scope) collect.Options {
	p := r.Policy
	org := p.Organization
	acc := r.access(scope)
	o := collect.AccessOptions(acc)
	o.Kinds = kindsOptions(p, acc, r.AWS.Region)
	o.SingleAccount = scope.SingleAccount
	o.Accounts = firstList(scope.Accounts, org.Accounts)
	o.OUs = firstList(scope.OUs, org.OUs)
	o.ExcludeAccounts = append(append([]string(nil), org.ExcludeAccounts...), scope.ExcludeAccounts...)
	o.Concurrency = org.Concurrency
	if scope.Concurrency > 0 {
		o.Concurrency = scope.Concurrency
	}
	o.Fresh = scope.Fresh
	o.Listed = scope.Listed
	o.OUPaths, o.AccountTags = false, false
	for _, ex := range p.Exemptions {
		if ex.Match.OU != "" {
			o.OUPaths = true
		}
		if ex.Match.Tag != "" {
			o.AccountTags = true
		}
	}
	o.KeyIDsFor = r.keyIDsFor(false)
	// The other per-user credential kinds and the password policy: four
	// calls per account; SSH keys one per user, only when asked for.
	o.IAMKinds, o.SSHKeys = true, p.SSHKeys.Collect
	o.NeedTagsGroups = true
	o.TagsGroupsFor = func(a *inventory.Account, u *inventory.User) bool {
		return needsDetail(p, a, u, r.now())
	}
	o.Progress = func(done, total int, account string) { r.progress().Step(PhaseCollect, done, total, account) }
	o.Logger = r.Logger
	o.Now = r.now
	if r.CollectOptions != nil {
		r.CollectOptions(&o)
	}
	return o
}

// keyIDsFor says whose keys the collection reads live (IDs, exact last
// use): the users the report says break policy or reach an age the
// lifecycle acts on, and those with two keys or an inactive one, which a
// plan records (an inactive key's deletion window starts when keyrot first
// sees it inactive). An audit (audit true) records nothing, and skips the
// users whose two keys are a rotation at rest that no rule judges yet.
func (r *App) keyIDsFor(audit bool) func(a *inventory.Account, u *inventory.User) bool {
	return func(a *inventory.Account, u *inventory.User) bool {
		twoOrInactive := len(u.Keys) > 1 || len(u.Keys) == 1 && !u.Keys[0].Active()
		if twoOrInactive && !(audit && rotationAtRest(u)) {
			return true
		}
		return needsKeyIDs(r.Policy, a, u, r.now())
	}
}

// needsDetail reports whether u needs live facts: it breaks policy, or one
// of its keys reaches the rotation age (the planner acts on the day it is
// reached; the audit reports a key only once it is older).
func needsDetail(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	return reachesRotation(p, u, now) || hasFinding(p, a, u, now)
}

// reachesRotation reports whether one of u's active keys is within a day
// of the shortest rotation age of the policy and its overrides, or one of
// its inactive keys within a day of the shortest deletion age: no step of
// the lifecycle acts on a key sooner (an inactive key is deleted at
// plan.Lifecycle.DeletionDue, never before delete_after from its creation).
func reachesRotation(p *policy.Policy, u *inventory.User, now time.Time) bool {
	rotate, del := time.Duration(p.AccessKeys.RotateAfter), time.Duration(p.AccessKeys.DeleteAfter)
	for _, ex := range p.Exemptions {
		if ex.AccessKeys != nil {
			eff := p.EffectiveAccessKeys(ex.AccessKeys)
			rotate = min(rotate, time.Duration(eff.RotateAfter))
			del = min(del, time.Duration(eff.DeleteAfter))
		}
	}
	for _, k := range u.Keys {
		age := rotate
		if !k.Active() {
			age = del
		}
		if now.Sub(k.CreateDate) >= age-24*time.Hour {
			return true
		}
	}
	return false
}

// rotationAtRest reports whether u's two keys are as a finished rotation
// leaves them: the older one inactive, the newer one active. Any other pair
// (two active keys, such as a rotation in progress or a key keyrot created
// and could not store; a newer key inactive) needs the keys' IDs.
func rotationAtRest(u *inventory.User) bool {
	if len(u.Keys) != 2 {
		return false
	}
	older, newer := u.Keys[0], u.Keys[1]
	if newer.CreateDate.Before(older.CreateDate) {
		older, newer = newer, older
	}
	return !older.Active() && newer.Active() && older.CreateDate.Before(newer.CreateDate)
}

// needsKeyIDs reports whether u's key IDs must be read: one of its keys
// reaches the rotation age, or a finding is about its keys (a finding on
// its password or MFA names no key).
func needsKeyIDs(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	if reachesRotation(p, u, now) {
		return true
	}
	for _, f := range findings(p, a, u, now) {
		if strings.HasPrefix(string(f.Rule), "access-key-") || f.Rule == policy.RuleKeyLastUsedUnknown {
			return true
		}
	}
	return false
}

// hasFinding reports whether u, judged alone and without tags, breaks policy.
func hasFinding(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) bool {
	return len(findings(p, a, u, now)) > 0
}

// findings returns u's findings, judged alone and without tags.
func findings(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time) []audit.Finding {
	one := &inventory.Snapshot{Accounts: []inventory.Account{{ID: a.ID, Name: a.Name, OUPath: a.OUPath, Tags: a.Tags, Status: inventory.AccountAudited, PasswordPolicy: a.PasswordPolicy, Users: []inventory.User{*u}}}}
	var out []audit.Finding
	for _, f := range audit.FindingsOf(p, one, now) {
		if f.User == u.Name {
			out = append(out, f)
		}
	}
	return out
}

// collect gathers the inventory of the scope.
func (r *App) collect(ctx context.Context, scope Scope, adjust ...func(*collect.Options)) (*inventory.Snapshot, error) {
	r.progress().Phase(PhaseCollect)
	o := r.collectOptions(scope)
	for _, f := range adjust {
		f(&o)
	}
	snap, err := collect.Collect(ctx, o)
	if ctx.Err() != nil {
		// Accounts cut short by a deadline or Ctrl-C are not "failed".
		return nil, fmt.Errorf("collect inventory: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("collect inventory: %w", err)
	}
	return snap, nil
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
