// Package execute carries out a plan's actions against AWS: it creates,
// stores and verifies new access keys, deactivates and deletes old ones, and
// removes orphans, each behind live gates checked just before acting. Its
// durable state lives in AWS itself (IAM user tags and the Secrets Manager
// secret's tags and versions) so that a run with no local history converges;
// the history store is a mirror and an audit trail. docs/rotation.md
// describes the steps and why a crash at any point is safe.
package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// IAM is the part of the IAM client the executor uses.
type IAM interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, opts ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, opts ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	TagUser(ctx context.Context, in *iam.TagUserInput, opts ...func(*iam.Options)) (*iam.TagUserOutput, error)
	UntagUser(ctx context.Context, in *iam.UntagUserInput, opts ...func(*iam.Options)) (*iam.UntagUserOutput, error)
	ListUserTags(ctx context.Context, in *iam.ListUserTagsInput, opts ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
}

var _ IAM = (*iam.Client)(nil)

// Clients gives the executor its AWS clients per account.
type Clients interface {
	// IAM returns a client acting in the account (for member accounts, via
	// an assumed role).
	IAM(ctx context.Context, accountID string) (IAM, error)
	// Secrets returns the store holding the secrets of the account's users:
	// in the account itself, or the central store.
	Secrets(ctx context.Context, accountID string) (KeyStore, error)
	// KeyConfig returns the configuration (region, endpoint, retries) used
	// to sign with a user's own key of the account; the executor replaces
	// its credentials.
	KeyConfig(ctx context.Context, accountID string) (aws.Config, error)
}

// KeyStore is where the executor stores a user's new key and reads it back:
// the user's secret, named from NameData. secretstore.Store is the Secrets
// Manager implementation.
type KeyStore interface {
	// Name renders the secret name of a user.
	Name(d secretstore.NameData) (string, error)
	// Put stores a new key as the secret's current version; a retry of the
	// same key is a no-op.
	Put(ctx context.Context, e secretstore.Entry) (secretstore.Stored, error)
	// Stage reads the version with a staging label (AWSCURRENT,
	// AWSPENDING); secretstore.ErrNoVersion if there is none.
	Stage(ctx context.Context, secretID, stage string) (secretstore.Version, error)
	// Restore cancels a secret's scheduled deletion.
	Restore(ctx context.Context, secretID string) error
	// Retag rewrites the key ID and stored-at tags of a secret.
	Retag(ctx context.Context, secretID string, d secretstore.NameData, keyID string, storedAt time.Time) error
	// Grant lets the user read its secret (the end of a compromised rotation).
	Grant(ctx context.Context, secretID, userARN string) error
	// List returns keyrot's secrets of an account's users.
	List(ctx context.Context, accountID, accountName string) ([]secretstore.Listed, error)
	// Config returns the store's configuration (its region, for the fetch command).
	Config() secretstore.Config
}

var _ KeyStore = (*secretstore.Store)(nil)

// History is the part of the history store the executor uses.
type History interface {
	BeginAction(ctx context.Context, runID int64, a history.Action) (int64, error)
	EndAction(ctx context.Context, actionID int64, o history.Outcome) error
	// ActionsFor tells keyrot's own deactivations from others' (rollback).
	ActionsFor(ctx context.Context, account, user string) ([]history.Action, error)
	RecordKeyEvent(ctx context.Context, e history.KeyEvent) (int64, error)
	LastKeyEvent(ctx context.Context, account, user, keyID, event string) (history.KeyEvent, bool, error)
	AcquireLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error)
	RenewLease(ctx context.Context, scope, owner string, ttl time.Duration, now time.Time) (history.Lease, error)
	ReleaseLease(ctx context.Context, scope, owner string) error
}

var _ History = (*history.Store)(nil)

// Executor applies plans. Its fields are set once; it is safe for
// concurrent use by calls that use different Owners.
type Executor struct {
	Clients Clients
	// History journals actions and holds the per-account leases; nil runs
	// without journal and without leases (not for concurrent use).
	History History
	// RunID is the history run the actions belong to.
	RunID int64
	// Owner names this run in leases and in the pending tag, e.g. "run-42@host".
	Owner  string
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Concurrency bounds how many accounts are worked on at once; 4 if zero.
	Concurrency int
	// UserConcurrency bounds how many users of one account are worked on
	// at once (each user's actions stay in plan order);
	// DefaultUserConcurrency if zero.
	UserConcurrency int
	// LeaseTTL is how long an account lease lasts between renewals; 15m if zero.
	LeaseTTL time.Duration
	// VerifyAttempts and VerifyBackoff bound the wait for a new key to
	// authenticate (IAM is eventually consistent): 10 attempts, from 500ms
	// doubling up to 8s, if zero.
	VerifyAttempts int
	VerifyBackoff  time.Duration
	// ActionTimeout bounds one action's steps, which run to the end even
	// when the run is cancelled; DefaultActionTimeout if zero.
	ActionTimeout time.Duration
	// Destinations, if set, are where new keys are delivered after they
	// are verified; the old key of a rotation is deactivated only once
	// every destination of the user holds the new one. nil delivers
	// nowhere.
	Destinations Destinations
	// Deliveries records each delivery; nil records none.
	Deliveries DeliveryLog
	// DeliverTimeout bounds one destination's write and read back;
	// DefaultDeliverTimeout if zero.
	DeliverTimeout time.Duration
	// SecretRotation returns the Secrets Manager clients rotate-secret
	// actions use (secrets.go); nil blocks those actions.
	SecretRotation SecretRotationClients
	// Rules are the lifecycle periods every action is re-checked against,
	// whatever the plan says: RulesFor over the policy's default lifecycle
	// and its per-user overrides. The zero value means RulesFor(), the
	// default lifecycle's.
	Rules Rules
	// Console is the console password lifecycle (console.go): with
	// DisableUnused off, disable-console actions are refused.
	Console plan.ConsoleLifecycle
	// ExemptTag is the user tag that exempts a user (policy exempt_tag),
	// re-checked live before a console password is disabled.
	ExemptTag string
	// Self returns the ARN of the identity keyrot runs as, whose console
	// password keyrot never disables; nil skips the check.
	Self func(ctx context.Context) (string, error)
	// Rand is the source of generated passwords; crypto/rand if nil.
	Rand io.Reader
	// ServiceCredentials are the periods the service-specific credential
	// steps re-check (services.go) and the Bedrock API key lifetime; its
	// Records are not used. The zero value means plan.DefaultLifecycle's
	// periods and no lifetime cap.
	ServiceCredentials plan.Services
}

// DefaultActionTimeout bounds one action (its AWS calls and the wait for a
// new key to authenticate) when Executor.ActionTimeout is zero.
const DefaultActionTimeout = 5 * time.Minute

// bookkeepingTimeout bounds a journal or key-event write.
const bookkeepingTimeout = 10 * time.Second

// bookkeeping returns the context of a journal or key-event write: its
// own short deadline, not the action's, so that an action whose deadline
// ran out after an AWS change still records it.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

// detached returns a context that is not cancelled with ctx, so that an
// action in flight is finished, but that still ends: an unattended run
// never hangs on a silent endpoint.
func (e *Executor) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	d := e.ActionTimeout
	if d <= 0 {
		d = DefaultActionTimeout
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// Options change how Apply acts.
type Options struct {
	// DryRun makes no AWS call and no change: every action is reported as
	// what would be done.
	DryRun bool
	// AuditOnly makes read calls only: the live gates are checked and every
	// action is reported as what would be done (or why it would be blocked).
	AuditOnly bool
	// Crash, if set, is called before and after every AWS call with the
	// step's name. An error it returns is treated as the death of the
	// process: no compensation, no journal entry, no lease release, and
	// Apply returns with an error wrapping ErrCrashed once the users
	// worked on at once have reached their next step (an order of events
	// the process could have had before it died). For tests; it is called
	// from the users' goroutines at once and must be safe for concurrent
	// use.
	Crash func(step string) error
	// OnOutcome, if set, is called as each action ends (from the account's
	// goroutine: it must be safe for concurrent use). For progress.
	OnOutcome func(Outcome)
}

// ErrCrashed marks the return of a run stopped by Options.Crash.
var ErrCrashed = errors.New("run stopped by crash injection")

// Status is how an action ended.
type Status string

// Outcome statuses.
const (
	Succeeded Status = "succeeded"
	Skipped   Status = "skipped"
	Blocked   Status = "blocked"
	Failed    Status = "failed"
)

// Outcome is what became of one action.
type Outcome struct {
	ActionID  string    `json:"action_id,omitempty"`
	Kind      plan.Kind `json:"kind"`
	AccountID string    `json:"account_id"`
	User      string    `json:"user"`
	KeyID     string    `json:"key_id,omitempty"`
	Status    Status    `json:"status"`
	// Detail says why, in words.
	Detail string `json:"detail,omitempty"`
	// WouldDo is set in dry runs and audit-only runs when the action would
	// have been carried out.
	WouldDo bool `json:"would_do,omitempty"`
	// NewKeyID, SecretARN, SecretName and FetchCommand describe a new key
	// (for the notifier): where its secret is and how to read it.
	NewKeyID     string `json:"new_key_id,omitempty"`
	SecretARN    string `json:"secret_arn,omitempty"`
	SecretName   string `json:"secret_name,omitempty"`
	FetchCommand string `json:"fetch_command,omitempty"`
	// LastUsed* is the live last use that blocked a deactivation or deletion.
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
	// Deliveries are the destinations of the user's new key this action
	// delivered to or checked, each with whether it holds the key.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Err is the error of a failed action.
	Err error `json:"-"`
}

// Result is the outcome of every action of an Apply.
type Result struct {
	Outcomes []Outcome `json:"outcomes"`
	Crashed  bool      `json:"-"`
}

// Count returns how many outcomes have status st.
func (r *Result) Count(st Status) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == st {
			n++
		}
	}
	return n
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Executor) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *Executor) leaseTTL() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return 15 * time.Minute
}

func (e *Executor) owner() string {
	if e.Owner != "" {
		return e.Owner
	}
	return fmt.Sprintf("run-%d", e.RunID)
}

// runner is one Apply, Rollback or RotateNow call.
type runner struct {
	e       *Executor
	o       Options
	crashed *atomic.Bool
}

func (e *Executor) runner(o Options) *runner { return &runner{e: e, o: o, crashed: new(atomic.Bool)} }

// crashError is the error of an injected crash.
type crashError struct{ step string }

func (c *crashError) Error() string { return "crash injected at " + c.step }
func (c *crashError) Unwrap() error { return ErrCrashed }

// step calls the crash hook. Once one step has crashed, every later step of
// the run crashes too: the process is dead.
func (r *runner) step(name string) error {
	if r.crashed.Load() {
		return &crashError{step: name}
	}
	if r.o.Crash == nil {
		return nil
	}
	if err := r.o.Crash(name); err != nil {
		r.crashed.Store(true)
		return &crashError{step: name}
	}
	return nil
}

func isCrash(err error) bool { return errors.Is(err, ErrCrashed) }

// Apply carries out the plan's actions, account by account: accounts in
// parallel (up to Concurrency), users within an account in parallel (up to
// UserConcurrency) under the account's lease, and each user's actions in
// plan order. Cancelling ctx stops the run between actions;
// the action in flight is finished (its context is not cancelled). The
// returned error joins the errors of failed actions.
func (e *Executor) Apply(ctx context.Context, p *plan.Plan, o Options) (*Result, error) {
	r := e.runner(o)
	var order []string
	byAcct := map[string][]plan.Action{}
	for _, a := range p.Actions {
		if _, ok := byAcct[a.AccountID]; !ok {
			order = append(order, a.AccountID)
		}
		byAcct[a.AccountID] = append(byAcct[a.AccountID], a)
	}
	results := make([][]Outcome, len(order))
	sem := make(chan struct{}, e.concurrency())
	var wg sync.WaitGroup
	for i, acct := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = r.applyAccount(ctx, acct, byAcct[acct])
		}()
	}
	wg.Wait()
	res := &Result{Crashed: r.crashed.Load()}
	var errs []error
	for _, os := range results {
		for _, oc := range os {
			res.Outcomes = append(res.Outcomes, oc)
			if oc.Status == Failed && oc.Err != nil && !isCrash(oc.Err) {
				errs = append(errs, oc.Err)
			}
		}
	}
	if res.Crashed {
		errs = append(errs, ErrCrashed)
	}
	return res, errors.Join(errs...)
}

func outcomeOf(a plan.Action, st Status, detail string) Outcome {
	return Outcome{ActionID: a.ID, Kind: a.Kind, AccountID: a.AccountID, User: a.User, KeyID: a.KeyID, Status: st, Detail: detail}
}

func failed(a plan.Action, err error) Outcome {
	o := outcomeOf(a, Failed, err.Error())
	o.Err = err
	return o
}

// concurrency is how many accounts are worked on at once.
func (e *Executor) concurrency() int {
	if e.Concurrency <= 0 {
		return 4
	}
	return e.Concurrency
}

// DefaultUserConcurrency is how many users of one account are worked on
// at once when Executor.UserConcurrency is zero.
const DefaultUserConcurrency = 4

// applyAccount runs one account's actions under its lease. Users are
// independent of each other: each user's actions run in plan order, one
// after the other, and up to UserConcurrency users are worked on at once,
// so an account with many due users is not worked one by one. The
// outcomes are in plan order.
func (r *runner) applyAccount(ctx context.Context, acct string, actions []plan.Action) []Outcome {
	out := make([]Outcome, len(actions))
	if r.o.DryRun {
		for i, a := range actions {
			out[i] = outcomeOf(a, Skipped, "dry run: would "+describe(a))
			out[i].WouldDo = true
		}
		return out
	}
	e := r.e
	owner := e.owner()
	if e.History != nil {
		l, err := e.History.AcquireLease(ctx, acct, owner, e.leaseTTL(), e.now())
		var held *history.LeaseHeldError
		if errors.As(err, &held) {
			for i, a := range actions {
				out[i] = outcomeOf(a, Skipped, fmt.Sprintf("account is being worked on by %s (lease until %s); skipped", held.Holder, held.Expires.UTC().Format(time.RFC3339)))
			}
			return out
		}
		if err != nil {
			for i, a := range actions {
				out[i] = failed(a, fmt.Errorf("account %s: %w", acct, err))
			}
			return out
		}
		if l.Previous != "" {
			e.log().Warn("took over expired lease", "account", acct, "previous", l.Previous)
		}
		defer func() {
			if r.crashed.Load() {
				return // a dead process releases nothing; the lease expires
			}
			if err := e.History.ReleaseLease(context.WithoutCancel(ctx), acct, owner); err != nil {
				e.log().Warn("release lease", "account", acct, "err", err)
			}
		}()
	}
	// The lease is renewed before every action but the first; once it is
	// lost, no further action of the account starts.
	var (
		leaseMu sync.Mutex
		first   = true
		lost    string
	)
	renew := func() string {
		leaseMu.Lock()
		defer leaseMu.Unlock()
		switch {
		case lost != "" || e.History == nil:
		case first:
			first = false
		default:
			if _, err := e.History.RenewLease(ctx, acct, owner, e.leaseTTL(), e.now()); err != nil {
				lost = fmt.Sprintf("lost the account lease: %v", err)
			}
		}
		return lost
	}
	var users []string
	byUser := map[string][]int{}
	for i, a := range actions {
		who := a.User
		if a.Resource != "" {
			who = "resource:" + a.Resource // each account resource is worked on alone
		}
		if _, ok := byUser[who]; !ok {
			users = append(users, who)
		}
		byUser[who] = append(byUser[who], i)
	}
	done := make([]bool, len(actions))
	// work runs one user's actions in plan order. expect tracks the user's
	// keys as this run changes them, so that a later action (create after
	// delete) checks against it.
	work := func(idx []int) {
		// The access key actions' expected keys; the service-specific
		// credential actions carry their own.
		var expect []plan.KeyState
		for _, i := range idx {
			if !plan.ServiceKind(actions[i].Kind) {
				expect = actions[i].Expect
				break
			}
		}
		// An action that did not complete holds back the user's later
		// actions on the same credentials: the access keys (Service ""), or
		// one service's credentials, each its own.
		failedOn := map[string]bool{}
		for _, i := range idx {
			a := actions[i]
			if r.crashed.Load() {
				return
			}
			if ctx.Err() != nil {
				out[i], done[i] = outcomeOf(a, Skipped, "interrupted before this action"), true
				continue
			}
			if failedOn[a.Service] {
				out[i], done[i] = outcomeOf(a, Skipped, "an earlier action for this user did not complete"), true
				continue
			}
			if msg := renew(); msg != "" {
				out[i], done[i] = outcomeOf(a, Skipped, msg), true
				continue
			}
			// The step sequence of one action is never cut short by
			// Ctrl-C, only by its own deadline.
			actx, cancel := e.detached(ctx)
			o := r.do(actx, a, expect)
			cancel()
			out[i], done[i] = o, true
			if r.o.OnOutcome != nil {
				r.o.OnOutcome(o)
			}
			if o.Status != Succeeded && !o.WouldDo {
				failedOn[a.Service] = true
				continue
			}
			expect = applyToState(expect, a, o)
		}
	}
	conc := e.UserConcurrency
	if conc <= 0 {
		conc = DefaultUserConcurrency
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, u := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			work(byUser[u])
		}()
	}
	wg.Wait()
	// A crashed run has no outcome for the actions it never reached.
	kept := out[:0]
	for i, o := range out {
		if done[i] {
			kept = append(kept, o)
		}
	}
	return kept
}

// applyToState returns the user's keys after action a with outcome o.
func applyToState(ks []plan.KeyState, a plan.Action, o Outcome) []plan.KeyState {
	if plan.ServiceKind(a.Kind) {
		return ks // not an access key
	}
	var next []plan.KeyState
	for _, k := range ks {
		switch {
		case k.ID == a.KeyID && (a.Kind == plan.DeleteKey || a.Kind == plan.DeleteOrphan):
			continue
		case k.ID == a.KeyID && a.Kind == plan.DeactivateKey:
			k.Status = inventory.KeyInactive
		}
		next = append(next, k)
	}
	if o.NewKeyID != "" {
		next = append(next, plan.KeyState{ID: o.NewKeyID, Status: inventory.KeyActive})
	}
	return next
}

func describe(a plan.Action) string {
	k := inventory.MaskKeyID(a.KeyID)
	switch a.Kind {
	case plan.CreateKey:
		return "create a new key for " + a.User + " replacing " + k
	case plan.DeactivateKey:
		return "deactivate key " + k + " of " + a.User
	case plan.DeleteKey:
		return "delete inactive key " + k + " of " + a.User
	case plan.DeleteOrphan:
		return "delete orphan key " + k + " of " + a.User
	case plan.RotateSecret:
		return "start the rotation of secret " + a.Evidence["secret"] + " in " + a.Region
	case plan.DisableConsole:
		return "disable the console password of " + a.User
	case plan.CreateServiceCredential:
		return "create a new " + plan.ServiceShort(a.Service) + " credential for " + a.User + " replacing " + k
	case plan.DeactivateServiceCredential:
		return "deactivate " + plan.ServiceShort(a.Service) + " credential " + k + " of " + a.User
	case plan.DeleteServiceCredential:
		return "delete " + plan.ServiceShort(a.Service) + " credential " + k + " of " + a.User
	}
	return string(a.Kind) + " " + k + " of " + a.User
}

// do runs one action.
func (r *runner) do(ctx context.Context, a plan.Action, expect []plan.KeyState) Outcome {
	var o Outcome
	switch a.Kind {
	case plan.CreateKey:
		o = r.createKey(ctx, a, createOpts{expect: expect, checkExpect: true})
	case plan.DeactivateKey:
		o = r.deactivate(ctx, a, expect)
	case plan.DeleteKey:
		o = r.deleteKey(ctx, a, expect)
	case plan.DeleteOrphan:
		o = r.deleteOrphan(ctx, a, expect)
	case plan.RotateSecret:
		o = r.rotateSecret(ctx, a)
	case plan.DisableConsole:
		o = r.disableConsole(ctx, a)
	case plan.CreateServiceCredential:
		o = r.createServiceCredential(ctx, a)
	case plan.DeactivateServiceCredential:
		o = r.deactivateServiceCredential(ctx, a)
	case plan.DeleteServiceCredential:
		o = r.deleteServiceCredential(ctx, a)
	default:
		o = outcomeOf(a, Blocked, fmt.Sprintf("unknown action kind %q: keyrot carries out create-key, deactivate-key, delete-key and delete-orphan only", a.Kind))
	}
	lvl := slog.LevelInfo
	if o.Status == Failed {
		lvl = slog.LevelError
	}
	r.e.log().Log(ctx, lvl, "action", "kind", a.Kind, "account", a.AccountID, "user", a.User,
		"key", inventory.MaskKeyID(a.KeyID), "status", o.Status, "detail", o.Detail)
	return o
}

// journal is one history action in progress.
type journal struct {
	r  *runner
	id int64
	a  history.Action
}

// begin journals an action before its first write call. Failing to journal
// stops the action: keyrot does not act without an audit trail.
func (r *runner) begin(ctx context.Context, a plan.Action, kind, keyID string) (*journal, error) {
	j := &journal{r: r, a: history.Action{Account: a.AccountID, User: a.User, KeyID: keyID, Kind: kind, Reason: a.Reason, Started: r.e.now()}}
	if len(a.Evidence) > 0 {
		b, err := json.Marshal(a.Evidence)
		if err == nil {
			j.a.Evidence = string(b)
		}
	}
	if r.e.History == nil {
		return j, nil
	}
	id, err := r.e.History.BeginAction(ctx, r.e.RunID, j.a)
	if err != nil {
		return nil, fmt.Errorf("journal %s of %s/%s: %w", kind, a.AccountID, a.User, err)
	}
	j.id = id
	return j, nil
}

// end records the outcome; it never overrides the action's own result.
func (j *journal) end(ctx context.Context, st Status, errText, keyID string) {
	if j == nil || j.r.e.History == nil {
		return
	}
	hs := map[Status]string{Succeeded: history.ActionSucceeded, Failed: history.ActionFailed, Skipped: history.ActionSkipped, Blocked: history.ActionBlocked}[st]
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := j.r.e.History.EndAction(ctx, j.id, history.Outcome{Status: hs, Error: errText, KeyID: keyID, Finished: j.r.e.now()}); err != nil {
		j.r.e.log().Warn("journal outcome", "action", j.id, "err", err)
	}
}

// event mirrors a key event into history; failures are logged, not fatal:
// AWS holds the durable state.
func (r *runner) event(ctx context.Context, acct, user, keyID, ev string, at time.Time, arn, version string) {
	if r.e.History == nil {
		return
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if _, err := r.e.History.RecordKeyEvent(ctx, history.KeyEvent{Account: acct, User: user, KeyID: keyID, Event: ev, At: at,
		RunID: r.e.RunID, SecretARN: arn, SecretVersionID: version}); err != nil {
		r.e.log().Warn("record key event", "event", ev, "account", acct, "user", user, "key", inventory.MaskKeyID(keyID), "err", err)
	}
}

// nameData is the secret name template's data for a user.
func nameData(a plan.Action) secretstore.NameData {
	return secretstore.NameData{AccountID: a.AccountID, AccountName: a.AccountName, UserName: a.User, UserPath: pathFromARN(a.UserARN, a.User)}
}

// pathFromARN extracts an IAM user's path from its ARN ("/" if none).
func pathFromARN(arn, user string) string {
	_, res, ok := strings.Cut(arn, ":user")
	if !ok {
		return "/"
	}
	p := strings.TrimSuffix(res, user)
	if p == "" {
		return "/"
	}
	return p
}
