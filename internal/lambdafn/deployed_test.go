package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/lambdafn"
	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// centralFull makes TestCentralRolesNoneSuperfluous remove every action of
// the Lambda execution roles' policies in turn; without it, a sample (CI's
// short form).
var centralFull = flag.Bool("central-permissions-full", false, "remove every action of the Lambda execution roles' policies in turn (slow)")

// The deployment the tests below create in the sandbox: the fan-out
// organization's management account is the central account, where the
// functions' roles, the table and the parameters live.
const (
	centralAccount = "111122223333"
	centralTable   = "keyrot-history"
	configParam    = "/keyrot/config"
	externalParam  = "/keyrot/external-id"
	externalID     = "fan-external-id"
	memberRole     = "keyrot-member"
)

// deployment is the permissions.Deployment of the sandbox deployment.
func deployment() permissions.Deployment {
	return permissions.Deployment{Region: "us-east-1", AccountID: centralAccount, Name: "keyrot", OrgID: "o-fanout0001",
		TableARN: "arn:aws:dynamodb:us-east-1:" + centralAccount + ":table/" + centralTable, ConfigParameter: configParam,
		ExternalIDParameter: externalParam, ExternalID: externalID, Member: permissions.Options{RoleName: memberRole}}
}

// centralPolicies are the execution roles' policies, by handler.
func centralPolicies(d permissions.Deployment) map[string]permissions.Document {
	return map[string]permissions.Document{
		lambdafn.HandlerCoordinator: permissions.Coordinator(d),
		lambdafn.HandlerWorker:      permissions.Worker(d),
		lambdafn.HandlerReporter:    permissions.Reporter(d),
		lambdafn.HandlerEvents:      permissions.Events(d),
	}
}

// notEnforced are the actions of the execution roles' policies that no
// handler call needs, and why each is granted all the same.
var notEnforced = map[string]string{
	"logs:CreateLogStream": "the Lambda service, not the handler, writes the function's log stream with the execution role; the sandbox has no CloudWatch Logs",
	"logs:PutLogEvents":    "the Lambda service, not the handler, writes the function's log stream with the execution role; the sandbox has no CloudWatch Logs",
}

// otherPaths are the actions of the execution roles' policies that the
// functions' lifecycle over the fan-out organization does not call, with
// the path that does. Each is in a statement copied from the member role's
// documents (the worker's and the coordinator's own-account statements),
// whose every action internal/cli's TestPermissionsNoneSuperfluous
// (-permissions-full) shows needed on the demo organization; the worker's
// role is also the identity keyrot's CLI runs as in a deployment (keyrot
// rollback, rotate --now, audit --fresh: TestLifecycleUnderDeployedPermissions).
var otherPaths = map[string]string{
	"coordinator iam:GetAccessKeyLastUsed":           "a key whose ID the credential report does not give and the plan needs (collect's KeyIDsFor); here only the worker needs one",
	"coordinator iam:GetAccountAuthorizationDetails": "tags and groups of two or more users of one account in one call (collect's bulkTagsMin); here each account's plan needs them for fewer users",
	"coordinator iam:ListSigningCertificates":        "X.509 signing certificates of users that have them; none here",
	"worker iam:GetAccountAuthorizationDetails":      "as for the coordinator",
	"worker iam:ListSigningCertificates":             "as for the coordinator",
	"worker iam:GetLoginProfile":                     "keyrot audit --fresh (a live listing of users) by the CLI as the worker's role",
	"worker iam:ListMFADevices":                      "keyrot audit --fresh by the CLI as the worker's role",
	"worker iam:ListUsers":                           "keyrot audit --fresh by the CLI as the worker's role",
	"worker iam:GetUser":                             "keyrot rotate --now and rollback by the CLI as the worker's role (the user's tags read live before acting)",
	"worker secretsmanager:RestoreSecret":            "a keyrot secret someone scheduled for deletion, restored by the next rotation of its user; none here",
	"worker secretsmanager:UntagResource":            "keyrot rollback (the withheld tag removed) by the CLI as the worker's role",
	"worker secretsmanager:RotateSecret":             "an overdue secret with rotation configured, whose rotation apply starts; none here",
	"worker lambda:InvokeFunction":                   "RotateSecret needs it on the secret's rotation function (Secrets Manager API reference); none here",
	"coordinator account:ListRegions":                "a regional kind's regions [enabled] (one call per account); this organization's policy lists none",
	"worker account:ListRegions":                     "as for the coordinator",
	"worker iam:CreateLoginProfile":                  "keyrot rollback --console (console.disable_unused); off here",
	"worker iam:DeleteLoginProfile":                  "an unused console password disabled (console.disable_unused); off here",
	"worker iam:CreateServiceSpecificCredential":     "a service-specific credential rotated (service_credentials.rotate); off here",
	"worker iam:UpdateServiceSpecificCredential":     "as for CreateServiceSpecificCredential",
	"worker iam:DeleteServiceSpecificCredential":     "as for CreateServiceSpecificCredential",
}

// drop is an action left out of one execution role's policy.
type drop struct{ handler, action string }

func (d drop) String() string { return d.handler + "/" + d.action }

// deployed is the fan-out organization with keyrot deployed as
// deploy/cloudformation deploys it: the four execution roles in the
// central account with exactly their generated policies, the member role
// of the StackSet in every other account (its policies, its trust of the
// worker and events roles with the external ID), keyrot.yaml and the
// external ID in SSM parameters, the history in a DynamoDB table.
type deployed struct {
	env   *sandboxtest.Env
	d     permissions.Deployment
	today int
	topic string
	// steps are the handlers' invocations and what they answered.
	steps []deployedStep
	log   []sandbox.AuthzDecision
}

type deployedStep struct {
	name string
	// err is the invocation's error; out its answer; logged its warnings
	// and errors in the function's log.
	err    error
	out    string
	logged string
}

// reported reports whether the step told of a denial: its error, its
// answer (an account that failed, a notice not delivered) or its log says
// so.
func (s deployedStep) reported() bool {
	text := s.out + s.logged
	if s.err != nil {
		text += s.err.Error()
	}
	for _, w := range []string{"AccessDenied", "AuthorizationError", "not authorized"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// deployedPolicy is the keyrot.yaml of the deployed tests: notices by SES
// and SNS, the security contact told.
const deployedPolicy = `version: 1
ssh_keys:
  collect: true
organization:
  external_id: ` + externalID + `
notify:
  channels:
    - type: ses
      from: "keyrot <keyrot@fan.example>"
    - type: sns
      topic_arn: %s
  security_contact: security@fan.example
exemptions:
  - match: {ou: ou-zz00-zzzzzzzz}
    reason: an OU being closed
    expires: 2099-01-01
  - match: {tag: "env=legacy"}
    reason: legacy accounts
    expires: 2099-01-01
`

// startDeployed loads the organization with the deployment's roles, the
// policy without without.action in without.handler's role.
func startDeployed(t *testing.T, without drop) *deployed {
	t.Helper()
	d := deployment()
	file := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := sandbox.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.RoleName = memberRole
	member := map[string]sandbox.PolicyDocument{}
	for name, doc := range permissions.MemberPolicies(d) {
		member[name] = sandbox.Doc(doc.JSON())
	}
	sc.Organization.RolePolicies = &sandbox.ScenarioPolicies{Inline: member}
	sc.Organization.RoleTrust = sandbox.Doc(permissions.MemberTrustCentral(d).JSON())
	for h, doc := range centralPolicies(d) {
		if h == without.handler {
			doc = doc.Without(without.action)
		}
		sc.Organization.Management.Roles = append(sc.Organization.Management.Roles, sandbox.ScenarioRole{
			Name: d.RoleName(h), Policies: sandbox.ScenarioPolicies{Inline: map[string]sandbox.PolicyDocument{"keyrot-" + h: sandbox.Doc(doc.JSON())}},
		})
	}
	env := sandboxtest.Start(t, "")
	env.Server.SetReportBuildTime(0)
	env.Server.Clock().Set(epoch)
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := env.Admin()
	topic, err := sns.NewFromConfig(admin).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	dep := &deployed{env: env, d: d, today: 85, topic: aws.ToString(topic.TopicArn)}
	dep.putParameter(t, configParam, fmt.Sprintf(deployedPolicy, dep.topic))
	dep.putParameter(t, externalParam, externalID)
	return dep
}

// putParameter writes a String parameter as the sandbox's administrator,
// as docs/deploy.md has the operator store keyrot.yaml.
func (o *deployed) putParameter(t *testing.T, name, value string) {
	t.Helper()
	if _, err := ssm.NewFromConfig(o.env.Admin()).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

// functionEnv is a function's environment as the templates set it.
func functionEnv(handler string) lambdafn.Env {
	return lambdafn.Env{Handler: handler, ConfigParameter: configParam, Table: centralTable, Mode: lambdafn.ModeRotate,
		MemberRole: memberRole, ExternalIDParameter: externalParam, Deployment: "keyrot", Clock: "sandbox"}
}

// asRole returns a config with a fresh session of the handler's execution
// role, named after the function as Lambda names it.
func (o *deployed) asRole(ctx context.Context, handler string) (aws.Config, error) {
	out, err := sts.NewFromConfig(o.env.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(o.d.RoleARN(handler)), RoleSessionName: aws.String(o.d.FunctionName(handler))})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume %s: %w", o.d.RoleName(handler), err)
	}
	c := out.Credentials
	return o.env.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)), nil
}

// invoke cold-starts the handler under its execution role with env and
// calls it with in, recording the step; the answer is decoded into out.
// Only the handler's own calls are in the decision log.
func (o *deployed) invoke(t *testing.T, env lambdafn.Env, name string, in, out any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg, err := o.asRole(ctx, env.Handler)
	if err != nil {
		t.Fatal(err)
	}
	o.env.Server.StartAuthzLog()
	step := deployedStep{name: name}
	// The function's log, as its log group would hold it.
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	step.err = func() error {
		fns, closeStore, err := lambdafn.Load(ctx, env, cfg, log)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer closeStore()
		h, err := fns.Handler(env.Handler)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		res, err := h(ctx, raw)
		if err != nil {
			return err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		step.out = string(b)
		return json.Unmarshal(b, out)
	}()
	step.logged = logged.String()
	o.log = append(o.log, o.env.Server.StopAuthzLog()...)
	o.steps = append(o.steps, step)
	return step.err
}

// advanceTo moves the sandbox clock to day d of the keys' life.
func (o *deployed) advanceTo(d int) {
	o.env.Server.Clock().Advance(time.Duration(d-o.today) * day)
	o.today = d
}

// execution runs one execution of the state machine's flow under the
// execution roles, the batches one after the other. It stops at the first
// invocation that fails, as the state machine would (after its retries).
func (o *deployed) execution(t *testing.T, name string) (lambdafn.Summary, error) {
	t.Helper()
	var wl lambdafn.WorkList
	if err := o.invoke(t, functionEnv(lambdafn.HandlerCoordinator), name+" coordinator", lambdafn.CoordinatorInput{Execution: name,
		MaxConcurrency: "4", ToleratedFailurePercentage: "0", Input: lambdafn.RunOptions{BatchSize: 2}}, &wl); err != nil {
		return lambdafn.Summary{}, err
	}
	var results []json.RawMessage
	for i, b := range wl.Batches {
		st := lambdafn.WorkerState{Run: wl.Run, Batch: b}
		for n := 0; !st.Done; n++ {
			if n == 20 {
				t.Fatalf("%s: batch %d not done after %d invocations", name, i, n)
			}
			var next lambdafn.WorkerState
			if err := o.invoke(t, functionEnv(lambdafn.HandlerWorker), fmt.Sprintf("%s worker %d", name, i), st, &next); err != nil {
				return lambdafn.Summary{}, err
			}
			st = next
		}
		raw, _ := json.Marshal(st)
		results = append(results, raw)
	}
	var sum lambdafn.Summary
	err := o.invoke(t, functionEnv(lambdafn.HandlerReporter), name+" reporter", lambdafn.ReporterInput{Run: wl.Run, Batches: wl.Batches, Results: results}, &sum)
	return sum, err
}

// lifecycle runs the key's whole life (days 90, 100, 110) through the
// functions, and the events handler on two keys made by hand: one in the
// central account, one in a member account. It returns the first error a
// handler returned, if any (the run goes on: a later step may need what
// an earlier one could not do only in part).
func (o *deployed) lifecycle(t *testing.T) (sums []lambdafn.Summary, detected []lambdafn.DetectResult, errs error) {
	t.Helper()
	for _, d := range lifecycleDays {
		o.advanceTo(d)
		sum, err := o.execution(t, fmt.Sprintf("day-%d", d))
		errs = errors.Join(errs, err)
		sums = append(sums, sum)
	}
	ctx := context.Background()
	// An administrator of the central account gives deploy a second key by hand.
	admin := o.env.Admin()
	who, err := sts.NewFromConfig(admin).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	handKey := "AKIAEXAMPLEHANDMADE0"
	k, err := iam.NewFromConfig(admin).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deploy")})
	switch {
	case err == nil:
		handKey = aws.ToString(k.AccessKey.AccessKeyId)
	case o.steps[len(o.steps)-1].err == nil && len(o.denied()) == 0:
		t.Fatal(err)
	default:
		// deploy still holds two keys (a change was denied): the event
		// is what CloudTrail would have recorded.
	}
	now := o.env.Server.Clock().Now()
	events := []json.RawMessage{
		cloudTrailEvent(t, "hand-central", centralAccount, aws.ToString(who.Arn), "deploy", handKey, now),
		// A member account's administrator did the same for api (the
		// event is what CloudTrail would record).
		cloudTrailEvent(t, "hand-member", "222233334444", "arn:aws:iam::222233334444:user/ops.admin", "api", "AKIAEXAMPLEHANDMADE1", now),
	}
	for _, ev := range events {
		var res lambdafn.DetectResult
		errs = errors.Join(errs, o.invoke(t, functionEnv(lambdafn.HandlerEvents), "events", ev, &res))
		detected = append(detected, res)
	}
	return sums, detected, errs
}

// denied returns the denied decisions of the handlers' calls.
func (o *deployed) denied() []sandbox.AuthzDecision {
	var out []sandbox.AuthzDecision
	for _, d := range o.log {
		if d.Decision != "Allow" {
			out = append(out, d)
		}
	}
	return out
}

func (o *deployed) transcript() string {
	var b strings.Builder
	for _, s := range o.steps {
		fmt.Fprintf(&b, "== %s: err %v\n%s\n", s.name, s.err, truncated(s.out, 600))
	}
	return b.String()
}

func truncated(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// roleOf returns the handler whose execution role (or, for the worker and
// the events handler, whose member role session) made a call.
func (o *deployed) roleOf(principal string) string {
	for _, h := range permissions.Handlers {
		if strings.Contains(principal, ":assumed-role/"+o.d.RoleName(h)+"/") {
			return h
		}
	}
	return ""
}

// expectedDenial: keyrot reads a user's secret before creating it; the
// member role reads only secrets tagged as keyrot's, and a secret that
// does not exist has no tags, so AWS denies the read (keyrot then tells a
// missing secret apart with DescribeSecret).
func expectedDenial(d sandbox.AuthzDecision) bool {
	return d.Action == "secretsmanager:GetSecretValue" && d.Decision == "ImplicitDeny"
}

// TestLifecycleUnderCentralRoles: the functions, each under a session of
// its execution role holding exactly its generated policy, with the member
// role of the StackSet in the member accounts and the sandbox enforcing
// every policy, carry a key through its whole life (days 90, 100, 110),
// and the events handler tells of keys made by hand in the central and a
// member account. Nothing is denied, and every action of the four
// policies is used by some call, but those the sandbox cannot see
// (notEnforced).
func TestLifecycleUnderCentralRoles(t *testing.T) {
	o := startDeployed(t, drop{})
	sums, detected, err := o.lifecycle(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, o.transcript())
	}
	wantChanges := []int{4, 4, 4} // rotate, deactivate the old keys, delete them
	for i, s := range sums {
		if s.Status != "succeeded" || s.Accounts != 3 || s.Succeeded != wantChanges[i] {
			t.Errorf("day %d: %+v", lifecycleDays[i], s)
		}
	}
	for _, r := range detected {
		if !r.Detected || r.Notices != 2 || len(r.Problems) > 0 {
			t.Errorf("event %s: %+v", r.EventID, r)
		}
	}
	for _, d := range o.denied() {
		if !expectedDenial(d) {
			t.Errorf("denied: %s on %s for %s (%s %s)", d.Action, d.Resource, d.Principal, d.PolicyType, d.Statement)
		}
	}
	used := map[string]map[string]bool{}
	for _, d := range o.log {
		if h := o.roleOf(d.Principal); h != "" && d.Decision == "Allow" {
			if used[h] == nil {
				used[h] = map[string]bool{}
			}
			used[h][d.Action] = true
		}
	}
	granted, enforced := 0, 0
	for h, doc := range centralPolicies(o.d) {
		for _, a := range doc.Actions() {
			granted++
			why, other := otherPaths[h+" "+a]
			switch {
			case notEnforced[a] != "":
			case used[h][a] && other:
				t.Errorf("%s %s is used now: take it out of otherPaths (%s)", h, a, why)
			case used[h][a]:
				enforced++
			case !other:
				t.Errorf("%s: %s is granted but no call of the lifecycle needed it", h, a)
			}
		}
	}
	for k := range otherPaths {
		h, a, _ := strings.Cut(k, " ")
		if !slices.Contains(centralPolicies(o.d)[h].Actions(), a) {
			t.Errorf("otherPaths names %s, which the %s role is not granted", a, h)
		}
	}
	t.Logf("%d actions granted to the four execution roles: %d used by the lifecycle, %d on other paths, the rest not enforceable here", granted, enforced, len(otherPaths))
	if t.Failed() {
		t.Log(o.transcript())
	}
}

// centralSample is the actions CI removes, one per run (each a whole
// lifecycle, but the first, which fails at once): an organization read
// of the coordinator, the worker's sts:AssumeRole into member accounts,
// and the events handler's read of a central user's tags.
var centralSample = []drop{
	{lambdafn.HandlerCoordinator, "organizations:ListAccounts"},
	{lambdafn.HandlerWorker, "sts:AssumeRole"},
	{lambdafn.HandlerEvents, "iam:ListUserTags"},
}

// TestCentralRolesNoneSuperfluous removes each action from the execution
// roles' policies in turn (a sample unless -central-permissions-full) and
// shows that the lifecycle then meets AccessDenied for it, in a call of
// that role, and that a handler reports it.
func TestCentralRolesNoneSuperfluous(t *testing.T) {
	drops := centralSample
	if *centralFull {
		drops = nil
		for h, doc := range centralPolicies(deployment()) {
			for _, a := range doc.Actions() {
				if notEnforced[a] == "" && otherPaths[h+" "+a] == "" {
					drops = append(drops, drop{h, a})
				}
			}
		}
		sort.Slice(drops, func(i, j int) bool { return drops[i].String() < drops[j].String() })
	}
	for _, dr := range drops {
		t.Run(dr.String(), func(t *testing.T) {
			o := startDeployed(t, dr)
			o.lifecycle(t)
			var hit *sandbox.AuthzDecision
			for _, d := range o.denied() {
				if d.Action == dr.action && o.roleOf(d.Principal) == dr.handler && d.PolicyType != "trust" {
					hit = &d
					break
				}
			}
			if hit == nil {
				t.Fatalf("without %s no call of the %s role was denied: the action is superfluous\n%s", dr, dr.handler, o.transcript())
			}
			reported := false
			for _, s := range o.steps {
				reported = reported || s.reported()
			}
			if !reported {
				t.Errorf("without %s, %s on %s was denied but no handler reported it\n%s", dr, hit.Action, hit.Resource, o.transcript())
			}
		})
	}
}

// TestConfigFromSSMParameter: the functions read keyrot.yaml from the SSM
// String parameter KEYROT_CONFIG_PARAMETER names, under their execution
// role (TestLifecycleUnderCentralRoles runs the whole lifecycle so). A
// configuration with a defect fails the cold start with an error naming
// the parameter and the defect's line; a missing parameter fails it naming
// the parameter and AWS's ParameterNotFound.
func TestConfigFromSSMParameter(t *testing.T) {
	o := startDeployed(t, drop{})
	load := func(handler string) error {
		ctx := context.Background()
		cfg, err := o.asRole(ctx, handler)
		if err != nil {
			t.Fatal(err)
		}
		_, closeStore, err := lambdafn.Load(ctx, functionEnv(handler), cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			closeStore()
		}
		return err
	}
	for _, h := range permissions.Handlers {
		if err := load(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}

	// A SecureString under the account's AWS managed key (aws/ssm) loads
	// as well: that key's policy lets the account's principals decrypt
	// through SSM, so the role needs nothing more.
	if _, err := ssm.NewFromConfig(o.env.Admin()).PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(configParam),
		Value: aws.String(fmt.Sprintf(deployedPolicy, o.topic)), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := load(lambdafn.HandlerReporter); err != nil {
		t.Errorf("from a SecureString: %v", err)
	}

	bad := strings.Replace(fmt.Sprintf(deployedPolicy, o.topic), "  security_contact: security@fan.example\n", "  security_contact: security@fan.example\n  digest_evry: 7d\n", 1)
	line := 0
	for i, l := range strings.Split(bad, "\n") {
		if strings.Contains(l, "digest_evry") {
			line = i + 1
		}
	}
	o.putParameter(t, configParam, bad)
	err := load(lambdafn.HandlerWorker)
	if err == nil {
		t.Fatal("a configuration with an unknown key loaded")
	}
	t.Logf("bad configuration: %v", err)
	for _, want := range []string{"SSM parameter " + configParam, fmt.Sprintf(":%d", line), "digest_evry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}

	if _, err := ssm.NewFromConfig(o.env.Admin()).DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(configParam)}); err != nil {
		t.Fatal(err)
	}
	err = load(lambdafn.HandlerCoordinator)
	t.Logf("missing parameter: %v", err)
	if err == nil || !strings.Contains(err.Error(), "read SSM parameter "+configParam) || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("a missing parameter: %v", err)
	}
}

// TestEventsKnowsWorkerInCentralAccount: the worker rotates the key of a
// user of the central account with its own execution role (no member
// role there); the events handler, deployed with KEYROT_DEPLOYMENT as the
// templates set it, knows that call as keyrot's and tells nobody. Without
// it, the same event is taken for a key made outside keyrot.
func TestEventsKnowsWorkerInCentralAccount(t *testing.T) {
	o := startDeployed(t, drop{})
	o.advanceTo(90)
	if sum, err := o.execution(t, "day-90"); err != nil || sum.Succeeded != 4 {
		t.Fatalf("day 90: %+v, %v", sum, err)
	}
	by := ""
	for _, d := range o.log {
		if d.Action == "iam:CreateAccessKey" && d.Decision == "Allow" && d.Account == centralAccount && strings.HasSuffix(d.Resource, ":user/service/deploy") {
			by = d.Principal
		}
	}
	if want := "arn:aws:sts::" + centralAccount + ":assumed-role/keyrot-worker/keyrot-worker"; by != want {
		t.Fatalf("keyrot created deploy's key as %q, want %q", by, want)
	}
	k, err := o.env.Server.ActiveKey(centralAccount, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	event := cloudTrailEvent(t, "keyrot-central", centralAccount, by, "deploy", k.AccessKeyID, o.env.Server.Clock().Now())
	sent := len(o.env.Server.Emails())
	var own lambdafn.DetectResult
	if err := o.invoke(t, functionEnv(lambdafn.HandlerEvents), "events", event, &own); err != nil {
		t.Fatal(err)
	}
	if own.Detected || own.Notices != 0 || own.Ignored == "" {
		t.Errorf("the worker's own key in the central account: %+v", own)
	}
	if n := len(o.env.Server.Emails()); n != sent {
		t.Errorf("the worker's own key: %d notices sent", n-sent)
	}
	env := functionEnv(lambdafn.HandlerEvents)
	env.Deployment = ""
	var blind lambdafn.DetectResult
	if err := o.invoke(t, env, "events without KEYROT_DEPLOYMENT", event, &blind); err != nil {
		t.Fatal(err)
	}
	if !blind.Detected {
		t.Errorf("without KEYROT_DEPLOYMENT the event is not detected: %+v", blind)
	}
}
