// Package lambdafn is keyrot's AWS Lambda front end: the coordinator,
// worker and reporter handlers that the Step Functions state machine in
// deploy/stepfunctions/keyrot.asl.json calls, over the same application
// layer (internal/app) as the CLI and keyrot serve. One run of the state
// machine is one run over the organization:
//
//   - the coordinator lists the organization's accounts once, computes the
//     run's plan read-only to apply the organization-wide guardrails
//     (max_changes), and splits the accounts into batches, each with its
//     share of the change budget and the users the plan admits;
//   - a worker carries out one batch, one account at a time under that
//     account's lease, and stops before its Lambda deadline: the state
//     machine invokes it again from the account it stopped at;
//   - the reporter gathers the batches' results into one run summary,
//     sends each owner one digest across all accounts, and records the run.
//
// Outside the state machine, the events handler (Functions.Detect) takes
// the CloudTrail events an EventBridge rule delivers and tells the owner
// and the security contact of a credential change keyrot did not make.
//
// The handlers take and return the JSON documents the state machine passes
// (types in this file); cmd/keyrot-lambda starts the one KEYROT_HANDLER
// names under the Lambda runtime.
package lambdafn

import (
	"encoding/json"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/inventory"
)

// Handler names, the values of KEYROT_HANDLER.
const (
	HandlerCoordinator = "coordinator"
	HandlerWorker      = "worker"
	HandlerReporter    = "reporter"
	HandlerEvents      = "events"
)

// Modes, the values of KEYROT_MODE.
const (
	ModeAudit  = "audit"
	ModeRotate = "rotate"
)

// CoordinatorInput is what the state machine sends the coordinator.
type CoordinatorInput struct {
	// Execution is the Step Functions execution's ARN.
	Execution string `json:"execution"`
	// Started is when the execution started (RFC 3339).
	Started string `json:"started"`
	// MaxConcurrency and ToleratedFailurePercentage are the state
	// machine's settings, substituted into its definition as text; the
	// coordinator checks them and returns them as numbers for the
	// Distributed Map's MaxConcurrencyPath and ToleratedFailurePercentagePath.
	MaxConcurrency             string `json:"max_concurrency"`
	ToleratedFailurePercentage string `json:"tolerated_failure_percentage"`
	// Input is the execution's own input (from the schedule, or given by
	// hand to StartExecution).
	Input RunOptions `json:"input"`
}

// RunOptions are what the execution's input may say.
type RunOptions struct {
	// AllowPartial acts on the accounts that can be read even when others
	// cannot; without it such a run is refused, as the CLI refuses it.
	AllowPartial bool `json:"allow_partial,omitempty"`
	// BatchSize is how many accounts one worker loop carries; DefaultBatchSize if zero.
	BatchSize int `json:"batch_size,omitempty"`
}

// DefaultBatchSize is how many accounts one batch holds unless the
// execution's input says otherwise.
const DefaultBatchSize = 10

// Run describes the run to every handler.
type Run struct {
	Execution string `json:"execution"`
	// Mode is history.ModeEnforce or history.ModeAuditOnly.
	Mode           string `json:"mode"`
	OrganizationID string `json:"organization_id,omitempty"`
	// MaxChanges is the organization-wide guardrail in force; Planned the
	// changes the coordinator's plan admits under it, Deferred those it
	// holds back.
	MaxChanges int `json:"max_changes"`
	Planned    int `json:"planned"`
	Deferred   int `json:"deferred"`
	// Refused, if set, is why nothing is done (a partial organization
	// listing): the batches are empty and the reporter records the refusal.
	Refused string `json:"refused,omitempty"`
	// Skipped are the accounts not dispatched (excluded, suspended); with
	// the DynamoDB history, they are in the table (work document
	// "skipped"), not here.
	Skipped []AccountResult `json:"skipped,omitempty"`
	// Problems are what the coordinator could not read while planning (a
	// call denied, a kind of credential not listed), at most
	// maxRunProblems of them; the reporter tells them in the summary.
	Problems []string `json:"problems,omitempty"`
}

// WorkList is the coordinator's output: the run, its batches, and the
// Distributed Map's settings.
type WorkList struct {
	Run                        Run     `json:"run"`
	Batches                    []Batch `json:"batches"`
	MaxConcurrency             int     `json:"max_concurrency"`
	ToleratedFailurePercentage int     `json:"tolerated_failure_percentage"`
}

// Batch is one worker loop's share of the run.
type Batch struct {
	Index int `json:"index"`
	// Stored says the batch is in the work store (the DynamoDB history):
	// the state machine passes only its Index, and the worker reads the
	// rest from the table.
	Stored bool `json:"stored,omitempty"`
	// Accounts are as the coordinator listed them (ID, name, e-mail, OU path).
	Accounts []inventory.Account `json:"accounts,omitempty"`
	// Budget is the number of changes this batch may make: its share of
	// the run's max_changes, the changes the coordinator's plan admitted
	// in its accounts.
	Budget int `json:"budget,omitempty"`
	// Admitted are the users ("account/user") whose changes the
	// coordinator's plan admitted; others are deferred as the CLI defers
	// them.
	Admitted []string `json:"admitted,omitempty"`
}

// WorkerState is both the worker's input and its output: the state
// machine passes the output back in until Done.
type WorkerState struct {
	// Run is left out of a stored batch's final answer.
	Run   Run   `json:"run,omitzero"`
	Batch Batch `json:"batch"`
	// Next is the index in Batch.Accounts of the first account not done.
	Next int `json:"next"`
	// Used is the changes made so far, against Batch.Budget.
	Used int `json:"used"`
	// Invocations counts the worker's invocations for this batch.
	Invocations int  `json:"invocations"`
	Done        bool `json:"done"`
	// Stored says Results and Held are in the work store, not here.
	Stored bool `json:"stored,omitempty"`
	// Results has one entry per account done.
	Results []AccountResult `json:"results,omitempty"`
	// Held are the notices owed, sent by the reporter.
	Held []app.HeldNotices `json:"held,omitempty"`
	// Error is set by the state machine when the worker failed for good:
	// the batch ends with the state it had before that invocation.
	Error *StateError `json:"error,omitempty"`
}

// AccountResult is what the run did in one account.
type AccountResult struct {
	Account string `json:"account"`
	// RunID is the worker's run record for this account in the history.
	RunID int64 `json:"run_id,omitempty"`
	// Status is "succeeded", "failed" or "skipped".
	Status  string         `json:"status"`
	Summary string         `json:"summary,omitempty"`
	Actions []ActionResult `json:"actions,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// ActionResult is one action's outcome.
type ActionResult struct {
	Kind     string `json:"kind"`
	User     string `json:"user"`
	KeyID    string `json:"key_id,omitempty"`
	NewKeyID string `json:"new_key_id,omitempty"`
	Status   string `json:"status"`
	WouldDo  bool   `json:"would_do,omitempty"`
	Deferred string `json:"deferred,omitempty"`
}

// ReporterInput is what the state machine sends the reporter: the
// coordinator's work list with the batches' final states in Results (a
// failed batch's entry is the error Step Functions recorded), or MapError
// when the Distributed Map itself failed.
type ReporterInput struct {
	Run      Run               `json:"run"`
	Batches  []Batch           `json:"batches"`
	Results  []json.RawMessage `json:"results"`
	MapError *StateError       `json:"map_error,omitempty"`
}

// StateError is how Step Functions passes an error caught by Catch.
type StateError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Summary is the reporter's output, the execution's output.
type Summary struct {
	Execution string `json:"execution"`
	Mode      string `json:"mode"`
	// Status is "succeeded" or "failed" (changes failed, accounts not
	// read, batches lost, or the run refused).
	Status string `json:"status"`
	// RunID is the run record of the whole run in the history.
	RunID   int64  `json:"run_id"`
	Summary string `json:"summary"`
	// Accounts counts the accounts done; AccountsFailed those whose run
	// failed; BatchesFailed the batches Step Functions reports failed.
	Accounts       int `json:"accounts"`
	AccountsFailed int `json:"accounts_failed"`
	BatchesFailed  int `json:"batches_failed"`
	// Changes by outcome.
	Succeeded int `json:"succeeded"`
	Blocked   int `json:"blocked"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Deferred  int `json:"deferred"`
	// Digests sent, and deliveries that failed.
	Digests      int `json:"digests"`
	NotifyFailed int `json:"notify_failed"`
	// Results are the accounts where something happened or went wrong.
	Results []AccountResult `json:"results,omitempty"`
	// Problems are the run's problems in words.
	Problems []string `json:"problems,omitempty"`
}

// DetectResult is the events handler's answer about one event.
type DetectResult struct {
	// EventID is the CloudTrail record's eventID, Call its eventName.
	EventID string `json:"event_id,omitempty"`
	Call    string `json:"call,omitempty"`
	// Ignored says why the event is no news (another kind of event, a
	// failed call, keyrot's own call); empty when Detected.
	Ignored string `json:"ignored,omitempty"`
	// Detected is a credential change made outside keyrot, in Account to
	// User.
	Detected bool   `json:"detected"`
	Account  string `json:"account,omitempty"`
	User     string `json:"user,omitempty"`
	// Notices is how many notices were sent; Suppressed how many were
	// already sent for this event (a second delivery).
	Notices    int `json:"notices"`
	Suppressed int `json:"suppressed"`
	// Told are the recipients whose notice was delivered.
	Told     []string `json:"told,omitempty"`
	Problems []string `json:"problems,omitempty"`
}
