package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/mototest"
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
	if !isAccountID(account) {
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
		return runCLI(t, append(args, "--account", account, "--yes", "-o", "json", "--state-dir", stateDir, "--endpoint-url", url)...)
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

	// Rollback: the compromised key is active again.
	code, out, stderr = keyrot("rollback", "--user", "db")
	if code != ExitOK {
		t.Fatalf("rollback db: exit %d\n%s\n%s", code, out, stderr)
	}
	o = oneOutcome(t, out)
	if o.Status != execute.Succeeded || o.KeyID != oldKeys["db"] {
		t.Fatalf("rollback db: %+v", o)
	}
	if k := keyStatuses(ctx, t, ic, "db"); k[oldKeys["db"]] != "Active" {
		t.Fatalf("keys of db after rollback: %v", k)
	}
	if tags := userTags("db"); len(tags) != 1 || !strings.HasPrefix(tags["keyrot:rolled-back"], oldKeys["db"]+"@") {
		t.Errorf("tags of db after rollback: %v, want only keyrot:rolled-back=%s@...", tags, oldKeys["db"])
	}
}
