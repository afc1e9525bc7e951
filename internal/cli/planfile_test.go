package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
)

// refusedPlanFile runs keyrot apply --plan-file file and checks that the
// file is refused (exit 2) with every want in stderr, and that nothing was
// written. A dry run of the same file must say the same.
func refusedPlanFile(t *testing.T, e *rotationEnv, file string, want ...string) {
	t.Helper()
	for _, mode := range []string{"--yes", "--dry-run"} {
		e.Server.ResetCallCounts()
		code, out, stderr := e.run(t, "apply", "--plan-file", file, mode, "-o", "json", "--plan-max-age", "0")
		if code != ExitUsage {
			t.Fatalf("apply %s of a plan file that asks for more than apply would do: exit %d, want %d\n%s\n%s", mode, code, ExitUsage, out, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("apply %s: stderr does not say %q:\n%s", mode, w, stderr)
			}
		}
		if strings.Contains(out, `"outcomes"`) {
			t.Errorf("apply %s of a refused plan reported outcomes:\n%s", mode, out)
		}
		if n := writeCalls(e); n != 0 {
			t.Fatalf("apply %s of a refused plan made %d write call(s): %v", mode, n, e.Server.CallCounts())
		}
	}
}

// tamper writes a copy of the saved plan in file, changed by edit, with a
// digest recomputed over the change (as anyone who can write the file can
// do), and returns the copy's name.
func tamper(t *testing.T, file string, edit func(p *plan.Plan)) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Decode(b)
	if err != nil {
		t.Fatalf("saved plan: %v", err)
	}
	edit(p)
	out, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "tampered.json")
	if err := os.WriteFile(name, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// actionOf returns the index of the action of user in as, or fails.
func actionOf(t *testing.T, as []plan.Action, user string) int {
	t.Helper()
	for i, a := range as {
		if a.User == user {
			return i
		}
	}
	t.Fatalf("no action for %s in %+v", user, as)
	return -1
}

// actionID is the ID plan.Build gives an action.
func actionID(a plan.Action) string {
	return fmt.Sprintf("%s/%s/%s/%s", a.Kind, a.AccountID, a.User, a.KeyID)
}

// tamperUsers adds users to lifecycleScenario's management account: one
// whose key is unused (deactivation due), one with two keys in use
// (blocked), one with a 5-day-old key, and a person.
const tamperUsers = `      - name: idle
        path: /service/
        created: 200d
        keys:
          - {age: 60d, last_used: 50d, service: s3, region: eu-west-1}
      - name: pair
        path: /service/
        created: 200d
        keys:
          - {age: 70d, last_used: 1h, service: s3, region: eu-west-1}
          - {age: 60d, last_used: 2h, service: s3, region: eu-west-1}
      - name: fresh
        path: /service/
        created: 200d
        keys:
          - {age: 5d, last_used: 1h, service: s3, region: eu-west-1}
      - name: emma
        path: /people/
        created: 200d
`

// TestPlanFileTampered: a saved plan can only narrow what apply would do
// now. Every way the adversarial run turned a plan file against keyrot
// (issue 9) is refused as a whole, by apply and by its dry run alike, with
// the reason and no write call; a plan narrowed by hand runs only what it
// kept, with the gates and names of the plan computed now.
func TestPlanFileTampered(t *testing.T) {
	e := startLifecycle(t, tamperUsers+memberAccount)
	e.Server.Clock().Advance(5 * day) // app's and worker's keys are due
	file, pf := savePlan(t, e)
	p := pf.Plan
	iApp, iIdle, iWorker := actionOf(t, p.Actions, "app"), actionOf(t, p.Actions, "idle"), actionOf(t, p.Actions, "worker")
	if len(p.Actions) != 3 || p.Actions[iApp].Kind != plan.CreateKey || p.Actions[iIdle].Kind != plan.DeactivateKey || p.Actions[iWorker].Kind != plan.CreateKey {
		t.Fatalf("plan: %+v", p.Actions)
	}
	if len(p.Blocked) != 1 || p.Blocked[0].User != "pair" {
		t.Fatalf("blocked: %+v", p.Blocked)
	}
	appKey := p.Actions[iApp].KeyID

	t.Run("create turned into a delete", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) {
			a := &p.Actions[iApp]
			a.Kind, a.Gate = plan.DeleteKey, plan.Gate{RequireStatus: inventory.KeyInactive}
			a.ID = actionID(*a)
		})
		refusedPlanFile(t, e, f, "delete-key 111122223333/app", "the plan computed now would create-key this key, not delete-key")
	})
	t.Run("usage gate removed", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) { p.Actions[iIdle].Gate = plan.Gate{} })
		refusedPlanFile(t, e, f, "deactivate-key 111122223333/idle", "its gate is none, not status Active, unused since")
	})
	t.Run("blocked item promoted to an action", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) {
			a := p.Blocked[0]
			a.Kind, a.Gate = plan.DeactivateKey, plan.Gate{RequireStatus: inventory.KeyActive}
			a.ID = actionID(a)
			p.Actions, p.Blocked = append(p.Actions, a), nil
		})
		refusedPlanFile(t, e, f, "deactivate-key 111122223333/pair", "keyrot blocks it now: two active keys, both in use")
	})
	t.Run("user ARN swapped", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) {
			p.Actions[iApp].UserARN = "arn:aws:iam::111122223333:user/people/emma"
		})
		refusedPlanFile(t, e, f, "create-key 111122223333/app", `its user ARN is "arn:aws:iam::111122223333:user/people/emma", not "arn:aws:iam::111122223333:user/service/app"`)
	})
	t.Run("expected keys edited", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) { p.Actions[iApp].Expect = nil })
		refusedPlanFile(t, e, f, "create-key 111122223333/app", "it expects the keys none")
	})
	t.Run("a 5-day-old key rotated", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) {
			a := p.Actions[iApp]
			a.User, a.UserARN = "fresh", "arn:aws:iam::111122223333:user/service/fresh"
			a.KeyID = "AKIA" + strings.Repeat("F", 16)
			a.ID = actionID(a)
			p.Actions = append(p.Actions, a)
		})
		refusedPlanFile(t, e, f, "create-key 111122223333/fresh", "not in the plan computed now")
	})
	t.Run("every bad action listed", func(t *testing.T) {
		f := tamper(t, file, func(p *plan.Plan) {
			p.Actions[iIdle].Gate = plan.Gate{}
			p.Actions[iApp].UserARN = "arn:aws:iam::111122223333:user/people/emma"
		})
		refusedPlanFile(t, e, f, "asks for 2 action(s) that apply would not do now", "111122223333/idle", "111122223333/app")
	})
	// The plan's accounts edited to the scope of the run: its action in
	// the other account is still refused.
	inScope := tamper(t, file, func(p *plan.Plan) { p.Accounts = []string{"111122223333"} })
	t.Run("account excluded", func(t *testing.T) {
		e.Server.ResetCallCounts()
		code, out, stderr := e.run(t, "apply", "--plan-file", inScope, "--yes", "-o", "json", "--exclude-accounts", "444455556666")
		if code != ExitUsage || !strings.Contains(stderr, "create-key 444455556666/worker") || !strings.Contains(stderr, "account 444455556666 is excluded") {
			t.Fatalf("plan acting in an excluded account: exit %d\n%s\n%s", code, out, stderr)
		}
		if n := writeCalls(e); n != 0 {
			t.Fatalf("%d write calls", n)
		}
	})
	t.Run("account outside --accounts", func(t *testing.T) {
		e.Server.ResetCallCounts()
		code, out, stderr := e.run(t, "apply", "--plan-file", inScope, "--yes", "-o", "json", "--accounts", "111122223333")
		if code != ExitUsage || !strings.Contains(stderr, "create-key 444455556666/worker") || !strings.Contains(stderr, "account 444455556666 is outside this run's scope") {
			t.Fatalf("plan acting outside --accounts: exit %d\n%s\n%s", code, out, stderr)
		}
		if n := writeCalls(e); n != 0 {
			t.Fatalf("%d write calls", n)
		}
	})
	t.Run("edited without its digest", func(t *testing.T) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f plan.File
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		f.Plan.Actions = f.Plan.Actions[:1]
		b, _ = json.MarshalIndent(f, "", "  ")
		name := filepath.Join(t.TempDir(), "edited.json")
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		refusedPlanFile(t, e, name, "was changed after keyrot wrote it")
	})

	// Narrowed by hand to app's rotation: only that runs, and the dry run
	// says exactly that.
	narrowed := tamper(t, file, func(p *plan.Plan) { p.Actions = []plan.Action{p.Actions[iApp]} })
	e.Server.ResetCallCounts()
	code, out, stderr := e.run(t, "apply", "--plan-file", narrowed, "--dry-run", "-o", "json")
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil || code == ExitUsage || len(res.Outcomes) != 1 || res.Outcomes[0].User != "app" || !res.Outcomes[0].WouldDo {
		t.Fatalf("dry run of a narrowed plan: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	if !strings.Contains(stderr, "1 change planned, 0 held back by guardrails, 2 left out by the saved plan") {
		t.Errorf("dry run summary:\n%s", stderr)
	}
	// pair's two keys in use are still blocked for a person: exit 6.
	outs := applyPlanFileCode(t, e, narrowed, ExitBlocked)
	if len(outs) != 1 || outs[0].User != "app" || outs[0].Status != execute.Succeeded || outs[0].KeyID != appKey {
		t.Fatalf("narrowed plan: %+v", outs)
	}
	if n := callsTo(e, "iam:CreateAccessKey"); n != 1 {
		t.Fatalf("narrowed plan made %d CreateAccessKey calls, want 1 (app only)", n)
	}
	if n := callsTo(e, "iam:UpdateAccessKey"); n != 0 {
		t.Fatalf("narrowed plan deactivated a key")
	}
}

// TestPlanFileDateEdited: a plan older than --plan-max-age is refused, and
// so is the same plan with its date edited to look fresh.
func TestPlanFileDateEdited(t *testing.T) {
	e := startLifecycle(t, "")
	e.Server.Clock().Advance(5 * day)
	file, _ := savePlan(t, e)
	e.Server.Clock().Advance(3 * day)
	e.Server.ResetCallCounts()
	if code, _, stderr := e.run(t, "apply", "--plan-file", file, "--yes"); code != ExitUsage || !strings.Contains(stderr, "more than the allowed 24h0m0s") {
		t.Fatalf("3-day-old plan: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f plan.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	f.Plan.GeneratedAt = f.Plan.GeneratedAt.Add(3*day - time.Hour)
	b, _ = json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Server.ResetCallCounts()
	code, out, stderr := e.run(t, "apply", "--plan-file", file, "--yes", "-o", "json")
	if code != ExitUsage || !strings.Contains(stderr, "was changed after keyrot wrote it") {
		t.Fatalf("plan with its date edited: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := writeCalls(e); n != 0 {
		t.Fatalf("%d write calls", n)
	}
}

// applyPlanFileCode is applyPlanFile expecting exit code want.
func applyPlanFileCode(t *testing.T, e *rotationEnv, file string, want int) []execute.Outcome {
	t.Helper()
	code, out, stderr := e.run(t, "apply", "--plan-file", file, "--yes", "-o", "json", "--plan-max-age", "0")
	if code != want {
		t.Fatalf("apply --plan-file: exit %d, want %d\n%s\n%s", code, want, out, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("outcomes json: %v\n%s", err, out)
	}
	return res.Outcomes
}
