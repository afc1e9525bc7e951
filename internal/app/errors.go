package app

import "errors"

// Errors the use cases return, wrapped with the details; front ends map
// them to exit codes and status codes with errors.Is.
var (
	// ErrPartial: some accounts could not be read.
	ErrPartial = errors.New("some accounts could not be read")
	// ErrNotConfirmed: the caller's Confirm refused; nothing changed.
	ErrNotConfirmed = errors.New("not confirmed; nothing changed")
	// ErrInterrupted: the run was cancelled; actions in flight were
	// finished, the rest not started.
	ErrInterrupted = errors.New("interrupted")
	// ErrInvalidRequest: the request itself is wrong (bad account ID,
	// missing user, unusable saved plan).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrChangesFailed: some of an apply's changes failed (RunError).
	ErrChangesFailed = errors.New("some changes failed")
	// ErrDenied: AWS denied keyrot's own credentials a call it needs, while
	// collecting or acting: a permission to grant (RunError).
	ErrDenied = errors.New("keyrot was denied a call it needs")
	// ErrBlocked: changes are blocked until a person acts: a blocked item
	// of the plan or an action a live gate blocked (RunError).
	ErrBlocked = errors.New("changes blocked until a person acts")
	// ErrPending: a new key is stored but not yet proven to authenticate;
	// the next apply proves it (RunError).
	ErrPending = errors.New("new key stored, not yet verified")
	// ErrActionFailed: a requested change (rollback, rotate now) did not
	// succeed; the result says why.
	ErrActionFailed = errors.New("action did not succeed")
)
