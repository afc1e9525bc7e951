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
	// ErrActionFailed: a requested change (rollback, rotate now) did not
	// succeed; the result says why.
	ErrActionFailed = errors.New("action did not succeed")
)
