package sandboxclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func setup(t *testing.T, scenario string) (*sandboxtest.Env, *sandboxclient.Client) {
	t.Helper()
	env := sandboxtest.Start(t, scenario)
	return env, sandboxclient.New(env.URL + "/")
}

func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var e *sandboxclient.Error
	if !errors.As(err, &e) || e.StatusCode != status || !strings.Contains(e.Message, msg) {
		t.Fatalf("want HTTP %d containing %q, got %v", status, msg, err)
	}
}

func TestHealthAndScenario(t *testing.T) {
	env, c := setup(t, "")
	ctx := context.Background()
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Accounts != 1 || h.ManagementAccountID != env.Server.ManagementAccountID() {
		t.Fatalf("health %+v", h)
	}
	loaded, err := c.LoadScenario(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Scenario != "demo" || loaded.Accounts != 9 || loaded.Users != 46 || loaded.ManagementAccountID != "210987654321" || loaded.RootAccessKeys != 1 {
		t.Fatalf("loaded %+v", loaded)
	}
	_, err = c.LoadScenario(ctx, "nope")
	wantStatus(t, err, 400, `unknown scenario "nope"`)
	_, err = c.LoadScenario(ctx, "../etc/passwd")
	wantStatus(t, err, 400, "built-in scenario")

	doc := "organization:\n  management:\n    name: m\n    users:\n      - name: u\n        keys: [{age: ninety}]\n"
	_, err = c.LoadScenarioYAML(ctx, "mine.yaml", []byte(doc))
	wantStatus(t, err, 400, `mine.yaml:6: organization.management.users[0].keys[0].age: invalid duration "ninety"`)
	var e *sandboxclient.Error
	errors.As(err, &e)
	if diff := cmp.Diff([]sandboxclient.Problem{{Line: 6, Path: "organization.management.users[0].keys[0].age", Message: `invalid duration "ninety" (write e.g. 90d or 2160h)`}}, e.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// A failed load leaves the state alone.
	if h, _ := c.Health(ctx); h.Accounts != 9 {
		t.Fatalf("state changed by a failed load: %+v", h)
	}
	loaded, err = c.LoadScenarioYAML(ctx, "", []byte("organization:\n  management: {id: \"123456789012\", name: m}\n"))
	if err != nil || loaded.ManagementAccountID != "123456789012" || loaded.Accounts != 1 {
		t.Fatalf("yaml load %+v, %v", loaded, err)
	}
}

func TestClock(t *testing.T) {
	_, c := setup(t, "")
	ctx := context.Background()
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	cs, err := c.SetClock(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Now.Sub(at) < 0 || cs.Now.Sub(at) > time.Minute {
		t.Fatalf("set: %+v", cs)
	}
	cs, err = c.AdvanceClock(ctx, "30d")
	if err != nil {
		t.Fatal(err)
	}
	if d := cs.Now.Sub(at); d < 30*24*time.Hour || d > 30*24*time.Hour+time.Minute {
		t.Fatalf("advance: %+v", cs)
	}
	cs, err = c.AdvanceClock(ctx, "-1d")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Clock(ctx)
	if err != nil || got.Now.Before(cs.Now) || got.Now.Sub(at) < 29*24*time.Hour {
		t.Fatalf("clock %+v %v", got, err)
	}
	_, err = c.AdvanceClock(ctx, "ninety")
	wantStatus(t, err, 400, `by: invalid duration "ninety"`)
	_, err = c.AdvanceClock(ctx, "")
	wantStatus(t, err, 400, "by: empty duration")
}

func TestFaultsViaSDK(t *testing.T) {
	env, c := setup(t, "demo")
	ctx := context.Background()
	f, err := c.AddFault(ctx, sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "ListUsers", Code: "ServiceFailure", Status: 500, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" {
		t.Fatal("no fault ID")
	}
	client := iam.NewFromConfig(env.Admin())
	_, err = client.ListUsers(ctx, &iam.ListUsersInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceFailure" {
		t.Fatalf("want ServiceFailure once, got %v", err)
	}
	if _, err := client.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("fault fired twice: %v", err)
	}
	fs, err := c.Faults(ctx)
	if err != nil || len(fs) != 1 || fs[0].Fired != 1 {
		t.Fatalf("faults %+v %v", fs, err)
	}
	_, err = c.AddFault(ctx, sandbox.Fault{Kind: "earthquake"})
	wantStatus(t, err, 400, `unknown fault kind "earthquake"`)
	if _, err := c.AddFault(ctx, sandbox.Fault{Kind: sandbox.FaultThrottle, Service: "sts", Probability: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(env.Admin()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
		t.Fatalf("want Throttling, got %v", err)
	}
	if err := c.DeleteFault(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.DeleteFault(ctx, f.ID), 404, "no fault")
	n, err := c.ClearFaults(ctx)
	if err != nil || n != 1 {
		t.Fatalf("clear: %d %v", n, err)
	}
	if fs, _ := c.Faults(ctx); len(fs) != 0 {
		t.Fatalf("left %+v", fs)
	}

	if err := c.SetNewKeyDelay(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d, err := c.NewKeyDelay(ctx); err != nil || d != 5*time.Second || env.Server.NewKeyDelay() != 5*time.Second {
		t.Fatalf("delay %v %v", d, err)
	}
}

func TestCallsStateCredentials(t *testing.T) {
	env, c := setup(t, "demo")
	ctx := context.Background()
	k, err := c.Credentials(ctx, "brightloop-prod", "CI-DEPLOY")
	if err != nil {
		t.Fatal(err)
	}
	if k.AccountID != "345678901234" || k.UserName != "ci-deploy" || !strings.HasPrefix(k.AccessKeyID, "AKIA") || len(k.SecretAccessKey) != 40 {
		t.Fatalf("credentials %+v", k)
	}
	// The credentials work, and the call is counted for the user's account.
	out, err := sts.NewFromConfig(env.Config(k.AccessKeyID, k.SecretAccessKey, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(out.Arn) != "arn:aws:iam::345678901234:user/service/ci/ci-deploy" {
		t.Fatalf("caller %v %v", out, err)
	}
	calls, err := c.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sandbox.Calls{Accounts: map[string]map[string]int{"345678901234": {"sts:GetCallerIdentity": 1}}, Total: 1}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if err := c.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	if calls, _ := c.Calls(ctx); calls.Total != 0 {
		t.Fatalf("not reset: %+v", calls)
	}

	// Newest active key of a user with two.
	two, err := c.Credentials(ctx, "345678901234", "data-pipeline")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Credentials(ctx, "brightloop-prod", "nobody")
	wantStatus(t, err, 404, `user "nobody"`)
	_, err = c.Credentials(ctx, "brightloop-security", "incident-responder")
	wantStatus(t, err, 404, "active access key")
	_, err = c.Credentials(ctx, "", "x")
	wantStatus(t, err, 400, "give account")

	raw, err := c.StateJSON(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), k.SecretAccessKey) || !strings.Contains(string(raw), `"secret": "REDACTED"`) {
		t.Fatal("state dump leaks a secret or does not redact")
	}
	st, err := c.State(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	prod := st.Accounts["345678901234"]
	u := prod.Users["data-pipeline"]
	if u == nil || len(u.Keys) != 2 || u.Keys[1].ID != two.AccessKeyID || u.Keys[1].Secret != two.SecretAccessKey {
		t.Fatalf("state with secrets: %+v", u)
	}
	// The redacted dump did not change the server's secrets.
	if again, _ := c.Credentials(ctx, "brightloop-prod", "ci-deploy"); again.SecretAccessKey != k.SecretAccessKey {
		t.Fatal("secret changed by the dump")
	}
}

func TestCapturedMessages(t *testing.T) {
	env, c := setup(t, "")
	ctx := context.Background()
	if err := env.Server.VerifySESIdentity(env.Server.ManagementAccountID(), "keyrot@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err := sesv2.NewFromConfig(env.Admin()).SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("keyrot@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"alice@example.com"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("rotate")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	snsc := sns.NewFromConfig(env.Admin())
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	emails, err := c.Emails(ctx)
	if err != nil || len(emails) != 1 || emails[0].Subject != "rotate" || emails[0].To[0] != "alice@example.com" {
		t.Fatalf("emails %+v %v", emails, err)
	}
	msgs, err := c.SNSMessages(ctx)
	if err != nil || len(msgs) != 1 || msgs[0].Message != "hello" || msgs[0].TopicARN != aws.ToString(topic.TopicArn) {
		t.Fatalf("sns %+v %v", msgs, err)
	}
	if err := c.ClearEmails(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ClearSNSMessages(ctx); err != nil {
		t.Fatal(err)
	}
	if len(env.Server.Emails()) != 0 || len(env.Server.SNSMessages()) != 0 {
		t.Fatal("not cleared")
	}
}

// TestControlErrors checks routing errors at the HTTP level.
func TestControlErrors(t *testing.T) {
	env, _ := setup(t, "")
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/_sandbox/nope", "", 404, "no control endpoint /_sandbox/nope"},
		{"DELETE", "/_sandbox/clock", "", 405, "method not allowed (allowed: GET)"},
		{"POST", "/_sandbox/clock/set", `{"time":"yesterday"}`, 400, "want RFC 3339"},
		{"POST", "/_sandbox/clock/advance", `{"by":"1d","extra":1}`, 400, `unknown field "extra"`},
		{"POST", "/_sandbox/clock/advance", ``, 400, "missing JSON request body"},
		{"POST", "/_sandbox/scenario", ``, 400, "give ?name=demo or a scenario YAML body"},
		{"GET", "/_sandbox/state?secrets=maybe", ``, 400, "secrets must be true or false"},
		{"PUT", "/_sandbox/new-key-delay", `{"delay":"soon"}`, 400, `delay: invalid duration "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, env.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error string `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(e.Error, tt.want) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, e.Error, tt.status, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}
