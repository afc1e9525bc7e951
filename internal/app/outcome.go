package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// RunError says what an apply that ran left undone, by what it takes to
// finish it: changes that failed, calls AWS denied keyrot (a permission
// to grant), accounts not read, changes blocked until a person acts, and
// new keys stored but not yet proven. It is ErrChangesFailed, ErrDenied,
// ErrPartial, ErrBlocked and ErrPending for each that is not empty; front
// ends map the first that matches, in that order, to an exit code. Its
// text says what a person must do.
type RunError struct {
	// Failed are the errors of changes that failed for another reason.
	Failed []error
	// Denied are the calls AWS denied keyrot's own credentials, each with
	// where and what it stopped.
	Denied []string
	// Partial is the *PartialError of accounts not read, or nil.
	Partial error
	// Blocked are the changes keyrot will not make until a person acts:
	// the plan's blocked items and the actions a live gate blocked.
	Blocked []string
	// Pending are the new keys stored whose authentication is not yet
	// proven (IAM is eventually consistent): the next apply proves them.
	Pending []string
}

func (e *RunError) Error() string {
	var parts []string
	list := func(head string, items []string) {
		if len(items) > 0 {
			parts = append(parts, head+":\n  - "+strings.Join(items, "\n  - "))
		}
	}
	if len(e.Failed) > 0 {
		parts = append(parts, errors.Join(e.Failed...).Error())
	}
	list(fmt.Sprintf("AWS denied keyrot %d call(s) it needs: grant the permission to the identity keyrot runs as (in member accounts, its role), or renew its credentials where a call names ExpiredToken or InvalidClientTokenId, then run apply again", len(e.Denied)), e.Denied)
	if e.Partial != nil {
		parts = append(parts, e.Partial.Error()+": nothing was done in them; fix their access and run apply again")
	}
	list(fmt.Sprintf("%d change(s) blocked until a person acts (each says what to do; the owners are told)", len(e.Blocked)), e.Blocked)
	list(fmt.Sprintf("%d new key(s) stored but not yet proven to authenticate (IAM can take minutes to propagate a new key): nothing to fix; the old key stays active, run apply again later to prove the new one", len(e.Pending)), e.Pending)
	return strings.Join(parts, "\n")
}

// Is matches the sentinel of each non-empty part.
func (e *RunError) Is(target error) bool {
	switch target {
	case ErrChangesFailed:
		return len(e.Failed) > 0
	case ErrDenied:
		return len(e.Denied) > 0
	case ErrPartial:
		return e.Partial != nil
	case ErrBlocked:
		return len(e.Blocked) > 0
	case ErrPending:
		return len(e.Pending) > 0
	}
	return false
}

// Unwrap returns the errors of the failed changes.
func (e *RunError) Unwrap() []error { return e.Failed }

func (e *RunError) empty() bool {
	return len(e.Failed)+len(e.Denied)+len(e.Blocked)+len(e.Pending) == 0 && e.Partial == nil
}

// summary is the run record's short form: how many of each.
func (e *RunError) summary() string {
	var s []string
	add := func(n int, what string) {
		if n > 0 {
			s = append(s, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(e.Denied), "call(s) denied to keyrot: grant the permission")
	add(len(e.Blocked), "blocked until a person acts")
	add(len(e.Pending), "new key(s) stored, not yet verified: run apply again later")
	return strings.Join(s, "; ")
}

// runError sorts what the run left undone: rp is the plan carried out
// (with the facts it was built from), out its outcomes (nil if none). It
// returns nil when everything planned was done and nothing is blocked.
func runError(rp *RotationPlan, out *execute.Result) *RunError {
	e := &RunError{}
	denied := map[string]bool{} // account/user whose facts keyrot was denied
	if rp.Snapshot != nil {
		for _, a := range rp.Snapshot.Accounts {
			if a.Status != inventory.AccountAudited {
				continue
			}
			for _, ce := range a.Errors {
				if code := collectErrorCode(ce.Message); deniedCodes[code] {
					denied[a.ID+"/"+ce.User] = true
					e.Denied = append(e.Denied, fmt.Sprintf("%s: iam:%s%s: %s", a.ID, ce.Op, ofUser(ce.User, ce.KeyID), ce.Message))
				}
			}
		}
		e.Partial = Partial(rp.Snapshot)
	}
	if rp.Plan != nil {
		for _, b := range rp.Plan.Blocked {
			if denied[b.AccountID+"/"+b.User] {
				continue // said as a denied call: granting it is what to do
			}
			what := b.User + keyText(b.KeyID)
			if b.Resource != "" {
				what = b.Resource // an account resource, such as a secret
			}
			e.Blocked = append(e.Blocked, fmt.Sprintf("%s/%s: %s", b.AccountID, what, b.Reason))
		}
	}
	if out == nil {
		return e.orNil()
	}
	for _, o := range out.Outcomes {
		where := fmt.Sprintf("%s/%s %s%s", o.AccountID, o.User, o.Kind, keyText(o.KeyID))
		switch {
		case o.Status == execute.Failed && o.Kind == plan.CreateKey && o.NewKeyID != "" && o.SecretARN != "":
			// The executor fills the new key and its secret in only once
			// the key is stored: what failed is its verification.
			e.Pending = append(e.Pending, fmt.Sprintf("%s: new key %s stored in %s: %s", where, inventory.MaskKeyID(o.NewKeyID), o.SecretName, o.Detail))
		case o.Status == execute.Failed && (isDenied(o.Err) || isTokenRefused(o.Err)):
			e.Denied = append(e.Denied, where+": "+o.Detail)
		case o.Status == execute.Failed && o.Err != nil && !errors.Is(o.Err, execute.ErrCrashed):
			e.Failed = append(e.Failed, o.Err)
		case o.Status == execute.Blocked && deniedText(o.Detail) && !scpDenied(o.Detail):
			e.Denied = append(e.Denied, where+": "+o.Detail)
		case o.Status == execute.Blocked:
			e.Blocked = append(e.Blocked, where+": "+o.Detail)
		}
	}
	if out.Crashed {
		e.Failed = append(e.Failed, execute.ErrCrashed)
	}
	return e.orNil()
}

func (e *RunError) orNil() *RunError {
	if e.empty() {
		return nil
	}
	return e
}

func keyText(id string) string {
	if id == "" {
		return ""
	}
	return " key " + inventory.MaskKeyID(id)
}

func ofUser(user, key string) string {
	if user == "" {
		return ""
	}
	return " of " + user + keyText(key)
}

// deniedCodes are the AWS error codes of a call denied to the caller's
// credentials: a permission keyrot lacks. InvalidClientTokenId is not
// among them: a new key not yet propagated answers it too.
var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "AccessDeniedForDependencyException": true,
	"UnauthorizedOperation": true, "UnauthorizedAccess": true,
}

// isDenied reports whether err is AWS denying keyrot a call.
func isDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && deniedCodes[ae.ErrorCode()]
}

// tokenCodes are the AWS error codes of a call refused for the caller's
// credentials themselves (an expired session, a token AWS does not know):
// keyrot's own credentials, exit 4 (docs/exit-codes.md), once a new key's
// verification (which meets InvalidClientTokenId while the key
// propagates) has been told apart as pending.
var tokenCodes = map[string]bool{
	"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "ExpiredToken": true,
	"ExpiredTokenException": true, "UnrecognizedClientException": true, "InvalidSignatureException": true,
}

// isTokenRefused reports whether err is AWS refusing keyrot's own credentials.
func isTokenRefused(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && tokenCodes[ae.ErrorCode()]
}

// scpDenials end AWS's AccessDenied message when a service control policy
// denied the call, explicitly or (an allow-list of SCPs) by allowing it
// nowhere: granting keyrot more does not help, the organization's
// guardrail decides, so the change is blocked until a person acts rather
// than denied to keyrot.
var scpDenials = []string{
	"with an explicit deny in a service control policy",
	"because no service control policy allows the ",
}

// scpDenied reports whether an outcome's detail quotes AWS denying a call
// because of a service control policy.
func scpDenied(detail string) bool {
	for _, s := range scpDenials {
		if strings.Contains(detail, s) {
			return true
		}
	}
	return false
}

// deniedText reports whether an outcome's detail quotes AWS denying a call:
// a blocked outcome carries the words of the error that blocked it, which
// for an AWS error end in the SDK's "api error <Code>: <message>".
func deniedText(detail string) bool {
	for code := range deniedCodes {
		if strings.Contains(detail, "api error "+code+":") {
			return true
		}
	}
	return false
}

// collectErrorCode is the AWS error code of a collection error's message,
// "<op>: <code>: <message>" (collect.describe), or "".
func collectErrorCode(msg string) string {
	parts := strings.SplitN(msg, ": ", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
