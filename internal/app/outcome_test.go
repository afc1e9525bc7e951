package app

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// TestRunError sorts what an apply left undone by what it takes to finish
// it: a key not yet propagated is pending (not denied, although AWS
// answered InvalidClientTokenId), a denied read is a permission to grant
// (not blocked, not partial), and a gate's block is for a person.
func TestRunError(t *testing.T) {
	tokenErr := fmt.Errorf("new key stored but not verified: %w", &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "invalid"})
	deniedErr := fmt.Errorf("deactivate: %w", &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"})
	snap := &inventory.Snapshot{Accounts: []inventory.Account{
		{ID: "111122223333", Status: inventory.AccountAudited, Errors: []inventory.CollectError{
			{User: "app", KeyID: "AKIAAAAAAAAAAAAAAAA1", Op: "GetAccessKeyLastUsed", Message: "GetAccessKeyLastUsed: AccessDenied: no"},
			{User: "db", Op: "ListUserTags", Message: "ListUserTags: Throttling: slow down"},
		}},
		{ID: "444455556666", Status: inventory.AccountFailed, Reason: "assume role: AccessDenied"},
	}}
	rp := &RotationPlan{Snapshot: snap, Plan: &plan.Plan{Blocked: []plan.Action{
		{AccountID: "111122223333", User: "app", KeyID: "AKIAAAAAAAAAAAAAAAA1", Reason: "last use of this key could not be read"},
		{AccountID: "111122223333", User: "pair", KeyID: "AKIAAAAAAAAAAAAAAAA2", Reason: "two active keys, both in use"},
	}}}
	out := &execute.Result{Outcomes: []execute.Outcome{
		{Kind: plan.CreateKey, AccountID: "111122223333", User: "web", Status: execute.Failed, NewKeyID: "AKIAAAAAAAAAAAAAAAA3", SecretARN: "arn:s", SecretName: "keyrot/web", Detail: tokenErr.Error(), Err: tokenErr},
		{Kind: plan.DeactivateKey, AccountID: "111122223333", User: "ci", Status: execute.Failed, Detail: deniedErr.Error(), Err: deniedErr},
		{Kind: plan.DeactivateKey, AccountID: "111122223333", User: "ops", Status: execute.Blocked, Detail: "new key not proven: read AWSCURRENT: operation error Secrets Manager: GetSecretValue, api error AccessDeniedException: no"},
		{Kind: plan.DeactivateKey, AccountID: "111122223333", User: "bob", Status: execute.Blocked, Detail: "still in use: last used 2026-01-01"},
		{Kind: plan.DeleteKey, AccountID: "111122223333", User: "eve", Status: execute.Skipped, Detail: "state changed since plan"},
	}}
	e := runError(rp, out)
	if e == nil {
		t.Fatal("nothing left undone?")
	}
	count := func(items []string, sub string) int {
		n := 0
		for _, s := range items {
			if strings.Contains(s, sub) {
				n++
			}
		}
		return n
	}
	if len(e.Pending) != 1 || count(e.Pending, "111122223333/web") != 1 {
		t.Errorf("pending %q", e.Pending)
	}
	if len(e.Denied) != 3 || count(e.Denied, "iam:GetAccessKeyLastUsed of app") != 1 || count(e.Denied, "/ci ") != 1 || count(e.Denied, "/ops ") != 1 {
		t.Errorf("denied %q", e.Denied)
	}
	if len(e.Blocked) != 2 || count(e.Blocked, "/pair") != 1 || count(e.Blocked, "/bob ") != 1 {
		t.Errorf("blocked %q", e.Blocked)
	}
	if len(e.Failed) != 0 || !errors.Is(e, ErrPartial) || errors.Is(e, ErrChangesFailed) {
		t.Errorf("failed %v, partial %v", e.Failed, e.Partial)
	}
	for _, target := range []error{ErrDenied, ErrBlocked, ErrPending} {
		if !errors.Is(e, target) {
			t.Errorf("not %v", target)
		}
	}
	if runError(&RotationPlan{Plan: &plan.Plan{}}, &execute.Result{Outcomes: []execute.Outcome{{Status: execute.Succeeded}}}) != nil {
		t.Error("a run with everything done has something undone")
	}
}
