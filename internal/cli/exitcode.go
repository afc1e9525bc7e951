package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/app"
)

// Exit codes, in one place. docs/exit-codes.md documents them.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2 // bad flags, arguments or configuration
	ExitFindings = 3 // findings at or above --fail-on
	ExitAuth     = 4 // AWS refused keyrot's own credentials or denied it a call it needs
	ExitPartial  = 5 // some accounts could not be read
	ExitBlocked  = 6 // apply: changes blocked until a person acts
	ExitPending  = 7 // apply: a new key stored, not yet verified; run apply again later
	// ExitChangesPending is plan --detailed-exitcode's answer when the plan
	// has changes to make (now, or held back by guardrails). Like
	// terraform's detailed exit code, but 10: keyrot's 2 means a usage error.
	ExitChangesPending = 10
	ExitInterrupted    = 130
)

// ExitError carries a specific exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that Main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf is a usage or configuration problem (exit 2).
func usageErrorf(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// silentExit makes Main exit with code without printing anything more.
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit %d", int(s)) }

var authCodes = map[string]bool{
	"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "ExpiredToken": true,
	"ExpiredTokenException": true, "UnrecognizedClientException": true, "InvalidSignatureException": true,
	"AccessDenied": true, "AccessDeniedException": true, "AccessDeniedForDependencyException": true,
	"MissingAuthenticationToken": true, "AWSOrganizationsNotInUseException": false,
}

// exitCodeFor maps an error to the process exit code.
func exitCodeFor(err error) int {
	if err == nil {
		return ExitOK
	}
	var s silentExit
	if errors.As(err, &s) {
		return int(s)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ExitError
	case errors.Is(err, context.Canceled), errors.Is(err, app.ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, app.ErrInvalidRequest):
		return ExitUsage
	case errors.Is(err, app.ErrChangesFailed):
		return ExitError
	case errors.Is(err, app.ErrDenied):
		return ExitAuth
	case errors.Is(err, app.ErrPartial):
		return ExitPartial
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && authCodes[ae.ErrorCode()] {
		return ExitAuth
	}
	switch {
	case errors.Is(err, app.ErrBlocked):
		return ExitBlocked
	case errors.Is(err, app.ErrPending):
		return ExitPending
	}
	return ExitError
}
