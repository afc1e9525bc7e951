package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// Functions are the handlers over one App.
type Functions struct {
	App *app.App
	// Mode is ModeAudit or ModeRotate.
	Mode string
	// Scope carries the member role and external ID.
	Scope app.Scope
	// Margin is the time a worker keeps free before its deadline: the
	// longest an action in flight may take (the App's ActionTimeout) and
	// the writes that close a run. No account is started with less than
	// Margin plus MinAccountTime left, and an account's run is told to
	// start no new action once only Margin is left.
	Margin time.Duration
	// MinAccountTime is the least time worth starting an account with.
	MinAccountTime time.Duration
	// OwnRoleARN is the worker's execution role in the central account,
	// whose sessions the events handler knows as keyrot's; none when empty.
	OwnRoleARN string
	Logger     *slog.Logger
	// clock is the time the worker measures its deadline against; time.Now
	// when nil (tests set it).
	clock func() time.Time
}

// left returns the time until deadline.
func (f *Functions) left(deadline time.Time) time.Duration {
	if f.clock != nil {
		return deadline.Sub(f.clock())
	}
	return time.Until(deadline)
}

func (f *Functions) log() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (f *Functions) mode() string {
	if f.Mode == ModeAudit {
		return history.ModeAuditOnly
	}
	return history.ModeEnforce
}

// Coordinate lists the organization once and computes the run's plan
// without changing anything, then splits the accounts to work on into
// batches: each gets the changes the plan admitted in its accounts as its
// budget, so that the workers together never make more than the
// organization-wide max_changes, however many run at once, and act on the
// same users the CLI would.
func (f *Functions) Coordinate(ctx context.Context, in CoordinatorInput) (*WorkList, error) {
	conc, err := settingInt("max_concurrency", in.MaxConcurrency, 1, 10000, 10)
	if err != nil {
		return nil, err
	}
	tolerated, err := settingInt("tolerated_failure_percentage", in.ToleratedFailurePercentage, 0, 100, 0)
	if err != nil {
		return nil, err
	}
	size := in.Input.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	rp, err := f.App.Plan(ctx, app.PlanRequest{Scope: f.Scope})
	if err != nil {
		return nil, fmt.Errorf("plan the run: %w", err)
	}
	wl := &WorkList{MaxConcurrency: conc, ToleratedFailurePercentage: tolerated, Batches: []Batch{}}
	wl.Run = Run{Execution: in.Execution, Mode: f.mode(), OrganizationID: rp.Snapshot.OrganizationID,
		MaxChanges: f.App.Policy.Rotation.MaxChanges, Planned: len(rp.Plan.Actions), Deferred: len(rp.Plan.Deferred)}
	wl.Run.Problems = collectProblems(rp.Snapshot)
	if perr := app.Partial(rp.Snapshot); perr != nil && !in.Input.AllowPartial {
		wl.Run.Refused = fmt.Sprintf("refusing to act: the organization listing looks partial (%v); fix access or start the execution with {\"allow_partial\": true}", perr)
		return wl, nil
	}
	perAccount := map[string]int{}
	admitted := map[string][]string{}
	for _, a := range rp.Plan.Actions {
		perAccount[a.AccountID]++
		ref := a.AccountID + "/" + a.User
		if l := admitted[a.AccountID]; len(l) == 0 || l[len(l)-1] != ref {
			admitted[a.AccountID] = append(l, ref)
		}
	}
	var b *Batch
	for _, a := range collect.ListingOf(rp.Snapshot).Accounts {
		if a.Status == inventory.AccountSkipped {
			wl.Run.Skipped = append(wl.Run.Skipped, AccountResult{Account: a.ID, Status: "skipped", Summary: a.Reason})
			continue
		}
		if b == nil || len(b.Accounts) == size {
			wl.Batches = append(wl.Batches, Batch{Index: len(wl.Batches)})
			b = &wl.Batches[len(wl.Batches)-1]
		}
		b.Accounts = append(b.Accounts, a)
		b.Budget += perAccount[a.ID]
		b.Admitted = append(b.Admitted, admitted[a.ID]...)
	}
	if ws := f.works(); ws != nil {
		if err := storeBatches(ctx, ws, wl, f.now()); err != nil {
			return nil, err
		}
	}
	f.log().Info("run planned", "execution", in.Execution, "accounts", len(rp.Snapshot.Accounts), "batches", len(wl.Batches),
		"planned", wl.Run.Planned, "deferred", wl.Run.Deferred)
	return wl, nil
}

// maxRunProblems bounds the collection problems a work list carries.
const maxRunProblems = 20

// collectProblems lists the per-item problems of the coordinator's
// collection, at most maxRunProblems and a count of the rest.
func collectProblems(snap *inventory.Snapshot) []string {
	var out []string
	n := 0
	for _, a := range snap.Accounts {
		for _, e := range a.Errors {
			n++
			if len(out) < maxRunProblems {
				what := e.Op
				if e.User != "" {
					what += " of " + e.User
				}
				out = append(out, "planning, account "+a.ID+": "+what+": "+truncate(e.Message, 300))
			}
		}
	}
	if n > len(out) {
		out = append(out, fmt.Sprintf("planning: %d more problems", n-len(out)))
	}
	return out
}

// settingInt parses a state machine setting substituted as text.
func settingInt(name, s string, lo, hi, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: want a whole number from %d to %d (got %q)", name, lo, hi, s)
	}
	return n, nil
}

// Work carries out the batch from st.Next on, one account at a time, each
// as an apply of that account alone under its lease, with the notices
// held for the reporter. It stops before the Lambda deadline (ctx's) with
// Margin to spare and returns the state to resume from; Done once every
// account is done.
func (f *Functions) Work(ctx context.Context, st WorkerState) (*WorkerState, error) {
	if err := f.loadBatch(ctx, &st); err != nil {
		return nil, err
	}
	st.Invocations++
	admitted := map[string]bool{}
	for _, ref := range st.Batch.Admitted {
		admitted[ref] = true
	}
	deadline, hasDeadline := ctx.Deadline()
	for started := 0; st.Next < len(st.Batch.Accounts); started++ {
		if left := f.left(deadline); hasDeadline && left < f.Margin+f.MinAccountTime {
			if started == 0 {
				// Invoked again, it would stop again: the state machine would loop for ever.
				return nil, fmt.Errorf("%w: %s left, an account needs %s (the longest action, the writes that close its run, and %s for the account); give the worker function a longer timeout",
					ErrTimeoutTooShort, left.Round(time.Second), f.Margin+f.MinAccountTime, f.MinAccountTime)
			}
			f.log().Info("stopping before the deadline", "batch", st.Batch.Index, "next", st.Batch.Accounts[st.Next].ID, "left", left.Round(time.Second).String())
			return f.stow(ctx, &st)
		}
		acct := st.Batch.Accounts[st.Next]
		actx, cancel := ctx, context.CancelFunc(func() {})
		if hasDeadline {
			actx, cancel = context.WithDeadline(ctx, deadline.Add(-f.Margin))
		}
		res, done, err := f.account(actx, &st, acct, admitted)
		cancel()
		if err != nil {
			return nil, err
		}
		if res.Held != nil {
			st.Held = append(st.Held, *res.Held)
		}
		if !done {
			// Cut short by the deadline: the actions in flight were
			// finished, the rest were not started. The next invocation
			// plans this account again from its live state.
			f.log().Info("account cut short by the deadline; resuming later", "account", acct.ID)
			return f.stow(ctx, &st)
		}
		st.Results = append(st.Results, res.result)
		st.Next++
	}
	st.Done = true
	return f.stow(ctx, &st)
}

// ErrTimeoutTooShort: the worker's time limit leaves no time to work on an account.
var ErrTimeoutTooShort = errors.New("the worker's time limit is too short")

// accountRun is one account's apply.
type accountRun struct {
	result AccountResult
	Held   *app.HeldNotices
}

// account applies the plan of one account. done is false when the
// deadline cut it short. Only errors that stop the whole batch (the
// history store failing) are returned; an account that fails is a result.
func (f *Functions) account(ctx context.Context, st *WorkerState, acct inventory.Account, admitted map[string]bool) (accountRun, bool, error) {
	scope := f.Scope
	scope.Listed = &collect.Listing{OrganizationID: st.Run.OrganizationID, Accounts: []inventory.Account{acct}}
	reserved := st.Used
	req := app.ApplyRequest{Scope: scope, AuditOnly: f.Mode == ModeAudit, HoldNotices: true,
		Admit: func(group []plan.Action) (bool, string) {
			if !admitted[group[0].AccountID+"/"+group[0].User] {
				return false, fmt.Sprintf("guardrail: at most %d changes per run (organization-wide)", st.Run.MaxChanges)
			}
			if reserved+len(group) > st.Batch.Budget {
				return false, fmt.Sprintf("guardrail: at most %d changes per run (organization-wide; this batch's share is %d)", st.Run.MaxChanges, st.Batch.Budget)
			}
			reserved += len(group)
			return true, ""
		}}
	res, err := f.App.Apply(ctx, req)
	out := accountRun{result: AccountResult{Account: acct.ID, Status: history.RunSucceeded}}
	if res == nil {
		// Nothing was recorded: the history store is not usable.
		return out, false, fmt.Errorf("account %s: %w", acct.ID, err)
	}
	out.Held = res.Held
	out.result.RunID, out.result.Summary = res.RunID, res.Summary
	if res.Result != nil {
		for _, o := range res.Result.Outcomes {
			if o.Status == execute.Succeeded || o.Status == execute.Failed {
				if !o.WouldDo {
					st.Used++
				}
			}
			out.result.Actions = append(out.result.Actions, ActionResult{Kind: string(o.Kind), User: o.User, KeyID: o.KeyID, NewKeyID: o.NewKeyID,
				Status: string(o.Status), WouldDo: o.WouldDo})
		}
	}
	if res.Plan != nil {
		for _, a := range res.Plan.Plan.Deferred {
			out.result.Actions = append(out.result.Actions, ActionResult{Kind: string(a.Kind), User: a.User, KeyID: a.KeyID, Status: "deferred", Deferred: a.Deferred})
		}
	}
	if err != nil && (errors.Is(err, app.ErrInterrupted) || ctx.Err() != nil) {
		return out, false, nil
	}
	if err != nil {
		out.result.Status, out.result.Error = history.RunFailed, err.Error()
	}
	return out, true, nil
}

// Report gathers the batches' results into the run's summary, sends the
// held notices together (one digest per owner across all accounts) and
// records the run in the history.
func (f *Functions) Report(ctx context.Context, in ReporterInput) (*Summary, error) {
	if ws := f.works(); ws != nil {
		if err := completeResults(ctx, ws, &in); err != nil {
			return nil, err
		}
	}
	s, held := summarize(in)
	if s.Mode == "" {
		s.Mode = f.mode()
	}
	res, err := f.App.SendHeld(ctx, app.SendHeldRequest{Mode: s.Mode, Held: held, Status: s.Status, Summary: s.Summary})
	if err != nil {
		return nil, fmt.Errorf("record the run: %w", err)
	}
	s.RunID, s.Summary = res.RunID, res.Summary
	if res.Notify != nil {
		s.Digests, s.NotifyFailed = res.Notify.Digests, len(res.Notify.Failed())
		for _, dl := range res.Notify.Failed() {
			s.Problems = append(s.Problems, "notify "+dl.Recipient+" via "+dl.Channel+": "+truncate(dl.Error, 300))
		}
		for _, e := range res.Notify.RecordErrors {
			s.Problems = append(s.Problems, "notice sent but not recorded (the next run may send it again): "+truncate(e, 300))
		}
	}
	if res.NotifyErr != nil {
		s.Problems = append(s.Problems, "notifications not sent: "+res.NotifyErr.Error())
	}
	return s, nil
}

// summarize gathers the batches' results into the run's summary and the
// notices they hold. A result that is not a worker's state (null, an
// error) counts as a batch that did not finish.
func summarize(in ReporterInput) (*Summary, []app.HeldNotices) {
	s := &Summary{Execution: in.Run.Execution, Mode: in.Run.Mode, Status: history.RunSucceeded, Deferred: in.Run.Deferred}
	var held []app.HeldNotices
	if in.Run.Refused != "" {
		s.Problems = append(s.Problems, in.Run.Refused)
	}
	s.Problems = append(s.Problems, in.Run.Problems...)
	if in.MapError != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("the batches did not all finish (%s: %s); the changes made are in the history, and their notices are sent by the next run", in.MapError.Error, in.MapError.Cause))
	}
	deferred := 0
	for i, raw := range in.Results {
		var st WorkerState
		if err := json.Unmarshal(raw, &st); err != nil || string(raw) == "null" {
			s.BatchesFailed++
			s.Problems = append(s.Problems, fmt.Sprintf("batch %d did not finish and left no state", i))
			continue
		}
		if !st.Done {
			s.BatchesFailed++
			why := "no error recorded"
			if st.Error != nil {
				why = st.Error.Error + ": " + truncate(st.Error.Cause, 300)
			}
			left := ""
			if st.Next < len(st.Batch.Accounts) {
				left = fmt.Sprintf("; accounts from %s on were not done", st.Batch.Accounts[st.Next].ID)
			}
			s.Problems = append(s.Problems, fmt.Sprintf("batch %d did not finish (%s)%s", st.Batch.Index, why, left))
		}
		// What a failed batch did before failing is told too.
		held = append(held, st.Held...)
		for _, r := range st.Results {
			s.Accounts++
			interesting := r.Status != history.RunSucceeded
			if r.Status == history.RunFailed {
				s.AccountsFailed++
				s.Problems = append(s.Problems, "account "+r.Account+": "+r.Error)
			}
			for _, a := range r.Actions {
				interesting = true
				switch a.Status {
				case string(execute.Succeeded):
					s.Succeeded++
				case string(execute.Blocked):
					s.Blocked++
				case string(execute.Skipped):
					s.Skipped++
				case string(execute.Failed):
					s.Failed++
				case "deferred":
					deferred++
				}
			}
			if interesting {
				s.Results = append(s.Results, r)
			}
		}
	}
	// The coordinator's count covers the run; a worker defers more only
	// when an account's live state asks for more than its plan did.
	s.Deferred = max(s.Deferred, deferred)
	if in.MapError != nil && len(in.Results) == 0 {
		s.BatchesFailed = len(in.Batches)
	}
	if in.Run.Refused != "" || s.AccountsFailed > 0 || s.BatchesFailed > 0 || s.Failed > 0 || in.MapError != nil {
		s.Status = history.RunFailed
	}
	s.Summary = fmt.Sprintf("%d accounts: %d succeeded, %d blocked, %d skipped, %d failed, %d deferred", s.Accounts, s.Succeeded, s.Blocked, s.Skipped, s.Failed, s.Deferred)
	if s.AccountsFailed > 0 {
		s.Summary += fmt.Sprintf("; %d accounts failed", s.AccountsFailed)
	}
	if s.BatchesFailed > 0 {
		s.Summary += fmt.Sprintf("; %d batches did not finish", s.BatchesFailed)
	}
	if in.Run.Refused != "" {
		s.Summary = "refused: partial organization listing"
	}
	return s, held
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
