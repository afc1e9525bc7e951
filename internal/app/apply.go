package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// ApplyRequest asks for the rotation plan of the scope to be carried out.
type ApplyRequest struct {
	Scope Scope
	// MaxChanges, when positive, overrides the policy's rotation.max_changes.
	MaxChanges int
	// DryRun changes nothing and makes no write call.
	DryRun bool
	// AuditOnly checks every live gate but changes nothing (also the
	// policy's rotation.mode: audit-only).
	AuditOnly bool
	// SavedPlan, if set, narrows the plan computed now: plan.Narrow
	// checks every action of it against the plan computed for the same
	// scope with the policy in force (and its age against PlanMaxAge), and
	// refuses the whole file if one is not there as saved; what runs is
	// the computed plan's matching actions, under the guardrails in force.
	SavedPlan  *plan.Plan
	PlanMaxAge time.Duration
	// AllowPartial acts on the accounts that could be read even when
	// others could not; without it such a run is refused (ErrPartial).
	AllowPartial bool
	// Confirm, if set, is asked before anything is changed, with the plan
	// about to run; an error stops the run with nothing changed.
	Confirm func(ctx context.Context, p *plan.Plan) error
	// Admit, if set, is asked about each user's actions (in plan order,
	// after the guardrails): those it refuses are deferred with the reason
	// it gives. A caller that splits one run over many Apply calls (the
	// Lambda workers) keeps the run's guardrails with it.
	Admit func(group []plan.Action) (ok bool, reason string)
	// HoldNotices computes the notices the run owes (its own and those of
	// earlier runs that ended before notifying) without sending them: they
	// are in ApplyResult.Held, to be sent with other runs' by SendHeld.
	HoldNotices bool
}

// ApplyResult is what an apply did.
type ApplyResult struct {
	RunID int64
	// Mode is history.ModeEnforce, ModeAuditOnly or ModeDryRun.
	Mode string
	// Plan is the plan carried out, with the facts behind it.
	Plan *RotationPlan
	// Result has one outcome per action; nil if the run stopped before
	// acting.
	Result *execute.Result
	// Notify summarises the notices sent; NotifyErr is why none could be.
	Notify    *notify.Summary
	NotifyErr error
	// Recovered are earlier runs, ended before they could notify, whose
	// notices this run sent.
	Recovered []int64
	// Warnings are things a person must know (nobody will be told, ...).
	Warnings []string
	// Status and Summary are what the run record says.
	Status, Summary string
	// Held are the notices owed, with HoldNotices.
	Held *HeldNotices
}

// Apply computes the plan (or checks a saved one), asks Confirm, records
// first-seen inactive keys, carries the plan out, and tells the owners,
// including what earlier runs that died before notifying had done. The
// run record is finished whatever happens, with a context detached from
// ctx. It returns a result whenever it acted, with an error when the run
// was interrupted or left something undone: a *RunError says what
// (changes failed, calls denied to keyrot, accounts not read, changes
// blocked until a person acts, new keys not yet verified) and what to do.
func (r *App) Apply(ctx context.Context, req ApplyRequest) (res *ApplyResult, err error) {
	if err := checkMaxChanges(req.MaxChanges); err != nil {
		return nil, err
	}
	auditOnly := req.AuditOnly || r.Policy.Rotation.Mode == policy.ModeAuditOnly
	res = &ApplyResult{Mode: history.ModeEnforce, Status: history.RunFailed}
	switch {
	case req.DryRun:
		res.Mode = history.ModeDryRun
	case auditOnly:
		res.Mode = history.ModeAuditOnly
	}
	rn, err := r.beginRun(ctx, "apply", res.Mode)
	if err != nil {
		return nil, err
	}
	res.RunID = rn.id
	defer func() {
		if res.Status == history.RunFailed && ctx.Err() != nil {
			res.Status = history.RunInterrupted
		}
		res.noteWarnings()
		rn.finish(ctx, res.Status, res.Summary)
		r.prune(context.WithoutCancel(ctx))
	}()
	if !req.DryRun && len(r.channels()) == 0 {
		res.Warnings = append(res.Warnings, "no notification channel is configured (notify.channels in keyrot.yaml): nobody will be told about this run's changes")
	}

	ex := r.executor(req.Scope, rn.id)
	rp, err := r.planRotation(ctx, ex, req.Scope, req.MaxChanges)
	if err != nil {
		res.Summary = "plan failed"
		return res, err
	}
	res.Plan = rp
	r.recordPlan(ctx, rn.id, rp.Plan)
	if req.SavedPlan != nil {
		// A saved plan only narrows the plan computed now: what runs is
		// the computed plan's own actions that the file names.
		narrowed, err := plan.Narrow(req.SavedPlan, rp.Plan, r.now(), req.PlanMaxAge, unavailableAccounts(rp.Snapshot))
		if err != nil {
			res.Summary = "refused: saved plan"
			return res, fmt.Errorf("%w: the saved plan %w", ErrInvalidRequest, err)
		}
		// The guardrails in force now apply to a saved plan too.
		var deferred []plan.Action
		narrowed.Actions, deferred = plan.ApplyLimits(narrowed.Actions, r.limits(req.MaxChanges))
		narrowed.Deferred = append(deferred, narrowed.Deferred...)
		executed := *rp
		executed.Plan = narrowed
		rp = &executed
		res.Plan = rp
	}
	if req.Admit != nil {
		admitted := *rp.Plan
		var deferred []plan.Action
		admitted.Actions, deferred = admit(rp.Plan.Actions, req.Admit)
		admitted.Deferred = append(deferred, admitted.Deferred...)
		executed := *rp
		executed.Plan = &admitted
		rp = &executed
		res.Plan = rp
	}
	if perr := Partial(rp.Snapshot); perr != nil && !req.AllowPartial {
		res.Summary = "refused: partial organization listing"
		return res, fmt.Errorf("refusing to act: the organization listing looks partial (%w); fix access or allow a partial run", perr)
	}
	writable := !req.DryRun && !auditOnly
	if len(rp.Plan.Actions) > 0 && writable && req.Confirm != nil {
		if err := req.Confirm(ctx, rp.Plan); err != nil {
			res.Summary = "not confirmed"
			return res, err
		}
	}
	if writable {
		// Record first-seen inactive keys (their deletion window starts
		// now) and repair interrupted stores' tags, now that acting is agreed.
		r.progress().Phase(PhaseGather)
		if _, err := ex.Gather(ctx, rp.Snapshot, execute.GatherOptions{RotateAfter: time.Duration(r.Policy.AccessKeys.RotateAfter),
			ConsoleExempt: consoleExempt(r.Policy, r.now())}); err != nil {
			res.Summary = "recording rotation state failed"
			return res, fmt.Errorf("record rotation state: %w", err)
		}
	}

	r.progress().Phase(PhaseExecute)
	var mu sync.Mutex
	total, done := len(rp.Plan.Actions), 0
	onOutcome := func(o execute.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		done++
		r.progress().Step(PhaseExecute, done, total, o.AccountID+"/"+o.User+" "+string(o.Kind)+": "+string(o.Status))
	}
	// The executor's error joins the failed outcomes' errors (and a crash);
	// runError sorts those outcomes below.
	out, _ := ex.Apply(ctx, rp.Plan, execute.Options{DryRun: req.DryRun, AuditOnly: auditOnly, OnOutcome: onOutcome})
	res.Result = out
	if out != nil {
		res.Summary = fmt.Sprintf("%d succeeded, %d blocked, %d skipped, %d failed", out.Count(execute.Succeeded), out.Count(execute.Blocked), out.Count(execute.Skipped), out.Count(execute.Failed))
	}
	if !req.DryRun && out != nil {
		// Notices go out even when the caller has gone (Ctrl-C, a closed
		// pipe): a changed key must never leave its owner untold.
		if req.HoldNotices {
			r.holdNotices(ctx, rn.id, rp, out, auditOnly, res)
		} else {
			r.notifyRun(ctx, rn.id, rp, out, auditOnly, res)
		}
	}
	// What is left undone, sorted by what it takes to finish it.
	rerr := runError(rp, out)
	if rerr != nil && (len(rerr.Failed) > 0 || len(rerr.Denied) > 0) {
		if s := rerr.summary(); s != "" {
			res.Summary += "; " + s
		}
		return res, rerr
	}
	if ctx.Err() != nil {
		res.Status = history.RunInterrupted
		return res, fmt.Errorf("%w: the actions in flight were finished, the rest were not started: %w", ErrInterrupted, context.Cause(ctx))
	}
	res.Status = history.RunSucceeded
	if rerr == nil {
		return res, nil
	}
	if s := rerr.summary(); s != "" {
		res.Summary += "; " + s
	}
	return res, rerr
}

// unavailableAccounts says, for each account of snap not audited, why a
// saved plan cannot act in it now.
func unavailableAccounts(snap *inventory.Snapshot) map[string]plan.Unavailable {
	m := map[string]plan.Unavailable{}
	if snap == nil {
		return m
	}
	for _, a := range snap.Accounts {
		switch a.Status {
		case inventory.AccountFailed:
			m[a.ID] = plan.Unavailable{Why: "account " + a.ID + " is not readable now (" + a.Reason + ")", Unreadable: true}
		case inventory.AccountSkipped:
			m[a.ID] = plan.Unavailable{Why: "account " + a.ID + " is excluded or suspended now (" + a.Reason + ")"}
		}
	}
	return m
}

// noteWarnings adds the run's warnings to its summary, so the run record
// says them too.
func (res *ApplyResult) noteWarnings() {
	for _, w := range res.Warnings {
		res.Summary += "; warning: " + w
	}
}

// notifyRun tells the owners what this run did, and what earlier runs
// that ended before notifying did, then records that those runs' notices
// are sent: only when every delivery went through, so a failed delivery is
// tried again by the next run (the notifier's record of what was sent
// keeps the others from going out twice). It runs detached from ctx,
// bounded by notifyTimeout.
func (r *App) notifyRun(ctx context.Context, runID int64, rp *RotationPlan, out *execute.Result, auditOnly bool, res *ApplyResult) {
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	r.progress().Phase(PhaseNotify)
	all := *out
	var owed []int64
	var when map[string]time.Time
	if !auditOnly {
		owed, all.Outcomes, when = r.owedOutcomes(nctx, runID, rp, out.Outcomes)
	}
	items := r.noticeItems(rp, &all, r.now(), when)
	sum, err := r.send(nctx, runID, items, auditOnly)
	res.Notify, res.NotifyErr = sum, err
	switch {
	case err != nil:
		res.Summary += "; notifications not sent"
		return
	case sum.Digests > 0 || len(sum.Failed()) > 0:
		res.Summary += fmt.Sprintf("; %d digests sent, %d failed", sum.Digests, len(sum.Failed()))
	}
	r.progress().Step(PhaseNotify, sum.Digests, sum.Digests, fmt.Sprintf("%d digest(s), %d delivery failure(s)", sum.Digests, len(sum.Failed())))
	if len(owed) > 0 {
		res.Recovered = owed
		res.Summary += fmt.Sprintf("; sent the notices of %d earlier interrupted run(s)", len(owed))
	}
	if len(sum.Failed()) > 0 {
		res.Summary += "; failed deliveries are tried again by the next run"
		return
	}
	if err := r.History.MarkNotified(nctx, append(owed, runID)...); err != nil {
		r.log().Error("record notices sent", "run", runID, "err", err)
	}
}

// notifyTimeout bounds the notification phase, which goes on after the
// run's context is cancelled.
const notifyTimeout = 2 * time.Minute

// owedOutcomes adds to outs the changes made by earlier enforcing apply
// and rotate-now runs that ended before their notices were sent, from their journal, and
// returns those runs and when each owed change happened (by action ID), so
// that its deadlines are counted from then. A run is taken up only when
// every account it changed was read by this run: an owner outside this
// run's scope is told by a later run that covers it. A rotation whose old
// key's deactivation the plan already has ahead is left out: the plan's
// own notice says the same. Notices already sent are left out by the
// notifier's record of them.
func (r *App) owedOutcomes(ctx context.Context, self int64, rp *RotationPlan, outs []execute.Outcome) ([]int64, []execute.Outcome, map[string]time.Time) {
	var runs []history.Run
	for _, command := range []string{"apply", "rotate"} {
		rs, err := r.History.UnnotifiedRuns(ctx, command, history.ModeEnforce)
		if err != nil {
			r.log().Warn("find runs whose notices were not sent", "err", err)
			return nil, outs, nil
		}
		runs = append(runs, rs...)
	}
	audited := map[string]bool{}
	for _, a := range rp.Snapshot.Accounts {
		audited[a.ID] = a.Status == inventory.AccountAudited
	}
	upcoming := map[string]bool{}
	for _, u := range rp.Plan.Upcoming {
		if u.Kind == plan.DeactivateKey {
			upcoming[u.AccountID+"/"+u.KeyID] = true
		}
	}
	var ids []int64
	all := append([]execute.Outcome(nil), outs...)
	when := map[string]time.Time{}
	for _, run := range runs {
		if run.ID == self {
			continue
		}
		acts, err := r.History.ActionsInRun(ctx, run.ID)
		if err != nil {
			r.log().Warn("read the journal of an unnotified run", "run", run.ID, "err", err)
			continue
		}
		covered := true
		for _, a := range acts {
			if a.Outcome.Status == history.ActionSucceeded && !audited[a.Account] {
				covered = false
			}
		}
		if !covered {
			continue
		}
		ids = append(ids, run.ID)
		for _, a := range acts {
			if a.Outcome.Status != history.ActionSucceeded {
				continue
			}
			o := execute.Outcome{ActionID: fmt.Sprintf("owed/%d", a.ID), AccountID: a.Account, User: a.User, KeyID: a.KeyID,
				Status: execute.Succeeded, Detail: fmt.Sprintf("done by run %d, which ended before notifying", run.ID)}
			at := a.Outcome.Finished
			switch a.Kind {
			case history.KindDeactivateKey:
				o.Kind = plan.DeactivateKey
			case history.KindDeleteKey:
				o.Kind = plan.DeleteKey
			case execute.KindDisableConsole:
				o.Kind = plan.DisableConsole
			case history.KindCreateKey:
				if upcoming[a.Account+"/"+a.KeyID] {
					continue
				}
				o.Kind, o.NewKeyID = plan.CreateKey, a.Outcome.KeyID
				var stored time.Time
				o.SecretARN, stored = r.storedSecret(ctx, a.Account, a.User, o.NewKeyID)
				o.SecretName = secretNameOfARN(o.SecretARN)
				if !stored.IsZero() {
					at = stored
				}
			default:
				continue
			}
			if !at.IsZero() {
				when[o.ActionID] = at
			}
			all = append(all, o)
		}
	}
	return ids, all, when
}

// storedSecret returns the ARN of the secret a new key was stored in and
// when, from the key events, or "" and the zero time.
func (r *App) storedSecret(ctx context.Context, account, user, keyID string) (string, time.Time) {
	evs, err := r.History.KeyEvents(ctx, account, user)
	if err != nil {
		return "", time.Time{}
	}
	for _, e := range evs {
		if e.KeyID == keyID && e.Event == history.EventStored {
			return e.SecretARN, e.At
		}
	}
	return "", time.Time{}
}

// executor returns an Executor acting in the scope for run runID. Its
// owner, written in leases and the pending tag, is unique to this run; it
// works on as many accounts at once as the collection does.
func (r *App) executor(scope Scope, runID int64) *execute.Executor {
	var h execute.History
	if r.History != nil {
		h = r.History
	}
	conc := r.collectOptions(scope).Concurrency
	if conc <= 0 {
		conc = collect.DefaultConcurrency
	}
	clients := r.clients(scope)
	ex := &execute.Executor{Clients: clients, History: h, RunID: runID, Owner: r.owner(runID),
		Logger: r.log(), Now: r.Now, ActionTimeout: r.ActionTimeout, Rules: r.rules(), Concurrency: conc,
		Destinations: r.destinations(scope), Deliveries: r.deliveryLog(), SecretRotation: clients.SecretRotation,
		ServiceCredentials: ServiceCredentials(r.Policy)}
	r.consoleExecutor(ex, scope)
	return ex
}

// rules are the periods the executor re-checks every action against: the
// shortest over the policy's lifecycle and its per-user overrides.
func (r *App) rules() execute.Rules {
	p := r.Policy
	lcs := []plan.Lifecycle{Lifecycle(p, p.AccessKeys)}
	for _, ex := range p.Exemptions {
		if ex.AccessKeys != nil {
			lcs = append(lcs, Lifecycle(p, p.EffectiveAccessKeys(ex.AccessKeys)))
		}
	}
	return execute.RulesFor(lcs...)
}

// owner names run runID of this process uniquely: two runs on one host
// with separate state directories never share an owner.
func (r *App) owner(runID int64) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("run-%d-%s@%s", runID, hex.EncodeToString(b), host)
}
