package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/mototest"
)

// TestAuditAgainstMoto runs keyrot audit against moto, an emulator nobody
// here wrote (no root row in its report, no pagination, no signatures), and
// checks the findings are exactly the ones the IAM state implies.
func TestAuditAgainstMoto(t *testing.T) {
	url := mototest.Start(t)
	ctx := context.Background()
	ic := iam.NewFromConfig(mototest.Config(url))
	mustDo := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// alice: console password without MFA.
	mustDo(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	mustDo(ic.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Very-long-pa55word!")}))
	// bob: two active keys, both made at set-up and never used.
	mustDo(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/service/")}))
	mustDo(ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")}))
	mustDo(ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")}))
	// 110 compliant users without credentials: past the first page of 100.
	for i := range 110 {
		mustDo(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("reader-%03d", i))}))
	}

	t.Setenv("AWS_ACCESS_KEY_ID", mototest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", mototest.SecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Chdir(t.TempDir())
	code, out, stderr := runCLI(t, "audit", "--single-account", "--endpoint-url", url, "-o", "json", "--progress", "none", "--fresh")
	if code != ExitOK {
		t.Fatalf("exit %d\nstderr: %s", code, stderr)
	}
	var res jsonAudit
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.User+" "+f.Rule+" "+f.Severity)
	}
	sort.Strings(got)
	want := []string{
		" password-policy-missing medium", // the account has no password policy
		"alice console-no-mfa high",
		"bob access-key-multiple-active medium",
		"bob access-key-setup-unused low",
		"bob access-key-setup-unused low",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings against moto (-want +got):\n%s", diff)
	}
	if len(res.Accounts) != 1 || res.Accounts[0].Status != "audited" {
		t.Errorf("accounts = %+v, want one audited account", res.Accounts)
	}
}
