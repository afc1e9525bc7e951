package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const day = 24 * time.Hour

// rotationEnv is a sandbox plus the flags every rotation command of a test uses.
type rotationEnv struct {
	*sandboxtest.Env
	flags    []string
	stateDir string // the history database's directory
}

func startRotationEnv(t *testing.T, scenario string) *rotationEnv {
	t.Helper()
	env := sandboxtest.Start(t, scenario)
	env.Server.SetReportBuildTime(0)
	useSandbox(t, env)
	state := t.TempDir()
	return &rotationEnv{Env: env, stateDir: state,
		flags: []string{"--progress", "none", "--report-wait", "5ms", "--state-dir", state, "--clock", "sandbox"}}
}

// withPolicy makes every later command of e use a policy file with text.
func withPolicy(t *testing.T, e *rotationEnv, text string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	e.flags = append(e.flags, "-c", file)
}

func (e *rotationEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(args, e.flags...)...)
}

// writeCalls counts calls that change state.
func writeCalls(e *rotationEnv) int {
	n := 0
	for _, ops := range e.Server.CallCounts() {
		for op, c := range ops {
			_, name, _ := strings.Cut(op, ":")
			for _, p := range []string{"Create", "Update", "Delete", "Put", "Tag", "Untag", "Enable"} {
				if strings.HasPrefix(name, p) {
					n += c
				}
			}
		}
	}
	return n
}

type jsonOutcomes struct {
	Outcomes []execute.Outcome `json:"outcomes"`
}

// TestApplyDemo runs apply on the demo organization through the CLI: the
// guardrails refuse first (no confirmation, partial organization), a dry
// run changes nothing, the real run carries out every planned change and
// stores every new key where its owner can fetch it, and a second run has
// nothing left to do.
func TestApplyDemo(t *testing.T) {
	e := startRotationEnv(t, "demo")
	ctx := context.Background()

	code, out, stderr := e.run(t, "plan", "-o", "json")
	if code != ExitPartial {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var pf plan.File
	if err := json.Unmarshal([]byte(out), &pf); err != nil {
		t.Fatalf("plan json: %v", err)
	}
	if len(pf.Plan.Actions) == 0 {
		t.Fatal("the demo plan has no actions")
	}
	e.Server.ResetCallCounts()

	if code, _, stderr := e.run(t, "apply", "--allow-partial"); code != ExitUsage || !strings.Contains(stderr, "without confirmation") {
		t.Fatalf("apply without --yes on a pipe: exit %d, want %d\n%s", code, ExitUsage, stderr)
	}
	if code, _, stderr := e.run(t, "apply", "--yes"); code != ExitPartial || !strings.Contains(stderr, "looks partial") {
		t.Fatalf("apply on a partial organization: exit %d\n%s", code, stderr)
	}
	if code, out, stderr := e.run(t, "apply", "--dry-run", "--allow-partial", "-o", "json"); code != ExitPartial || !strings.Contains(out, `"would_do": true`) {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := writeCalls(e); n != 0 {
		t.Fatalf("refused and dry runs made %d write calls: %v", n, e.Server.CallCounts())
	}

	code, out, stderr = e.run(t, "apply", "--yes", "--allow-partial", "-o", "json")
	if code != ExitPartial {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("outcomes json: %v\n%s", err, out)
	}
	if len(res.Outcomes) != len(pf.Plan.Actions) {
		t.Fatalf("%d outcomes for %d planned actions", len(res.Outcomes), len(pf.Plan.Actions))
	}
	created, scp := 0, 0
	for _, o := range res.Outcomes {
		if scpBlocked(o) {
			scp++
			continue
		}
		if o.Status != execute.Succeeded {
			t.Errorf("%s %s/%s: %s %s", o.Kind, o.AccountID, o.User, o.Status, o.Detail)
			continue
		}
		if o.Kind != "create-key" {
			continue
		}
		created++
		checkStoredKey(ctx, t, e, o)
	}
	if created == 0 {
		t.Fatal("no key was created")
	}
	if scp != 1 {
		t.Errorf("%d key creations denied by the Sandbox OU's SCP, want 1 (sagemaker-pipeline)", scp)
	}

	// The second run has nothing to do but try the SCP-denied creation again.
	code, out, stderr = e.run(t, "apply", "--yes", "--allow-partial", "-o", "json")
	res = jsonOutcomes{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("outcomes json: %v\n%s", err, out)
	}
	if code != ExitPartial || len(res.Outcomes) != 1 || !scpBlocked(res.Outcomes[0]) {
		t.Fatalf("second apply should have nothing to do but the SCP-denied creation: exit %d\n%s\n%s", code, out, stderr)
	}
}

// scpBlocked reports whether an outcome is a key creation that a service
// control policy denied: the demo's Sandbox OU forbids new access keys.
func scpBlocked(o execute.Outcome) bool {
	return o.Kind == "create-key" && o.Status == execute.Blocked && strings.Contains(o.Detail, "with an explicit deny in a service control policy")
}

// checkStoredKey reads a new key from its secret as the owner would and
// signs a call with it.
func checkStoredKey(ctx context.Context, t *testing.T, e *rotationEnv, o execute.Outcome) {
	t.Helper()
	admin := e.Admin()
	sm := secretsmanager.NewFromConfig(assumeInto(ctx, t, e, admin, o.AccountID))
	v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(o.SecretARN)})
	if err != nil {
		t.Fatalf("read secret of %s/%s: %v", o.AccountID, o.User, err)
	}
	val, err := secretstore.ParseValue(aws.ToString(v.SecretString))
	if err != nil {
		t.Fatal(err)
	}
	if val.AccessKeyID != o.NewKeyID || val.UserName != o.User {
		t.Fatalf("secret holds %s of %s, want %s of %s", val.AccessKeyID, val.UserName, o.NewKeyID, o.User)
	}
	id, err := sts.NewFromConfig(e.Config(val.AccessKeyID, val.SecretAccessKey.Reveal(), "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("new key of %s/%s does not authenticate: %v", o.AccountID, o.User, err)
	}
	if aws.ToString(id.Account) != o.AccountID || !strings.HasSuffix(aws.ToString(id.Arn), "/"+o.User) {
		t.Fatalf("new key authenticates as %s", aws.ToString(id.Arn))
	}
	if !strings.Contains(o.FetchCommand, "get-secret-value") || strings.Contains(o.FetchCommand, val.SecretAccessKey.Reveal()) {
		t.Fatalf("fetch command %q", o.FetchCommand)
	}
}

// assumeInto returns a config acting in account (the admin's own, or via the role).
func assumeInto(ctx context.Context, t *testing.T, e *rotationEnv, admin aws.Config, account string) aws.Config {
	t.Helper()
	if account == e.Server.ManagementAccountID() {
		return admin
	}
	out, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("test"),
	})
	if err != nil {
		t.Fatalf("assume role in %s: %v", account, err)
	}
	c := out.Credentials
	return e.Config(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

const lifecycleScenario = `description: one service user whose key is about to be due
organization:
  id: o-lifecycle01
  management:
    id: "111122223333"
    name: lifecycle
    email: aws@lifecycle.example
    ses_identities: [lifecycle.example]
    root: {mfa: true}
    password_policy: {minimum_length: 14, reuse_prevention: 24, require_symbols: true, require_numbers: true, require_uppercase: true, require_lowercase: true}
    users:
      - name: app
        path: /service/
        tags: {owner: team@lifecycle.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 1h, service: s3, region: eu-west-1}
`

// TestLifecycleThroughCLI drives the lifecycle with the sandbox clock:
// rotation on day 90, deactivation on day 100 once the application uses the
// new key, rollback, and deletion after the rollback is undone.
func TestLifecycleThroughCLI(t *testing.T) {
	e := startLifecycle(t, "")
	ctx := context.Background()
	ic := iam.NewFromConfig(e.Admin())
	keys := func() map[string]string {
		out, err := ic.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("app")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range out.AccessKeyMetadata {
			m[aws.ToString(k.AccessKeyId)] = string(k.Status)
		}
		return m
	}
	apply := func(wantKinds ...string) []execute.Outcome {
		t.Helper()
		code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
		// A change held for a person (the rolled-back key) exits 6.
		if code != ExitOK && (code != ExitBlocked || !strings.Contains(stderr, "blocked until a person acts")) {
			t.Fatalf("apply: exit %d\n%s", code, stderr)
		}
		var res jsonOutcomes
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var got []string
		for _, o := range res.Outcomes {
			got = append(got, string(o.Kind)+":"+string(o.Status))
		}
		if strings.Join(got, ",") != strings.Join(wantKinds, ",") {
			t.Fatalf("outcomes %v, want %v\n%s\n%s", got, wantKinds, out, stderr)
		}
		return res.Outcomes
	}
	old := keys()
	if len(old) != 1 {
		t.Fatalf("keys %v", old)
	}
	var oldID string
	for id := range old {
		oldID = id
	}

	apply() // day 85: nothing due
	e.Server.Clock().Advance(5 * day)
	outs := apply("create-key:succeeded") // day 90
	newID := outs[0].NewKeyID
	if k := keys(); len(k) != 2 || k[oldID] != "Active" || k[newID] != "Active" {
		t.Fatalf("after rotation: %v", k)
	}

	// The application switches to the new key on day 92.
	e.Server.Clock().Advance(2 * day)
	checkStoredKey(ctx, t, e, outs[0])
	e.Server.Clock().Advance(8 * day) // day 100
	apply("deactivate-key:succeeded")
	if k := keys(); k[oldID] != "Inactive" {
		t.Fatalf("day 100: old key %s", k[oldID])
	}

	// Something broke: roll back on day 102.
	e.Server.Clock().Advance(2 * day)
	if code, _, stderr := runCLI(t, "rollback", "--account", "111122223333", "--user", "app", "--yes", "--state-dir", e.stateDir, "--clock", "sandbox"); code != ExitOK {
		t.Fatalf("rollback: exit %d\n%s", code, stderr)
	}
	if k := keys(); k[oldID] != "Active" {
		t.Fatalf("after rollback: old key %s", k[oldID])
	}
	code, out, _ := e.run(t, "plan", "-o", "json")
	if code != ExitOK || !strings.Contains(out, "re-activated by rollback") {
		t.Fatalf("plan after rollback should hold the old key for a human: %s", out)
	}
	apply() // keyrot does not deactivate a rolled-back key on its own

	// The operator deactivates it by hand on day 105; it is deleted after the window.
	if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("app"), AccessKeyId: aws.String(oldID), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	e.Server.Clock().Advance(3 * day)
	apply() // day 105: the deletion window starts now
	e.Server.Clock().Advance(9 * day)
	apply() // day 114: not yet
	e.Server.Clock().Advance(1 * day)
	apply("delete-key:succeeded") // day 115
	if k := keys(); len(k) != 1 || k[newID] != "Active" {
		t.Fatalf("end state %v, want only the new key active", k)
	}
}

// TestApplyInterrupted: a cancelled run (Ctrl-C, SIGTERM) exits 130 and
// changes nothing it had not started.
func TestApplyInterrupted(t *testing.T) {
	e := startRotationEnv(t, "demo")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	code := Main(ctx, append([]string{"apply", "--yes", "--allow-partial"}, e.flags...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, ExitInterrupted, errb.String())
	}
	if n := writeCalls(e); n != 0 {
		t.Fatalf("interrupted run made %d write calls", n)
	}
}

// TestApplyCentralStore: with store: central every new key goes to the one
// central account and region, encrypted with the configured KMS key, named
// per account and user, and readable there.
func TestApplyCentralStore(t *testing.T) {
	e := startRotationEnv(t, "demo")
	mgmt := e.Server.ManagementAccountID()
	// A central store needs a customer managed key: the AWS managed
	// aws/secretsmanager key cannot be used across accounts.
	west := e.Admin()
	west.Region = "us-west-2"
	key, err := kms.NewFromConfig(west).CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("keyrot central store")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kms.NewFromConfig(west).CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	withPolicy(t, e, "version: 1\nrotation:\n  store: central\n  central: {account: \""+mgmt+"\", region: us-west-2}\n  kms_key_id: alias/keyrot\n")
	code, out, stderr := e.run(t, "apply", "--yes", "--allow-partial", "-o", "json")
	if code != ExitPartial {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	central := e.Admin()
	central.Region = "us-west-2"
	sm := secretsmanager.NewFromConfig(central)
	members := 0
	for _, o := range res.Outcomes {
		if o.Kind != "create-key" || scpBlocked(o) {
			continue
		}
		if o.Status != execute.Succeeded {
			t.Fatalf("%s/%s: %s %s", o.AccountID, o.User, o.Status, o.Detail)
		}
		if !strings.HasPrefix(o.SecretARN, "arn:aws:secretsmanager:us-west-2:"+mgmt+":secret:keyrot/"+o.AccountID+"/"+o.User+"-") {
			t.Errorf("secret of %s/%s at %s, want the central account and region", o.AccountID, o.User, o.SecretARN)
		}
		d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(o.SecretARN)})
		if err != nil {
			t.Fatalf("describe %s: %v", o.SecretARN, err)
		}
		if aws.ToString(d.KmsKeyId) != "alias/keyrot" {
			t.Errorf("secret %s encrypted with %q", o.SecretARN, aws.ToString(d.KmsKeyId))
		}
		v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(o.SecretARN)})
		if err != nil {
			t.Fatal(err)
		}
		val, err := secretstore.ParseValue(aws.ToString(v.SecretString))
		if err != nil || val.AccessKeyID != o.NewKeyID || val.AccountID != o.AccountID {
			t.Errorf("central secret of %s/%s holds %+v (%v)", o.AccountID, o.User, val.AccessKeyID, err)
		}
		if o.AccountID != mgmt {
			members++
		}
	}
	if members == 0 {
		t.Fatal("no member account's key was stored centrally")
	}
	// The member accounts themselves hold no keyrot secret (the demo's
	// own application secrets aside).
	own := secretsmanager.NewFromConfig(assumeInto(ctx, t, e, e.Admin(), "345678901234"))
	list, err := own.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{secretstore.TagUser}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.SecretList) != 0 {
		t.Errorf("member account holds %d keyrot secrets; they belong in the central store", len(list.SecretList))
	}
	// A second run finds the central secrets and has nothing to create.
	code, out, _ = e.run(t, "apply", "--yes", "--allow-partial", "-o", "json")
	var again jsonOutcomes
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatal(err)
	}
	for _, o := range again.Outcomes {
		if o.Kind == "create-key" && !scpBlocked(o) {
			t.Errorf("second run creates a key for %s/%s", o.AccountID, o.User)
		}
	}
	if code != ExitPartial {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
}

// TestPlanFileGuardrails: a saved plan gets the guardrails in force when it
// runs, and a stale one is refused.
func TestPlanFileGuardrails(t *testing.T) {
	e := startRotationEnv(t, "demo")
	file := filepath.Join(t.TempDir(), "plan.json")
	if code, _, stderr := e.run(t, "plan", "-o", "json", "--out-file", file); code != ExitPartial {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := e.run(t, "apply", "--yes", "--allow-partial", "--plan-file", file, "--max-changes", "1"); code != ExitUsage {
		t.Fatalf("--max-changes 1: exit %d, want %d\n%s", code, ExitUsage, stderr)
	}
	code, out, stderr := e.run(t, "apply", "--yes", "--allow-partial", "--plan-file", file, "--max-changes", "3", "-o", "json")
	if code != ExitPartial {
		t.Fatalf("apply --plan-file: exit %d\n%s", code, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if n := len(res.Outcomes); n == 0 || n > 3 {
		t.Fatalf("a saved plan ran %d changes with --max-changes 3", n)
	}
	if !strings.Contains(stderr, "held back by guardrails") {
		t.Errorf("stderr does not report the held-back changes:\n%s", stderr)
	}
	e.Server.Clock().Advance(2 * day)
	code, _, stderr = e.run(t, "apply", "--yes", "--allow-partial", "--plan-file", file)
	if code != ExitUsage || !strings.Contains(stderr, "make a new plan") {
		t.Fatalf("stale plan: exit %d\n%s", code, stderr)
	}
}

// TestConcurrentApplies: two keyrot apply runs over one organization at
// once (sharing a state directory, as documented) create exactly one new
// key per due user between them, and every new key is the one stored.
func TestConcurrentApplies(t *testing.T) {
	e := startRotationEnv(t, "demo")
	code, out, stderr := e.run(t, "plan", "-o", "json")
	if code != ExitPartial {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var pf plan.File
	if err := json.Unmarshal([]byte(out), &pf); err != nil {
		t.Fatal(err)
	}
	due := map[string]bool{}
	for _, a := range pf.Plan.Actions {
		if a.Kind == "create-key" {
			due[a.AccountID+"/"+a.User] = true
		}
	}
	type result struct {
		code int
		out  string
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			var o, errb strings.Builder
			c := Main(context.Background(), append([]string{"apply", "--yes", "--allow-partial", "-o", "json"}, e.flags...),
				Streams{In: strings.NewReader(""), Out: &o, Err: &errb})
			results <- result{c, o.String()}
		}()
	}
	created := map[string][]string{}
	denied := map[string]bool{} // by the Sandbox OU's SCP
	for range 2 {
		r := <-results
		if r.code != ExitPartial {
			t.Fatalf("apply: exit %d\n%s", r.code, r.out)
		}
		var res jsonOutcomes
		if err := json.Unmarshal([]byte(r.out), &res); err != nil {
			t.Fatalf("%v\n%s", err, r.out)
		}
		for _, o := range res.Outcomes {
			if o.Kind == "create-key" && o.Status == execute.Succeeded {
				created[o.AccountID+"/"+o.User] = append(created[o.AccountID+"/"+o.User], o.NewKeyID)
			}
			if scpBlocked(o) {
				denied[o.AccountID+"/"+o.User] = true
			}
		}
	}
	if len(created)+len(denied) != len(due) {
		t.Errorf("%d users got new keys and %d were denied one by an SCP; %d were due", len(created), len(denied), len(due))
	}
	ctx := context.Background()
	for who, keys := range created {
		if len(keys) != 1 {
			t.Errorf("%s got %d new keys: %v", who, len(keys), keys)
		}
		account, user, _ := strings.Cut(who, "/")
		ic := iam.NewFromConfig(assumeInto(ctx, t, e, e.Admin(), account))
		out, err := ic.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AccessKeyMetadata) != 2 {
			t.Errorf("%s has %d keys after two concurrent applies, want the old and one new", who, len(out.AccessKeyMetadata))
		}
		checkStoredKey(ctx, t, e, execute.Outcome{AccountID: account, User: user, NewKeyID: keys[0],
			SecretARN: secretARNOf(ctx, t, e, account, user), FetchCommand: "aws secretsmanager get-secret-value"})
	}
}

// secretARNOf finds the ARN of a user's keyrot secret.
func secretARNOf(ctx context.Context, t *testing.T, e *rotationEnv, account, user string) string {
	t.Helper()
	sm := secretsmanager.NewFromConfig(assumeInto(ctx, t, e, e.Admin(), account))
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("keyrot/" + account + "/" + user)})
	if err != nil {
		t.Fatalf("secret of %s/%s: %v", account, user, err)
	}
	return aws.ToString(d.ARN)
}
