package lambdafn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/keyrot/keyrot/internal/lambdafn"
	"github.com/keyrot/keyrot/internal/mototest"
)

// definition returns the state machine's definition with CloudFormation's
// DefinitionSubstitutions made.
func definition(t *testing.T, subs map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "stepfunctions", "keyrot.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range subs {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	if strings.Contains(s, "${") {
		t.Fatalf("a substitution is left in the definition:\n%s", s)
	}
	return s
}

// lambdaAPI serves the Lambda Invoke API (POST
// /2015-03-31/functions/NAME/invocations) for the state machine: each
// function runs its handler through inv. It records the events each
// function got.
type lambdaAPI struct {
	t   *testing.T
	inv func(handler string, event []byte) ([]byte, error)
	// fault, if set, may fail the nth call (from 0) of a handler with an
	// error of the type it returns, instead of calling it.
	fault func(handler string, n int) (errorType string)
	// url is where it is served.
	url    string
	mu     sync.Mutex
	events map[string][]json.RawMessage
}

func (l *lambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, _ := url.PathUnescape(r.URL.EscapedPath())
	name, ok := strings.CutPrefix(path, "/2015-03-31/functions/")
	name, ok2 := strings.CutSuffix(name, "/invocations")
	if r.Method != http.MethodPost || !ok || !ok2 {
		http.Error(w, `{"message":"not the Lambda Invoke API"}`, http.StatusNotFound)
		return
	}
	name = name[strings.LastIndex(name, ":")+1:] // a function ARN or a name
	handler, _ := strings.CutPrefix(name, "keyrot-")
	event, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	n := len(l.events[handler])
	l.events[handler] = append(l.events[handler], json.RawMessage(event))
	l.mu.Unlock()
	errType := ""
	if l.fault != nil {
		errType = l.fault(handler, n)
	}
	var out []byte
	var err error
	if errType != "" {
		err = fmt.Errorf("injected %s", errType)
	} else {
		out, err = l.inv(handler, event)
		errType = "Error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if err != nil {
		// How Lambda reports a function's error: 200, X-Amz-Function-Error.
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		b, _ := json.Marshal(map[string]string{"errorType": errType, "errorMessage": err.Error()})
		_, _ = w.Write(b)
		return
	}
	_, _ = w.Write(out)
}

// inProcessRaw calls o's handler in this process with a raw event.
func inProcessRaw(o *org) func(handler string, event []byte) ([]byte, error) {
	return func(handler string, event []byte) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		fns, closeStore, err := lambdafn.Load(ctx, o.lambdaEnv(handler), o.env.Admin(), nil)
		if err != nil {
			return nil, err
		}
		defer closeStore()
		h, err := fns.Handler(handler)
		if err != nil {
			return nil, err
		}
		res, err := h(ctx, event)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
}

// startMotoStepFunctions starts moto with its Step Functions executing
// state machines (its "stepfunctions parser"), its Lambda calls going to
// api: moto's state machine interpreter calls Lambda through boto3 at
// http://localhost:$MOTO_PORT, so MOTO_PORT names api's port. It returns
// an SFN client.
func startMotoStepFunctions(t *testing.T, api *lambdaAPI) *sfn.Client {
	t.Helper()
	if api.url == "" {
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		api.url = srv.URL
	}
	u, err := url.Parse(api.url)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	motoURL := mototest.StartWithEnv(t, "MOTO_PORT="+port)
	resp, err := http.Post(motoURL+"/moto-api/config", "application/json", strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return sfn.NewFromConfig(mototest.Config(motoURL))
}

// runStateMachine creates the state machine from the definition and runs
// one execution with input to its end.
func runStateMachine(t *testing.T, c *sfn.Client, def, name, input string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/keyrot-state-machine")})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	ex, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name + "-run"), Input: aws.String(input)})
	if err != nil {
		t.Fatalf("start execution: %v", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution still running after 5 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// history returns the execution's event types in order.
func history(t *testing.T, c *sfn.Client, arn *string) []string {
	t.Helper()
	var out []string
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: arn})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			out = append(out, string(e.Type))
		}
	}
	return out
}

var subs = map[string]string{
	"CoordinatorFunctionArn":     "arn:aws:lambda:us-east-1:123456789012:function:keyrot-coordinator",
	"WorkerFunctionArn":          "arn:aws:lambda:us-east-1:123456789012:function:keyrot-worker",
	"ReporterFunctionArn":        "arn:aws:lambda:us-east-1:123456789012:function:keyrot-reporter",
	"MaxConcurrency":             "2",
	"ToleratedFailurePercentage": "0",
}

// TestStateMachineInMoto runs deploy/stepfunctions/keyrot.asl.json in
// moto's Step Functions, whose Lambda tasks call the real handlers (in this
// process) over the Lambda Invoke API, on the day of rotation: the
// coordinator's work list feeds the Distributed Map, each batch's worker
// loop ends when the worker says done, the reporter's summary is the
// execution's output, and the organization is rotated with one digest per
// owner.
//
// What moto does not do: its Lambda cannot run a function's code without
// Docker (without it, it answers from a queue of canned results), so the
// Lambda calls of its state machine interpreter are served here, by the
// real handlers; the EventBridge Scheduler schedule that starts the
// execution and the IAM role of the state machine are not part of it. And
// a moto server runs one execution: a second StartExecution fails there
// (HTTP 500, "cannot pickle '_thread.RLock'"), so overlapping executions
// are shown with the handlers alone (TestOverlappingExecutions).
//
// It runs with the history in SQLite (the batches and their states travel
// in the payloads) and in the sandbox's DynamoDB, as deployed (the
// payloads carry references to the batches and states in the table).
func TestStateMachineInMoto(t *testing.T) {
	for _, table := range []string{"", "keyrot-history"} {
		t.Run(map[string]string{"": "sqlite", "keyrot-history": "dynamodb"}[table], func(t *testing.T) { stateMachineInMoto(t, table) })
	}
}

func stateMachineInMoto(t *testing.T, table string) {
	scenario := fanScenario
	if table != "" {
		scenario = strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1)
	}
	o := startOrg(t, scenario, fanPolicy)
	o.table = table
	api := &lambdaAPI{t: t, inv: inProcessRaw(o), events: map[string][]json.RawMessage{}}
	c := startMotoStepFunctions(t, api)
	o.advanceTo(90)
	d := runStateMachine(t, c, definition(t, subs), "keyrot", `{"batch_size": 1}`)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s\nevents: %v", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), history(t, c, d.ExecutionArn))
	}
	var sum lambdafn.Summary
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &sum); err != nil {
		t.Fatalf("output: %v\n%s", err, aws.ToString(d.Output))
	}
	if sum.Status != "succeeded" || sum.Accounts != 3 || sum.Succeeded != 4 || sum.Digests != 3 {
		t.Errorf("run summary: %+v", sum)
	}
	if n := len(api.events["coordinator"]); n != 1 {
		t.Errorf("coordinator invoked %d times", n)
	}
	if n := len(api.events["worker"]); n != 3 {
		t.Errorf("worker invoked %d times, want once per batch of one account", n)
	}
	if n := len(api.events["reporter"]); n != 1 {
		t.Errorf("reporter invoked %d times", n)
	}
	var coord lambdafn.CoordinatorInput
	if err := json.Unmarshal(api.events["coordinator"][0], &coord); err != nil || coord.Execution == "" || coord.MaxConcurrency != "2" || coord.Input.BatchSize != 1 {
		t.Errorf("coordinator event: %v %s", err, api.events["coordinator"][0])
	}
	for _, s := range o.state(t) {
		if !strings.HasSuffix(s, "Active,Active; secret holds the active key") {
			t.Errorf("after the execution: %s", s)
		}
	}
	if mail, _ := o.mail(0); len(mail) != 3 {
		t.Errorf("notices: %d, want one per owner", len(mail))
	}
	// With the table, the workers got references and the reporter the
	// batches' short answers; without it, the batches themselves.
	for _, ev := range append(api.events["worker"], api.events["reporter"]...) {
		if stored := regexp.MustCompile(`"stored":\s*true`).Match(ev); stored != (table != "") || (table != "" && strings.Contains(string(ev), `"accounts"`)) {
			t.Errorf("table %q: event %s", table, ev)
		}
	}
}

// TestStateMachineRetriesAndReportsFailure: a worker throttled once
// (keyrot.Throttled) is retried and the run succeeds; a batch whose worker
// fails for good ends with its state and the error (the item processor's
// Catch), the reporter still tells the owners what the other batches did,
// and the execution fails with the run summary as its cause.
//
// It takes two moto servers and about a minute: KEYROT_LAMBDA_LONG=1 runs it.
func TestStateMachineRetriesAndReportsFailure(t *testing.T) {
	if os.Getenv("KEYROT_LAMBDA_LONG") != "1" {
		t.Skip("KEYROT_LAMBDA_LONG=1 runs it")
	}
	o := startOrg(t, fanScenario, fanPolicy)
	api := &lambdaAPI{t: t, inv: inProcessRaw(o), events: map[string][]json.RawMessage{}}
	c := startMotoStepFunctions(t, api)
	o.advanceTo(90)

	var mu sync.Mutex
	failing := map[string]bool{}
	api.fault = func(handler string, n int) string {
		mu.Lock()
		defer mu.Unlock()
		if handler == "worker" && n == 0 {
			return lambdafn.Throttled
		}
		if handler == "worker" && failing["on"] {
			var st lambdafn.WorkerState
			_ = json.Unmarshal(api.events["worker"][n], &st)
			if st.Batch.Accounts[0].ID == "333344445555" {
				return "Error"
			}
		}
		return ""
	}
	d := runStateMachine(t, c, definition(t, subs), "retried", `{"batch_size": 1}`)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("throttled once: execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if n := len(api.events["worker"]); n != 4 {
		t.Errorf("worker invoked %d times, want 4 (three batches, one retried)", n)
	}

	o.advanceTo(100)
	mu.Lock()
	failing["on"] = true
	mu.Unlock()
	useNewKeys(t, o)
	sent := len(o.env.Server.Emails())
	// A second execution needs a moto of its own: moto 5.2.1 fails a
	// second StartExecution in the same server (it deep-copies the state
	// machine, which holds a lock: "cannot pickle '_thread.RLock'").
	c = startMotoStepFunctions(t, api)
	d = runStateMachine(t, c, definition(t, subs), "failing", `{"batch_size": 1}`)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "keyrot.RunFailed" {
		t.Fatalf("a batch failing: execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var sum lambdafn.Summary
	if err := json.Unmarshal([]byte(aws.ToString(d.Cause)), &sum); err != nil {
		t.Fatalf("the cause is not the run summary: %v\n%s", err, aws.ToString(d.Cause))
	}
	if sum.Status != "failed" || len(sum.Problems) == 0 {
		t.Errorf("run summary: %+v", sum)
	}
	if sum.BatchesFailed != 1 || !strings.Contains(strings.Join(sum.Problems, "\n"), "accounts from 333344445555 on were not done") {
		t.Errorf("the failed batch is not reported: %s; problems %q", sum.Summary, sum.Problems)
	}
	if mail, _ := o.mail(sent); len(mail) == 0 {
		t.Errorf("the changes made before the failure were told to nobody")
	}
}
