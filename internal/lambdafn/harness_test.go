package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/cli"
	"github.com/keyrot/keyrot/internal/lambdafn"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// fanScenario is an organization of three accounts whose service users'
// keys are five days from rotation; team@fan.example owns users in two
// accounts, so one digest must tell it about both.
const fanScenario = `description: three accounts, keys five days from rotation
organization:
  id: o-fanout0001
  management:
    id: "111122223333"
    name: fan-management
    email: aws@fan.example
    ses_identities: [fan.example]
    root: {mfa: true}
    users:
      - name: deploy
        path: /service/
        tags: {owner: team@fan.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 1h, service: s3, region: eu-west-1}
accounts:
  - id: "222233334444"
    name: fan-prod
    email: prod@fan.example
    users:
      - name: api
        path: /service/
        tags: {owner: team@fan.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 1h, service: dynamodb, region: eu-west-1}
      - name: batch
        path: /service/
        tags: {owner: data@fan.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 2h, service: sqs, region: eu-west-1}
  - id: "333344445555"
    name: fan-dev
    email: dev@fan.example
    users:
      - name: ci
        path: /service/
        tags: {owner: ci@fan.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 3h, service: s3, region: eu-west-1}
`

// fanPolicy is the keyrot.yaml of the fan-out tests: notices by SES.
const fanPolicy = `version: 1
notify:
  channels:
    - type: ses
      from: "keyrot <keyrot@fan.example>"
  security_contact: security@fan.example
`

// day is a day on the sandbox clock.
const day = 24 * time.Hour

// epoch is when every sandbox of these tests starts, so that two sandboxes
// compared with each other show the same dates.
var epoch = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// org is a sandbox loaded with a scenario at epoch, and the files a run
// over it uses.
type org struct {
	env    *sandboxtest.Env
	config string // keyrot.yaml
	dir    string // state: the SQLite history
	today  int
	// table, if set, is the DynamoDB table of the history in the sandbox
	// (KEYROT_TABLE) instead of the SQLite file.
	table string
	// store, if set, gives the history store instead (moto's DynamoDB).
	store func() app.Store
}

func startOrg(t *testing.T, scenario, policy string) *org {
	t.Helper()
	env := sandboxtest.Start(t, "")
	env.Server.SetReportBuildTime(0)
	env.Server.Clock().Set(epoch)
	dir := t.TempDir()
	file := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(file, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := sandbox.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "keyrot.yaml")
	if err := os.WriteFile(cfg, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return &org{env: env, config: cfg, dir: dir, today: 85}
}

// advanceTo moves the sandbox clock to day d of the keys' life.
func (o *org) advanceTo(d int) {
	o.env.Server.Clock().Advance(time.Duration(d-o.today) * day)
	o.today = d
}

// lambdaEnv is the functions' environment over o.
func (o *org) lambdaEnv(handler string) lambdafn.Env {
	e := lambdafn.Env{Handler: handler, ConfigFile: o.config, HistoryDB: filepath.Join(o.dir, "history.db"), Mode: lambdafn.ModeRotate, Clock: "sandbox"}
	if o.table != "" {
		e.HistoryDB, e.Table = "", o.table
	}
	return e
}

// processEnv is the environment variables of a function process over o.
func (o *org) processEnv(handler string) []string {
	id, sec := o.env.Server.AdminCredentials()
	store := "KEYROT_HISTORY_DB=" + filepath.Join(o.dir, "history.db")
	if o.table != "" {
		store = "KEYROT_TABLE=" + o.table
	}
	return []string{"KEYROT_HANDLER=" + handler, "KEYROT_CONFIG_FILE=" + o.config, store,
		"KEYROT_MODE=rotate", "KEYROT_CLOCK=sandbox", "AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + sec, "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + o.env.URL, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}
}

// invoker calls a handler with the event the state machine would send
// and decodes its answer into out.
type invoker func(t *testing.T, handler string, in, out any)

// inProcess invokes the handlers in this process: each call is a cold
// start (lambdafn.Load), as the daily schedule's runs are.
func inProcess(o *org) invoker {
	return func(t *testing.T, handler string, in, out any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		fns, closeStore, err := lambdafn.Load(ctx, o.lambdaEnv(handler), o.env.Admin(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: load: %v", handler, err)
		}
		defer closeStore()
		if o.store != nil {
			fns.App.History = o.store()
		}
		h, err := fns.Handler(handler)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h(ctx, raw)
		if err != nil {
			t.Fatalf("%s: %v", handler, err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", handler, b, err)
		}
	}
}

// execution runs one execution of the state machine's flow with inv:
// the coordinator, each batch's worker loop (at once, as the Distributed
// Map runs them), the reporter.
func execution(t *testing.T, inv invoker, name string, input lambdafn.RunOptions, parallel bool) lambdafn.Summary {
	t.Helper()
	var wl lambdafn.WorkList
	inv(t, lambdafn.HandlerCoordinator, lambdafn.CoordinatorInput{Execution: name, Started: time.Now().UTC().Format(time.RFC3339),
		MaxConcurrency: "4", ToleratedFailurePercentage: "0", Input: input}, &wl)
	results := make([]json.RawMessage, len(wl.Batches))
	var wg sync.WaitGroup
	for i, b := range wl.Batches {
		loop := func() {
			st := lambdafn.WorkerState{Run: wl.Run, Batch: b}
			for n := 0; !st.Done; n++ {
				if n == 20 {
					t.Errorf("batch %d: worker not done after %d invocations", i, n)
					return
				}
				var next lambdafn.WorkerState
				inv(t, lambdafn.HandlerWorker, st, &next)
				st = next
			}
			results[i], _ = json.Marshal(st)
		}
		if parallel {
			wg.Add(1)
			go func() { defer wg.Done(); loop() }()
		} else {
			loop()
		}
	}
	wg.Wait()
	var sum lambdafn.Summary
	inv(t, lambdafn.HandlerReporter, lambdafn.ReporterInput{Run: wl.Run, Batches: wl.Batches, Results: results}, &sum)
	return sum
}

// cliApply runs keyrot apply on o through the CLI.
func cliApply(t *testing.T, o *org) {
	t.Helper()
	id, sec := o.env.Server.AdminCredentials()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": sec, "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL": o.env.URL, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": ""} {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), []string{"apply", "--yes", "-c", o.config, "--state-dir", filepath.Join(o.dir, "cli"),
		"--clock", "sandbox", "--progress", "none", "--report-wait", "5ms", "-o", "json"}, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("keyrot apply: exit %d\n%s", code, errb.String())
	}
}

// useNewKeys has each application switch to its user's newest active key
// (the day after a rotation, as the owners are told to).
func useNewKeys(t *testing.T, o *org) {
	t.Helper()
	for _, ref := range o.users(t) {
		k, err := o.env.Server.ActiveKey(ref.account, ref.user)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(o.env.Config(k.AccessKeyID, k.SecretAccessKey, "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("%s/%s: the new key does not work: %v", ref.account, ref.user, err)
		}
	}
}

type userRef struct{ account, user string }

// users lists the scenario's service users.
func (o *org) users(t *testing.T) []userRef {
	return []userRef{{"111122223333", "deploy"}, {"222233334444", "api"}, {"222233334444", "batch"}, {"333344445555", "ci"}}
}

// state describes the organization's keys without their IDs: per user,
// the statuses of its keys and whether the secret keyrot wrote holds the
// user's active key. Two organizations run alike have the same state.
func (o *org) state(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, ref := range o.users(t) {
		cfg := o.accountConfig(t, ref.account)
		keys, err := iam.NewFromConfig(cfg).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(ref.user)})
		if err != nil {
			t.Fatal(err)
		}
		var st []string
		active := ""
		for _, k := range keys.AccessKeyMetadata {
			st = append(st, string(k.Status))
			if k.Status == "Active" {
				active = aws.ToString(k.AccessKeyId)
			}
		}
		sort.Strings(st)
		secret := "no secret"
		list, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.SecretList {
			if !strings.Contains(aws.ToString(s.Name), ref.user) {
				continue
			}
			v, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: s.ARN})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case active != "" && strings.Contains(aws.ToString(v.SecretString), active):
				secret = "secret holds the active key"
			default:
				secret = "secret holds another key"
			}
		}
		out = append(out, fmt.Sprintf("%s/%s: %s; %s", ref.account, ref.user, strings.Join(st, ","), secret))
	}
	return out
}

// accountConfig returns a config acting in account as its administrator.
func (o *org) accountConfig(t *testing.T, account string) aws.Config {
	t.Helper()
	if account == "111122223333" {
		return o.env.Admin()
	}
	ctx := context.Background()
	out, err := sts.NewFromConfig(o.env.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return o.env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// varying are the parts of a notice that differ between two organizations
// run alike: key IDs (whole or masked), secrets' random suffixes, run
// numbers.
var varying = []*regexp.Regexp{
	regexp.MustCompile(`(AKIA|ASIA)[A-Z0-9…*.]{4,20}`),
	regexp.MustCompile(`(:secret:[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}\b`),
	regexp.MustCompile(`\brun \d+\b`),
	regexp.MustCompile(`(?i)message-id: .*`),
}

// mail returns the notices o's SES sent since n, normalised for comparison.
func (o *org) mail(n int) ([]string, int) {
	all := o.env.Server.Emails()
	var out []string
	for _, m := range all[n:] {
		text := m.Subject + "\n" + m.Text
		for _, re := range varying {
			text = re.ReplaceAllStringFunc(text, func(s string) string {
				if sub := re.FindStringSubmatch(s); len(sub) > 1 && strings.HasPrefix(sub[1], ":secret:") {
					return sub[1] + "-XXXXXX"
				}
				return "<id>"
			})
		}
		out = append(out, strings.Join(m.To, ",")+" | "+text)
	}
	sort.Strings(out)
	return out, len(all)
}

// lifecycleDays are the days of a key's life the lifecycle tests run on:
// rotation, deactivation of the old key, its deletion.
var lifecycleDays = []int{90, 100, 110}

// compareLifecycle runs the lifecycle on two identical organizations, one
// with the CLI and one with the functions through inv, and compares the
// end state and the notices day by day.
// coldStart, if set, is called at the start of each day (a new Lambda
// execution environment reads the sandbox clock anew).
func compareLifecycle(t *testing.T, withCLI, withLambda *org, inv invoker, coldStart func()) {
	t.Helper()
	cliSent, lambdaSent := 0, 0
	for _, d := range lifecycleDays {
		withCLI.advanceTo(d)
		withLambda.advanceTo(d)
		if coldStart != nil {
			coldStart()
		}
		cliApply(t, withCLI)
		sum := execution(t, inv, fmt.Sprintf("day-%d", d), lambdafn.RunOptions{BatchSize: 2}, false)
		if sum.Status != "succeeded" || sum.Accounts != 3 {
			t.Fatalf("day %d: run summary %+v", d, sum)
		}
		var cliMail, lambdaMail []string
		cliMail, cliSent = withCLI.mail(cliSent)
		lambdaMail, lambdaSent = withLambda.mail(lambdaSent)
		if strings.Join(cliMail, "\n---\n") != strings.Join(lambdaMail, "\n---\n") {
			t.Errorf("day %d: notices differ\nCLI:\n%s\n\nLambda:\n%s", d, strings.Join(cliMail, "\n---\n"), strings.Join(lambdaMail, "\n---\n"))
		}
		t.Logf("day %d: %s", d, sum.Summary)
		if len(lambdaMail) == 0 {
			t.Errorf("day %d: no notice sent", d)
		}
		if a, b := withCLI.state(t), withLambda.state(t); strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("day %d: end state differs\nCLI:\n%s\nLambda:\n%s", d, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
		if d == 90 {
			useNewKeys(t, withCLI)
			useNewKeys(t, withLambda)
		}
	}
	want := []string{
		"111122223333/deploy: Active; secret holds the active key",
		"222233334444/api: Active; secret holds the active key",
		"222233334444/batch: Active; secret holds the active key",
		"333344445555/ci: Active; secret holds the active key",
	}
	if got := withLambda.state(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("end state after day 110:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
