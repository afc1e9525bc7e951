package cli

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/plan"
)

// TestApplyRotatesOverdueSecret: on the demo organization, the plan
// starts the rotation of the overdue secret whose rotation is configured
// (prod/orders/db-password) and blocks the one whose last rotation failed
// (prod/payments/db-password); a dry run changes nothing; apply starts
// the rotation through the real SDK (the sandbox's rotation function
// finishes it), records it in the history, and the next plan has nothing
// left to do for that secret.
func TestApplyRotatesOverdueSecret(t *testing.T) {
	e := startRotationEnv(t, "demo")
	ctx := context.Background()
	const acct = "345678901234"
	code, out, stderr := e.run(t, "plan", "--accounts", acct, "-o", "json")
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var p struct{ Plan plan.Plan }
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	find := func(list []plan.Action, secret string) *plan.Action {
		for i, a := range list {
			if a.Evidence["secret"] == secret {
				return &list[i]
			}
		}
		return nil
	}
	orders := find(p.Plan.Actions, "prod/orders/db-password")
	if orders == nil || orders.Kind != plan.RotateSecret || orders.Resource == "" || orders.Region != "us-east-1" {
		t.Fatalf("no rotate-secret action for prod/orders/db-password: %+v", p.Plan.Actions)
	}
	if b := find(p.Plan.Blocked, "prod/payments/db-password"); b == nil {
		t.Errorf("the secret whose rotation failed is not blocked: %+v", p.Plan.Blocked)
	}
	if a := find(p.Plan.Actions, "prod/payments/db-password"); a != nil {
		t.Errorf("the secret whose rotation failed is rotated: %+v", a)
	}

	admin := secretsmanager.NewFromConfig(assumeInto(ctx, t, e, e.Admin(), acct))
	lastRotated := func() string {
		d, err := admin.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(orders.Resource)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToTime(d.LastRotatedDate).String()
	}
	before := lastRotated()
	// The account also holds changes blocked until a person acts (exit 6).
	code, _, stderr = e.run(t, "apply", "--accounts", acct, "--yes", "--dry-run", "-o", "json")
	if code != ExitBlocked {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	if after := lastRotated(); after != before {
		t.Fatalf("dry run rotated the secret: %s -> %s", before, after)
	}
	code, out, stderr = e.run(t, "apply", "--accounts", acct, "--yes", "-o", "json")
	if code != ExitBlocked {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var got *execute.Outcome
	for i, o := range res.Outcomes {
		if o.Kind == plan.RotateSecret {
			got = &res.Outcomes[i]
		}
	}
	if got == nil || got.Status != execute.Succeeded || got.SecretName != "prod/orders/db-password" {
		t.Fatalf("rotate-secret outcome %+v", got)
	}
	if errs := e.Server.WaitForRotations(); errs != nil {
		t.Fatalf("rotation: %v", errs)
	}
	if after := lastRotated(); after == before {
		t.Errorf("the secret was not rotated (last rotated %s)", after)
	}
	// The history has the action with its outcome.
	path, err := historyPath(e.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := history.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	acts, err := h.ActionsFor(ctx, acct, execute.JournalSecretUser("prod/orders/db-password"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := false
	for _, a := range acts {
		if a.Kind == string(plan.RotateSecret) && a.KeyID == orders.Resource && a.Outcome.Status == history.ActionSucceeded {
			recorded = true
		}
	}
	if !recorded {
		t.Errorf("no succeeded rotate-secret action in the history: %+v", acts)
	}
	// Nothing left to do for that secret.
	_, out, _ = e.run(t, "plan", "--accounts", acct, "-o", "json")
	p.Plan = plan.Plan{}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if a := find(p.Plan.Actions, "prod/orders/db-password"); a != nil {
		t.Errorf("still planned after the rotation: %+v", a)
	}
}
