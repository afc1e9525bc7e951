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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestPlanApplyServiceCredential: keyrot plan and apply, as a person runs
// them, rotate a CodeCommit credential 95 days old only with
// service_credentials.rotate on; the new credential is stored in its
// service secret, and no output shows its password.
func TestPlanApplyServiceCredential(t *testing.T) {
	ctx := context.Background()
	env := sandboxtest.Start(t, "empty")
	useSandbox(t, env)
	acct := env.Server.ManagementAccountID()
	ic := iam.NewFromConfig(env.Admin())
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("git-bot")}); err != nil {
		t.Fatal(err)
	}
	out, err := ic.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("git-bot"), ServiceName: aws.String("codecommit.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	old := aws.ToString(out.ServiceSpecificCredential.ServiceSpecificCredentialId)
	env.Server.Clock().Advance(95 * 24 * time.Hour)
	state := t.TempDir()
	common := []string{"--clock", "sandbox", "--progress", "none", "--state-dir", state}

	write := func(policy string) {
		if err := os.WriteFile(filepath.Join(".", "keyrot.yaml"), []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("version: 1\n")
	code, stdout, stderr := runCLI(t, append([]string{"plan", "-o", "json"}, common...)...)
	if code != ExitOK || strings.Contains(stdout, "service-credential") {
		t.Fatalf("rotation off: exit %d, plan:\n%s\n%s", code, stdout, stderr)
	}

	write("version: 1\nservice_credentials:\n  rotate: true\n")
	code, stdout, stderr = runCLI(t, append([]string{"plan", "-o", "json"}, common...)...)
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var raw struct {
		Plan struct {
			Actions []map[string]any `json:"actions"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, stdout)
	}
	found := false
	for _, a := range raw.Plan.Actions {
		if a["kind"] == "create-service-credential" && a["user"] == "git-bot" && a["service"] == "codecommit.amazonaws.com" && a["key_id"] == old &&
			strings.Contains(a["reason"].(string), "95 days old") {
			found = true
		}
	}
	if !found {
		t.Fatalf("plan has no create-service-credential for git-bot:\n%s", stdout)
	}

	code, stdout, stderr = runCLI(t, append([]string{"apply", "--yes", "-o", "json"}, common...)...)
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `"status": "succeeded"`) || !strings.Contains(stdout, "reads back equal") {
		t.Errorf("apply outcome:\n%s", stdout)
	}
	sm := secretsmanager.NewFromConfig(env.Admin())
	v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/" + acct + "/git-bot/codecommit")})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := secretstore.ParseServiceValue(aws.ToString(v.SecretString))
	if err != nil {
		t.Fatal(err)
	}
	list, err := ic.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String("git-bot")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ServiceSpecificCredentials) != 2 || sv.CredentialID == old || sv.ServicePassword.Empty() {
		t.Errorf("after apply: %d credentials, stored %s (old %s)", len(list.ServiceSpecificCredentials), sv.CredentialID, old)
	}
	if strings.Contains(stdout+stderr, sv.ServicePassword.Reveal()) {
		t.Error("apply printed the new password")
	}
}
