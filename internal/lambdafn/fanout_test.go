package lambdafn_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/lambdafn"
	"github.com/keyrot/keyrot/internal/mototest"
)

// TestGuardrailHoldsAcrossWorkers: with max_changes 2 for the whole run
// and four users due, batches of one account worked on at once make two
// changes in all, the same two the CLI makes on an identical organization,
// and the others are deferred.
func TestGuardrailHoldsAcrossWorkers(t *testing.T) {
	policy := fanPolicy + "rotation:\n  max_changes: 2\n  max_changes_per_account: 2\n"
	withCLI := startOrg(t, fanScenario, policy)
	withLambda := startOrg(t, fanScenario, policy)
	withCLI.advanceTo(90)
	withLambda.advanceTo(90)
	cliApply(t, withCLI)
	sum := execution(t, inProcess(withLambda), "guarded", lambdafn.RunOptions{BatchSize: 1}, true)
	if sum.Succeeded != 2 || sum.Deferred != 2 {
		t.Errorf("run summary: %s, want 2 changes and 2 deferred", sum.Summary)
	}
	if a, b := withCLI.state(t), withLambda.state(t); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("end state differs\nCLI:\n%s\nLambda:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	rotated := 0
	for _, s := range withLambda.state(t) {
		if strings.Contains(s, "Active,Active") {
			rotated++
		}
	}
	if rotated != 2 {
		t.Errorf("%d users rotated, want 2:\n%s", rotated, strings.Join(withLambda.state(t), "\n"))
	}
}

// TestWorkerResumesBeforeDeadline: a worker whose time left fits one
// account (the longest action, the writes that close its run, and the least
// time for an account) works on one account per invocation and returns
// where to resume; invoked again with its output, as the state machine
// does, it finishes the batch, and the reporter tells every owner once.
func TestWorkerResumesBeforeDeadline(t *testing.T) {
	o := startOrg(t, fanScenario, fanPolicy)
	o.advanceTo(90)
	inv := inProcess(o)
	var wl lambdafn.WorkList
	inv(t, lambdafn.HandlerCoordinator, lambdafn.CoordinatorInput{Execution: "deadline", Input: lambdafn.RunOptions{BatchSize: 3}}, &wl)
	if len(wl.Batches) != 1 || len(wl.Batches[0].Accounts) != 3 {
		t.Fatalf("work list: %+v", wl)
	}
	st := lambdafn.WorkerState{Run: wl.Run, Batch: wl.Batches[0]}
	for i := 1; !st.Done; i++ {
		if i > 3 {
			t.Fatalf("not done after 3 invocations: %+v", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		deadline, _ := ctx.Deadline()
		fns, closeStore, err := lambdafn.Load(ctx, o.lambdaEnv(lambdafn.HandlerWorker), o.env.Admin(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		// The first account starts with just enough time; after it, less.
		calls := 0
		need := fns.Margin + fns.MinAccountTime
		lambdafn.SetClock(fns, func() time.Time {
			calls++
			if calls == 1 {
				return deadline.Add(-need - time.Second)
			}
			return deadline.Add(-need + time.Second)
		})
		next, err := fns.Work(ctx, st)
		cancel()
		closeStore()
		if err != nil {
			t.Fatalf("invocation %d: %v", i, err)
		}
		if next.Next != i || len(next.Results) != i || next.Invocations != i || next.Done != (i == 3) {
			t.Fatalf("invocation %d: next %d, %d results, %d invocations, done %v", i, next.Next, len(next.Results), next.Invocations, next.Done)
		}
		// Through JSON, as the state machine passes it.
		b, _ := json.Marshal(next)
		st = lambdafn.WorkerState{}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
	}
	// The organization was listed once, by the coordinator.
	listed := 0
	for _, ops := range o.env.Server.CallCounts() {
		for op, n := range ops {
			if _, name, _ := strings.Cut(op, ":"); name == "ListAccounts" {
				listed += n
			}
		}
	}
	if listed != 1 {
		t.Errorf("ListAccounts called %d times, want once (by the coordinator)", listed)
	}
	raw, _ := json.Marshal(st)
	var sum lambdafn.Summary
	inv(t, lambdafn.HandlerReporter, lambdafn.ReporterInput{Run: wl.Run, Batches: wl.Batches, Results: []json.RawMessage{raw}}, &sum)
	if sum.Status != "succeeded" || sum.Succeeded != 4 || sum.Digests != 3 {
		t.Errorf("run summary: %+v", sum)
	}
}

// TestOverlappingExecutions runs two executions at once on the same
// organization and history store (SQLite, the sandbox's DynamoDB, moto's
// DynamoDB): both coordinators plan every user's
// rotation, then the six worker loops (a batch of one account each) run at
// once:
// every user is rotated exactly once (the account leases keep the second
// execution out while the first acts, and its plan then finds nothing to
// do), no user holds a key too many, every new key is in its secret, and
// each rotation is told to its owner once.
func TestOverlappingExecutions(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { overlapping(t, startOrg(t, fanScenario, fanPolicy)) })
	t.Run("sandbox-dynamodb", func(t *testing.T) {
		o := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
		o.table = "keyrot-history"
		overlapping(t, o)
	})
	t.Run("moto-dynamodb", func(t *testing.T) {
		cfg := mototest.Config(mototest.StartSerial(t))
		if err := dynamostore.CreateTable(context.Background(), dynamodb.NewFromConfig(cfg), "keyrot-history"); err != nil {
			t.Fatal(err)
		}
		o := startOrg(t, fanScenario, fanPolicy)
		o.store = func() app.Store { return dynamostore.New(dynamodb.NewFromConfig(cfg), "keyrot-history") }
		overlapping(t, o)
	})
}

// dynamoTable is the history table in the management account.
const dynamoTable = "    dynamodb_tables:\n      - {name: keyrot-history, partition_key: pk, sort_key: sk}\n"

func overlapping(t *testing.T, o *org) {
	o.advanceTo(90)
	inv := inProcess(o)
	// Both coordinators plan before either acts: both see every user due.
	lists := make([]lambdafn.WorkList, 2)
	for i, name := range []string{"first", "second"} {
		inv(t, lambdafn.HandlerCoordinator, lambdafn.CoordinatorInput{Execution: name, Input: lambdafn.RunOptions{BatchSize: 1}}, &lists[i])
		if lists[i].Run.Planned != 4 {
			t.Fatalf("%s: %d changes planned, want 4", name, lists[i].Run.Planned)
		}
	}
	// Then all six worker loops at once.
	results := make([][]json.RawMessage, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range lists {
		results[i] = make([]json.RawMessage, len(lists[i].Batches))
		for j, b := range lists[i].Batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := lambdafn.WorkerState{Run: lists[i].Run, Batch: b}
				for !st.Done {
					var next lambdafn.WorkerState
					inv(t, lambdafn.HandlerWorker, st, &next)
					st = next
				}
				raw, _ := json.Marshal(st)
				mu.Lock()
				results[i][j] = raw
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	sums := make([]lambdafn.Summary, 2)
	for i := range lists {
		inv(t, lambdafn.HandlerReporter, lambdafn.ReporterInput{Run: lists[i].Run, Batches: lists[i].Batches, Results: results[i]}, &sums[i])
	}
	created := map[string]int{}
	for _, s := range sums {
		for _, r := range s.Results {
			for _, a := range r.Actions {
				if a.Kind == "create-key" && a.Status == "succeeded" {
					created[r.Account+"/"+a.User]++
				}
			}
		}
	}
	for _, ref := range o.users(t) {
		if n := created[ref.account+"/"+ref.user]; n != 1 {
			t.Errorf("%s/%s: %d keys created across both executions, want 1", ref.account, ref.user, n)
		}
	}
	for _, s := range o.state(t) {
		if !strings.HasSuffix(s, ": Active,Active; secret holds the active key") {
			t.Errorf("after both executions: %s", s)
		}
	}
	// Each rotation is told once, by the execution that made it (an owner
	// whose users the two executions shared gets a digest from each).
	mail, _ := o.mail(0)
	all := strings.Join(mail, "\n")
	for _, ref := range o.users(t) {
		if n := strings.Count(all, "* "+ref.user+" in "); n != 1 {
			t.Errorf("%s/%s: told %d times:\n%s", ref.account, ref.user, n, all)
		}
	}
	t.Logf("first: %s %q; second: %s %q", sums[0].Summary, sums[0].Problems, sums[1].Summary, sums[1].Problems)
}
