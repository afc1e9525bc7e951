package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// lifecycleApp returns an App over a sandbox with one user whose key is
// due on the sandbox's day 90, judged by the sandbox clock, with its own
// history; and a function listing the user's keys.
func lifecycleApp(t *testing.T) (*App, *sandboxtest.Env, func() map[string]string) {
	t.Helper()
	env := sandboxtest.Start(t, filepath.Join("testdata", "lifecycle.yaml"))
	env.Server.SetReportBuildTime(0)
	env.Server.Clock().Advance(5 * 24 * time.Hour)
	h, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	a := &App{Policy: policy.Default(), AWS: env.Admin(), History: h, Now: env.Server.Clock().Now, Host: "test", Version: "test",
		CollectOptions: func(o *collect.Options) {
			o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
		}}
	ic := iam.NewFromConfig(env.Admin())
	keys := func() map[string]string {
		out, err := ic.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String("app")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range out.AccessKeyMetadata {
			m[aws.ToString(k.AccessKeyId)] = string(k.Status)
		}
		return m
	}
	return a, env, keys
}

// TestApplyUseCase drives the Apply use case without any front end: a
// refused confirmation changes nothing and is recorded; a dry run changes
// nothing; an enforcing run rotates the due key and records the run.
func TestApplyUseCase(t *testing.T) {
	a, _, keys := lifecycleApp(t)
	ctx := context.Background()
	before := keys()

	res, err := a.Apply(ctx, ApplyRequest{Confirm: func(context.Context, *plan.Plan) error { return ErrNotConfirmed }})
	if !errors.Is(err, ErrNotConfirmed) || res == nil || res.Result != nil {
		t.Fatalf("refused confirmation: %+v, %v", res, err)
	}
	if len(res.Plan.Plan.Actions) != 1 || res.Plan.Plan.Actions[0].Kind != plan.CreateKey {
		t.Fatalf("want one create in the plan, got %+v", res.Plan.Plan.Actions)
	}
	res, err = a.Apply(ctx, ApplyRequest{DryRun: true})
	if err != nil || res.Result.Count(execute.Skipped) != 1 || !res.Result.Outcomes[0].WouldDo {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if after := keys(); len(after) != len(before) {
		t.Fatalf("refused and dry runs changed keys: %v -> %v", before, after)
	}

	res, err = a.Apply(ctx, ApplyRequest{})
	if err != nil || res.Result.Count(execute.Succeeded) != 1 {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if len(keys()) != 2 {
		t.Fatalf("want the new key beside the old one, got %v", keys())
	}
	if len(res.Warnings) != 1 {
		t.Errorf("want the warning that nobody is told, got %q", res.Warnings)
	}
	runs, err := a.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{runs[0].ID: history.RunSucceeded, runs[1].ID: history.RunSucceeded, runs[2].ID: history.RunFailed}
	for _, r := range runs {
		if r.Status != want[r.ID] {
			t.Errorf("run %d (%s) is %s, want %s: %s", r.ID, r.Mode, r.Status, want[r.ID], r.Summary)
		}
	}
	if runs[2].Summary == "" || runs[0].Mode != history.ModeEnforce || runs[1].Mode != history.ModeDryRun {
		t.Errorf("runs: %+v", runs)
	}
}

// TestApplySavedPlanRefused: a saved plan older than the limit, or for an
// account no longer readable, is refused as an invalid request with
// nothing changed.
func TestApplySavedPlanRefused(t *testing.T) {
	a, _, keys := lifecycleApp(t)
	ctx := context.Background()
	rp, err := a.Plan(ctx, PlanRequest{})
	if err != nil {
		t.Fatal(err)
	}
	old := *rp.Plan
	old.GeneratedAt = old.GeneratedAt.Add(-48 * time.Hour)
	if _, err := a.Apply(ctx, ApplyRequest{SavedPlan: &old, PlanMaxAge: 24 * time.Hour}); !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, plan.ErrBadFile) {
		t.Errorf("old saved plan: %v", err)
	}
	foreign := *rp.Plan
	foreign.Accounts = append([]string{"999999999999"}, foreign.Accounts...)
	act := foreign.Actions[0]
	act.AccountID = "999999999999"
	act.ID = fmt.Sprintf("%s/%s/%s/%s", act.Kind, act.AccountID, act.User, act.KeyID)
	foreign.Actions = []plan.Action{act}
	_, err = a.Apply(ctx, ApplyRequest{SavedPlan: &foreign, PlanMaxAge: 24 * time.Hour})
	if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "account 999999999999 is outside this run's scope") {
		t.Errorf("saved plan for another account: %v", err)
	}
	if len(keys()) != 1 {
		t.Errorf("refused saved plans changed keys: %v", keys())
	}
}
