package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/selfrotate"
)

// TestRotateSelfBinary runs the real keyrot binary as a person on a
// laptop: their key in profile "work" of a temporary credentials file
// (AWS_SHARED_CREDENTIALS_FILE), IAM called as themselves against the
// sandbox, with only the self-service permissions AWS documents. Three
// runs: switch; after the window, deactivate; then delete.
func TestRotateSelfBinary(t *testing.T) {
	bin := keyrotBinary(t)
	env := sandboxtest.Start(t, "empty")
	ctx := context.Background()
	admin := iam.NewFromConfig(env.Admin())
	acct := env.Server.ManagementAccountID()
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys","iam:CreateAccessKey","iam:UpdateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed"],"Resource":"arn:aws:iam::%s:user/alice"}]}`, acct)
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("self"), PolicyDocument: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	old := aws.ToString(k.AccessKey.AccessKeyId)
	file := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(file, []byte("[work]\naws_access_key_id = "+old+"\naws_secret_access_key = "+aws.ToString(k.AccessKey.SecretAccessKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append([]string{"rotate", "--self", "--profile", "work", "--clock", "sandbox"}, args...)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_SHARED_CREDENTIALS_FILE=" + file,
			"AWS_CONFIG_FILE=" + filepath.Join(t.TempDir(), "none"), "AWS_ENDPOINT_URL=" + env.URL, "AWS_REGION=us-east-1"}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	held := func() deliver.Key {
		d, _ := profile.New(deliver.Ref{Kind: deliver.KindProfile, Name: "work"}, file)
		k, err := d.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	works := func() {
		t.Helper()
		k := held()
		if _, err := sts.NewFromConfig(env.Config(k.AccessKeyID, k.SecretAccessKey.Reveal(), "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("the profile's key does not work: %v", err)
		}
	}
	status := func() map[string]string {
		out, err := admin.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range out.AccessKeyMetadata {
			m[aws.ToString(k.AccessKeyId)] = string(k.Status)
		}
		return m
	}

	code, stdout, stderr := run()
	if code != ExitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	nk := held()
	if nk.AccessKeyID == old || !strings.Contains(stdout, "done: created key") || !strings.Contains(stdout, "next: run again after") {
		t.Fatalf("first run:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, nk.SecretAccessKey.Reveal()) {
		t.Fatal("the new secret was printed")
	}
	works()
	if _, err := os.Stat(file + profile.BackupSuffix); err != nil {
		t.Errorf("no backup: %v", err)
	}
	if s := status(); len(s) != 2 || s[old] != "Active" {
		t.Fatalf("after the switch: %v", s)
	}
	env.Server.Clock().Advance(selfrotate.DefaultSwitchWindow + time.Minute)
	code, stdout, stderr = run("-o", "json")
	if code != ExitOK {
		t.Fatalf("second run: exit %d\n%s%s", code, stdout, stderr)
	}
	var res selfrotate.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.OldKey != old || res.NewKey != nk.AccessKeyID {
		t.Fatalf("second run -o json: %v\n%s", err, stdout)
	}
	if s := status(); s[old] != "Inactive" {
		t.Fatalf("old key not deactivated: %v\n%s", s, stdout)
	}
	if code, stdout, stderr = run(); code != ExitOK || !strings.Contains(stdout, "done: deleted the old key") {
		t.Fatalf("third run: exit %d\n%s%s", code, stdout, stderr)
	}
	if s := status(); len(s) != 1 || s[nk.AccessKeyID] != "Active" {
		t.Fatalf("after the rotation: %v", s)
	}
	works()
	// Usage errors never touch AWS.
	if code, _, stderr = run("--account", "123456789012"); code != ExitUsage {
		t.Errorf("--self with --account: exit %d %s", code, stderr)
	}
}
