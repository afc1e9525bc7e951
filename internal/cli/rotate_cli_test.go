package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// oneOutcome decodes the JSON of a rotate or rollback run: exactly one outcome.
func oneOutcome(t *testing.T, out string) execute.Outcome {
	t.Helper()
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("outcomes json: %v\n%s", err, out)
	}
	if len(res.Outcomes) != 1 {
		t.Fatalf("%d outcomes, want 1\n%s", len(res.Outcomes), out)
	}
	return res.Outcomes[0]
}

// keyStatuses lists a user's keys as ID -> status.
func keyStatuses(ctx context.Context, t *testing.T, ic *iam.Client, user string) map[string]string {
	t.Helper()
	out, err := ic.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("list keys of %s: %v", user, err)
	}
	m := map[string]string{}
	for _, k := range out.AccessKeyMetadata {
		m[aws.ToString(k.AccessKeyId)] = string(k.Status)
	}
	return m
}

// TestRotateNowAgainstMoto runs keyrot rotate --now, rotate --now
// --compromised and rollback against moto, an AWS emulator nobody here
// wrote, in its default single account, and checks the result in moto's
// IAM and Secrets Manager through the SDK.
func TestRotateNowAgainstMoto(t *testing.T) {
	url := mototest.Start(t)
	ctx := context.Background()
	cfg := mototest.Config(url)
	ic := iam.NewFromConfig(cfg)
	sm := secretsmanager.NewFromConfig(cfg)

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("moto GetCallerIdentity: %v", err)
	}
	account := aws.ToString(id.Account)
	if !inventory.IsAccountID(account) {
		t.Fatalf("moto's account is %q", account)
	}

	oldKeys := map[string]string{}
	for _, u := range []string{"app", "db"} {
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u), Path: aws.String("/service/")}); err != nil {
			t.Fatal(err)
		}
		k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		oldKeys[u] = aws.ToString(k.AccessKey.AccessKeyId)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", mototest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", mototest.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Chdir(t.TempDir())
	stateDir := t.TempDir()
	keyrot := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, stderr := runCLI(t, append(args, "--account", account, "--yes", "-o", "json", "--state-dir", stateDir, "--endpoint-url", url)...)
		// A step keyrot only warns about (a tag it could not set or clear)
		// would show here: moto must not need it.
		if strings.Contains(stderr, "level=WARN") || strings.Contains(stderr, "level=ERROR") {
			t.Errorf("keyrot %v warned against moto:\n%s", args, stderr)
		}
		return code, out, stderr
	}

	// storedKey reads the user's secret from moto and checks it holds keyID
	// of user, and that its secret authenticates as the user.
	storedKey := func(user, keyID string) {
		t.Helper()
		name := "keyrot/" + account + "/" + user
		v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			t.Fatalf("read secret %s: %v", name, err)
		}
		val, err := secretstore.ParseValue(aws.ToString(v.SecretString))
		if err != nil {
			t.Fatalf("secret %s: %v", name, err)
		}
		if val.AccessKeyID != keyID || val.UserName != user || val.AccountID != account {
			t.Fatalf("secret %s holds %s of %s in %s, want %s of %s in %s", name, val.AccessKeyID, val.UserName, val.AccountID, keyID, user, account)
		}
		kc := cfg.Copy()
		kc.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(val.AccessKeyID, val.SecretAccessKey.Reveal(), ""))
		who, err := sts.NewFromConfig(kc).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity with the stored key of %s: %v", user, err)
		}
		if !strings.HasSuffix(aws.ToString(who.Arn), ":user/service/"+user) {
			t.Fatalf("the stored key of %s authenticates as %s", user, aws.ToString(who.Arn))
		}
	}

	// userTags lists the user's keyrot tags as key -> value.
	userTags := func(user string) map[string]string {
		t.Helper()
		out, err := ic.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatalf("list tags of %s: %v", user, err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			if strings.HasPrefix(aws.ToString(tg.Key), "keyrot:") {
				m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
		}
		return m
	}
	// readers returns the secret's resource policy.
	readers := func(user string) string {
		t.Helper()
		out, err := sm.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("keyrot/" + account + "/" + user)})
		if err != nil {
			t.Fatalf("resource policy of the secret of %s: %v", user, err)
		}
		return aws.ToString(out.ResourcePolicy)
	}

	// Plain rotation: a second key is created and stored; the old one stays active.
	code, out, stderr := keyrot("rotate", "--now", "--user", "app")
	if code != ExitOK {
		t.Fatalf("rotate app: exit %d\n%s\n%s", code, out, stderr)
	}
	o := oneOutcome(t, out)
	if o.Status != execute.Succeeded || o.NewKeyID == "" || o.NewKeyID == oldKeys["app"] || o.KeyID != oldKeys["app"] {
		t.Fatalf("rotate app: %+v", o)
	}
	if k := keyStatuses(ctx, t, ic, "app"); len(k) != 2 || k[oldKeys["app"]] != "Active" || k[o.NewKeyID] != "Active" {
		t.Fatalf("keys of app after rotation: %v (new %s)", k, o.NewKeyID)
	}
	storedKey("app", o.NewKeyID)
	if o.SecretName != "keyrot/"+account+"/app" || !strings.Contains(o.FetchCommand, "get-secret-value") {
		t.Errorf("outcome names secret %q, fetch %q", o.SecretName, o.FetchCommand)
	}
	if tags := userTags("app"); len(tags) != 0 {
		t.Errorf("tags of app after rotation: %v, want none (pending tag cleared)", tags)
	}
	if p := readers("app"); !strings.Contains(p, `"arn:aws:iam::`+account+`:user/service/app"`) {
		t.Errorf("the secret of app is not readable by app: policy %s", p)
	}

	// Compromised rotation: the old key is cut off once the new one works.
	code, out, stderr = keyrot("rotate", "--now", "--compromised", "--user", "db")
	if code != ExitOK {
		t.Fatalf("rotate --compromised db: exit %d\n%s\n%s", code, out, stderr)
	}
	o = oneOutcome(t, out)
	if o.Status != execute.Succeeded || o.NewKeyID == "" || o.NewKeyID == oldKeys["db"] {
		t.Fatalf("rotate --compromised db: %+v", o)
	}
	if k := keyStatuses(ctx, t, ic, "db"); len(k) != 2 || k[oldKeys["db"]] != "Inactive" || k[o.NewKeyID] != "Active" {
		t.Fatalf("keys of db after compromised rotation: %v (new %s)", k, o.NewKeyID)
	}
	storedKey("db", o.NewKeyID)
	if tags := userTags("db"); len(tags) != 1 || !strings.HasPrefix(tags["keyrot:deactivated"], oldKeys["db"]+"@") {
		t.Errorf("tags of db after compromised rotation: %v, want keyrot:deactivated=%s@...", tags, oldKeys["db"])
	}
	if p := readers("db"); !strings.Contains(p, `"arn:aws:iam::`+account+`:user/service/db"`) {
		t.Errorf("the secret of db is not granted to db once the old key is off: policy %s", p)
	}

	// moto checks no credentials: an inactive key still authenticates and
	// reads secrets there, so that the compromised key is refused is
	// checked on the sandbox (TestRotateCompromisedCLI).

	// Rollback never re-activates a key cut off as compromised.
	code, _, stderr = keyrot("rollback", "--user", "db")
	if code == ExitOK || !strings.Contains(stderr, "reported compromised") {
		t.Fatalf("rollback of the compromised key of db: exit %d\n%s", code, stderr)
	}
	if k := keyStatuses(ctx, t, ic, "db"); k[oldKeys["db"]] == "Active" {
		t.Fatalf("keys of db after a refused rollback: %v", k)
	}
}

// memberAccount adds a second account with a user whose key is as old as
// app's to lifecycleScenario.
const memberAccount = `accounts:
  - id: "444455556666"
    name: member
    email: aws-member@lifecycle.example
    root: {mfa: true}
    users:
      - name: worker
        path: /service/
        tags: {owner: team@lifecycle.example}
        created: 200d
        keys:
          - {age: 85d, last_used: 1h, service: s3, region: eu-west-1}
`

// startLifecycle starts a sandbox with lifecycleScenario plus extra YAML.
func startLifecycle(t *testing.T, extra string) *rotationEnv {
	t.Helper()
	file := filepath.Join(t.TempDir(), "lifecycle.yaml")
	if err := os.WriteFile(file, []byte(lifecycleScenario+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return startRotationEnv(t, file)
}

// savePlan runs keyrot plan -o json --out-file and returns the file and the saved plan.
func savePlan(t *testing.T, e *rotationEnv) (string, plan.File) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.json")
	code, out, stderr := e.run(t, "plan", "-o", "json", "--out-file", file)
	if code != ExitOK || !strings.Contains(stderr, "plan written to "+file) {
		t.Fatalf("plan --out-file: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pf plan.File
	if err := json.Unmarshal(b, &pf); err != nil || pf.Plan == nil {
		t.Fatalf("saved plan: %v\n%s", err, b)
	}
	if strings.TrimSpace(string(b)) != strings.TrimSpace(out) {
		t.Errorf("the saved plan differs from the plan printed on stdout:\n%s\n---\n%s", b, out)
	}
	return file, pf
}

// applyPlanFile runs keyrot apply --plan-file file --yes -o json and returns its outcomes.
func applyPlanFile(t *testing.T, e *rotationEnv, file string) []execute.Outcome {
	t.Helper()
	// These plans are days old on the sandbox clock on purpose; the age
	// limit has its own test (TestPlanFileGuardrails).
	code, out, stderr := e.run(t, "apply", "--plan-file", file, "--yes", "-o", "json", "--plan-max-age", "0")
	if code != ExitOK {
		t.Fatalf("apply --plan-file: exit %d\n%s\n%s", code, out, stderr)
	}
	var res jsonOutcomes
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("outcomes json: %v\n%s", err, out)
	}
	return res.Outcomes
}

// callsTo counts calls to one operation ("iam:CreateAccessKey") in every account.
func callsTo(e *rotationEnv, op string) int {
	n := 0
	for _, ops := range e.Server.CallCounts() {
		n += ops[op]
	}
	return n
}

// TestApplyPlanFile runs saved plans with keyrot apply --plan-file: the
// saved plan is what runs (not a fresh one), a plan whose user's keys
// changed since it was made is refused (it is not what apply would do now),
// and a plan file that no longer matches the organization, or is not a plan
// at all, is refused before any change.
func TestApplyPlanFile(t *testing.T) {
	ctx := context.Background()

	t.Run("carried out", func(t *testing.T) {
		e := startLifecycle(t, "")
		ic := iam.NewFromConfig(e.Admin())
		old := keyStatuses(ctx, t, ic, "app")

		// Saved on day 85, when nothing is due: applied on day 90, when
		// the key is due, it still does nothing.
		early, pf := savePlan(t, e)
		if len(pf.Plan.Actions) != 0 {
			t.Fatalf("day 85 plan has actions: %+v", pf.Plan.Actions)
		}
		e.Server.Clock().Advance(5 * day)
		if outs := applyPlanFile(t, e, early); len(outs) != 0 {
			t.Fatalf("an empty saved plan carried out %+v", outs)
		}
		if k := keyStatuses(ctx, t, ic, "app"); len(k) != 1 {
			t.Fatalf("keys after an empty saved plan: %v", k)
		}

		file, pf := savePlan(t, e)
		if len(pf.Plan.Actions) != 1 || pf.Plan.Actions[0].Kind != "create-key" || pf.Plan.Actions[0].User != "app" || len(pf.Plan.Actions[0].Expect) != 1 {
			t.Fatalf("day 90 plan: %+v", pf.Plan.Actions)
		}
		outs := applyPlanFile(t, e, file)
		if len(outs) != 1 || outs[0].Kind != "create-key" || outs[0].Status != execute.Succeeded || outs[0].ActionID != pf.Plan.Actions[0].ID {
			t.Fatalf("outcomes %+v, want the saved create-key succeeded", outs)
		}
		k := keyStatuses(ctx, t, ic, "app")
		if len(k) != 2 || k[outs[0].NewKeyID] != "Active" {
			t.Fatalf("keys after apply: %v (before %v)", k, old)
		}
		checkStoredKey(ctx, t, e, outs[0])

		// Applied again, the same plan is no longer what apply would do
		// (the key is rotated): refused, nothing more.
		e.Server.ResetCallCounts()
		refusedPlanFile(t, e, file, "create-key 111122223333/app", "not in the plan computed now")
	})

	changes := []struct {
		name   string
		change func(t *testing.T, ic *iam.Client, oldID string)
		keys   int
		why    string
	}{
		{"key deleted by hand", func(t *testing.T, ic *iam.Client, oldID string) {
			if _, err := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("app"), AccessKeyId: aws.String(oldID)}); err != nil {
				t.Fatal(err)
			}
		}, 0, "not in the plan computed now"},
		{"second key created by hand", func(t *testing.T, ic *iam.Client, _ string) {
			if _, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("app")}); err != nil {
				t.Fatal(err)
			}
		}, 2, "keyrot blocks it now: two active keys"},
		{"key deactivated by hand", func(t *testing.T, ic *iam.Client, oldID string) {
			if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("app"), AccessKeyId: aws.String(oldID), Status: "Inactive"}); err != nil {
				t.Fatal(err)
			}
		}, 1, "not in the plan computed now"},
	}
	for _, tt := range changes {
		t.Run("state changed/"+tt.name, func(t *testing.T) {
			e := startLifecycle(t, "")
			ic := iam.NewFromConfig(e.Admin())
			e.Server.Clock().Advance(5 * day)
			file, pf := savePlan(t, e)
			if len(pf.Plan.Actions) != 1 || pf.Plan.Actions[0].Kind != "create-key" {
				t.Fatalf("plan: %+v", pf.Plan.Actions)
			}
			tt.change(t, ic, pf.Plan.Actions[0].KeyID)
			before := keyStatuses(ctx, t, ic, "app")
			e.Server.ResetCallCounts()

			// The user's keys are not what the plan saw: the saved create
			// is not in the plan computed now, and the file is refused.
			refusedPlanFile(t, e, file, "create-key 111122223333/app", tt.why)
			if k := keyStatuses(ctx, t, ic, "app"); len(k) != tt.keys || len(k) != len(before) {
				t.Fatalf("keys after apply: %v, before %v", k, before)
			}
		})
	}

	t.Run("account no longer readable", func(t *testing.T) {
		e := startLifecycle(t, memberAccount)
		e.Server.Clock().Advance(5 * day)
		file, pf := savePlan(t, e)
		if len(pf.Plan.Actions) != 2 || len(pf.Plan.Accounts) != 2 {
			t.Fatalf("plan over two accounts: accounts %v, actions %+v", pf.Plan.Accounts, pf.Plan.Actions)
		}
		if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Account: "444455556666", Code: "AccessDenied", Status: 403, Message: "denied by test"}); err != nil {
			t.Fatal(err)
		}
		e.Server.ResetCallCounts()
		code, out, stderr := e.run(t, "apply", "--plan-file", file, "--yes", "-o", "json")
		if code != ExitUsage || !strings.Contains(stderr, "no longer matches the organization: account 444455556666 is not readable now") {
			t.Fatalf("apply of a plan over an unreadable account: exit %d, want %d\n%s\n%s", code, ExitUsage, out, stderr)
		}
		if n := writeCalls(e); n != 0 {
			t.Fatalf("refused apply made %d write calls: %v", n, e.Server.CallCounts())
		}
	})

	bad := []struct {
		name, content, stderr string
	}{
		{"garbage", "this is not json\n", "is not a keyrot plan file"},
		{"json but not a plan", `{"outcomes": []}`, "is not a keyrot plan file"},
		{"future schema", `{"schema_version": 2, "plan": {"actions": []}}`, "plan schema version 2, this keyrot reads 1"},
		{"missing", "", "read plan file"},
	}
	e := startLifecycle(t, "")
	e.Server.Clock().Advance(5 * day) // a fresh plan would create a key
	for _, tt := range bad {
		t.Run("bad file/"+tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "plan.json")
			if tt.content != "" {
				if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			e.Server.ResetCallCounts()
			code, out, stderr := e.run(t, "apply", "--plan-file", file, "--yes", "-o", "json")
			if code != ExitUsage || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d with %q\n%s\n%s", code, ExitUsage, tt.stderr, out, stderr)

			}
			if n := writeCalls(e); n != 0 {
				t.Fatalf("refused apply made %d write calls", n)
			}
		})
	}
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestRotateCompromisedCLI runs an emergency rotation of a compromised key
// on the sandbox: the old key is cut off, the new key is stored and works,
// and the new secret is never readable with the old key. A grant
// interrupted after the old key is off is finished by running the command
// again. Without --now, or without --yes and no terminal, nothing is touched.
func TestRotateCompromisedCLI(t *testing.T) {
	const account = "111122223333"
	for _, interrupted := range []bool{false, true} {
		name := "in one go"
		if interrupted {
			name = "grant interrupted"
		}
		t.Run(name, func(t *testing.T) {
			e := startLifecycle(t, "")
			ctx := context.Background()
			ic := iam.NewFromConfig(e.Admin())
			stateDir := e.stateDir
			rotate := func(args ...string) (int, string, string) {
				t.Helper()
				return runCLI(t, append([]string{"rotate", "--account", account, "--user", "app", "--state-dir", stateDir, "--clock", "sandbox"}, args...)...)
			}
			secretID := "keyrot/" + account + "/app"
			readSecret := func(cfg aws.Config) (*secretsmanager.GetSecretValueOutput, error) {
				return secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
			}

			old, err := e.Server.ActiveKey(account, "app")
			if err != nil {
				t.Fatal(err)
			}
			oldCfg := e.Config(old.AccessKeyID, old.SecretAccessKey, "")
			if _, err := sts.NewFromConfig(oldCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("the old key does not authenticate before the rotation: %v", err)
			}

			e.Server.ResetCallCounts()
			if code, _, stderr := rotate("--compromised", "--yes"); code != ExitUsage || !strings.Contains(stderr, "needs --now") {
				t.Fatalf("rotate without --now: exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
			if code, _, stderr := rotate("--now", "--compromised"); code != ExitUsage || !strings.Contains(stderr, "without confirmation: pass --yes") {
				t.Fatalf("rotate without --yes on a pipe: exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
			if n := writeCalls(e); n != 0 {
				t.Fatalf("refused rotations made %d write calls: %v", n, e.Server.CallCounts())
			}
			if k := keyStatuses(ctx, t, ic, "app"); len(k) != 1 || k[old.AccessKeyID] != "Active" {
				t.Fatalf("keys after refused rotations: %v", k)
			}

			if interrupted {
				// The grant to the user, the last step, fails once (the
				// first PutResourcePolicy is the store's, which denies the
				// user): the old key is already off and the new secret is
				// readable by nobody but admins.
				if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "secretsmanager", Operation: "PutResourcePolicy", Skip: 1, Times: 1, Code: "InvalidRequestException", Status: 400, Message: "injected by test"}); err != nil {
					t.Fatal(err)
				}
				code, out, stderr := rotate("--now", "--compromised", "--yes", "-o", "json")
				if code != ExitError {
					t.Fatalf("rotate with a failing grant: exit %d, want %d\n%s\n%s", code, ExitError, out, stderr)
				}
				o := oneOutcome(t, out)
				if o.Status != execute.Failed || !strings.Contains(o.Detail, "old key deactivated, but granting app read access") {
					t.Fatalf("rotate with a failing grant: %+v", o)
				}
				k, err := e.Server.ActiveKey(account, "app")
				if err != nil || k.AccessKeyID == old.AccessKeyID {
					t.Fatalf("active key after the failed grant: %v (old %s)", err, old.AccessKeyID)
				}
				if ks := keyStatuses(ctx, t, ic, "app"); len(ks) != 2 || ks[old.AccessKeyID] != "Inactive" || ks[k.AccessKeyID] != "Active" {
					t.Fatalf("keys after the failed grant: %v", ks)
				}
				if _, err := readSecret(e.Config(k.AccessKeyID, k.SecretAccessKey, "")); apiCode(err) != "AccessDeniedException" {
					t.Fatalf("the user read its secret before the grant: err %v", err)
				}
			}

			code, out, stderr := rotate("--now", "--compromised", "--yes", "-o", "json")
			if code != ExitOK {
				t.Fatalf("rotate --now --compromised: exit %d\n%s\n%s", code, out, stderr)
			}
			o := oneOutcome(t, out)
			if o.Status != execute.Succeeded || (!interrupted && o.KeyID != old.AccessKeyID) || o.NewKeyID == "" || o.NewKeyID == old.AccessKeyID || !strings.Contains(o.Detail, "compromised key deactivated") {
				t.Fatalf("compromised rotation: %+v", o)
			}
			newKey, err := e.Server.ActiveKey(account, "app")
			if err != nil || newKey.AccessKeyID != o.NewKeyID {
				t.Fatalf("active key %s, %v; outcome names %s", newKey.AccessKeyID, err, o.NewKeyID)
			}
			if k := keyStatuses(ctx, t, ic, "app"); len(k) != 2 || k[old.AccessKeyID] != "Inactive" || k[o.NewKeyID] != "Active" {
				t.Fatalf("keys after the compromised rotation: %v", k)
			}
			checkStoredKey(ctx, t, e, o)

			// The user reads the new secret with the new key, never with the old.
			v, err := readSecret(e.Config(newKey.AccessKeyID, newKey.SecretAccessKey, ""))
			if err != nil {
				t.Fatalf("the user cannot read its new secret with the new key: %v", err)
			}
			if val, err := secretstore.ParseValue(aws.ToString(v.SecretString)); err != nil || val.AccessKeyID != o.NewKeyID {
				t.Fatalf("secret read with the new key holds %s, %v", val.AccessKeyID, err)
			}
			_, err = readSecret(oldCfg)
			// Secrets Manager, a JSON-protocol service, says
			// UnrecognizedClientException where query services say
			// InvalidClientTokenId.
			if c := apiCode(err); c != "UnrecognizedClientException" && c != "InvalidClientTokenId" && c != "AccessDeniedException" {
				t.Fatalf("GetSecretValue with the compromised key: err %v, want it refused", err)
			}
			if _, err := sts.NewFromConfig(oldCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
				t.Fatalf("the compromised key still authenticates: %v", err)
			}
		})
	}
}
