package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// permissionsFull makes TestPermissionsNoneSuperfluous remove every action
// of keyrot's documents in turn; without it, a sample (CI's short form).
var permissionsFull = flag.Bool("permissions-full", false, "remove every action of keyrot's permission documents in turn (slow)")

const demoMgmt = "210987654321"

// permRun is one run of keyrot's lifecycle on the demo organization under
// the documents of internal/permissions, signed by a management user that
// has exactly those documents, with the sandbox enforcing them.
type permRun struct {
	env   *sandboxtest.Env
	flags []string
	steps []permStep
	log   []sandbox.AuthzDecision
}

type permStep struct {
	name   string
	code   int
	output string
}

// permDocuments are the documents a run grants, without the action drop
// when it is not empty.
func permDocuments(drop string) (mgmt, audit, rotation, trust permissions.Document) {
	o := permissions.Options{ManagementAccountID: demoMgmt, OrgID: "o-brightl00p1"}
	mgmt, audit, rotation, trust = permissions.Management(o), permissions.MemberAudit(o), permissions.MemberRotation(o), permissions.MemberTrust(o)
	if drop != "" {
		mgmt, audit, rotation = mgmt.Without(drop), audit.Without(drop), rotation.Without(drop)
	}
	return
}

// runPermissionsLifecycle loads the demo organization with keyrot's
// identities and runs audit --fresh, plan, apply on three days ten days
// apart, a rollback, rotate --now --compromised and the notifications
// (SES and SNS) that come with them, recording every authorization
// decision.
func runPermissionsLifecycle(t *testing.T, drop string) *permRun {
	t.Helper()
	ctx := context.Background()
	mgmtDoc, auditDoc, rotDoc, trustDoc := permDocuments(drop)
	sc, err := sandbox.LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.RolePolicies = &sandbox.ScenarioPolicies{Inline: map[string]sandbox.PolicyDocument{
		"keyrot-audit": sandbox.Doc(auditDoc.JSON()), "keyrot-rotation": sandbox.Doc(rotDoc.JSON()),
	}}
	sc.Organization.RoleTrust = sandbox.Doc(trustDoc.JSON())
	sc.Organization.Management.Users = append(sc.Organization.Management.Users, sandbox.ScenarioUser{
		Name: "keyrot", Path: "/service/", Created: "20d",
		Tags: map[string]string{"keyrot:exempt": "keyrot's own identity"},
		Policies: sandbox.ScenarioPolicies{Inline: map[string]sandbox.PolicyDocument{
			"keyrot-management": sandbox.Doc(mgmtDoc.JSON()),
			"keyrot-audit":      sandbox.Doc(auditDoc.JSON()),
			"keyrot-rotation":   sandbox.Doc(rotDoc.JSON()),
		}},
		Keys: []sandbox.ScenarioKey{{Age: "10d", LastUsed: "1h"}},
	})
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)

	// The notification topic, set up by the sandbox admin.
	admin := env.Admin()
	topic, err := sns.NewFromConfig(admin).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	var ouSecurity string
	st, err := env.Server.DumpState(false)
	if err != nil {
		t.Fatal(err)
	}
	var state sandbox.State
	if err := json.Unmarshal(st, &state); err != nil {
		t.Fatal(err)
	}
	for id, ou := range state.OUs {
		if ou.Name == "Security" {
			ouSecurity = id
		}
	}
	runner, err := env.Server.ActiveKey(demoMgmt, "keyrot")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", runner.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", runner.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", env.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Chdir(t.TempDir())
	policyFile := filepath.Join(t.TempDir(), "keyrot.yaml")
	policyText := fmt.Sprintf(`version: 1
ssh_keys:
  collect: true
exemptions:
  - match: {ou: %s}
    reason: the security team rotates its own accounts' keys
    expires: 2099-01-01
  - match: {tag: "env=legacy"}
    reason: legacy accounts are being closed
    expires: 2099-01-01
notify:
  channels:
    - type: ses
      from: "keyrot <keyrot@brightloop.example>"
    - type: sns
      topic_arn: %s
  owner_tags: [owner, email]
  security_contact: security@brightloop.example
  central: digest
`, ouSecurity, aws.ToString(topic.TopicArn))
	if err := os.WriteFile(policyFile, []byte(policyText), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEYROT_STATE_DIR", t.TempDir())
	run := &permRun{env: env, flags: []string{"--clock", "sandbox", "-c", policyFile}}
	fast := []string{"--progress", "none", "--report-wait", "5ms"}
	env.Server.StartAuthzLog()
	step := func(name string, args ...string) {
		code, out, errOut := runCLI(t, append(args, run.flags...)...)
		run.steps = append(run.steps, permStep{name: name, code: code, output: out + errOut})
	}
	apply := append([]string{"apply", "--yes", "--allow-partial", "-o", "json"}, fast...)
	step("audit", append([]string{"audit", "-o", "json"}, fast...)...)
	// A user created since the credential report: audit --fresh reads it live.
	ic := iam.NewFromConfig(admin)
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("new.hire")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("new.hire"), Password: aws.String("Initial-Passw0rd!")}); err != nil {
		t.Fatal(err)
	}
	step("audit --fresh", append([]string{"audit", "--fresh", "-o", "json"}, fast...)...)
	step("plan", append([]string{"plan", "-o", "json"}, fast...)...)
	step("apply day 0", apply...)
	env.Server.Clock().Advance(10 * day)
	step("apply day 10", apply...)
	step("rollback", "rollback", "--account", "345678901234", "--user", "payments-api", "--yes")
	env.Server.Clock().Advance(10 * day)
	step("apply day 20", apply...)
	step("rotate --now --compromised", "rotate", "--now", "--compromised", "--account", "345678901234", "--user", "search-indexer", "--yes")
	run.log = env.Server.StopAuthzLog()
	return run
}

// denied returns the denied decisions of the run's log.
func (r *permRun) denied() []sandbox.AuthzDecision {
	var out []sandbox.AuthzDecision
	for _, d := range r.log {
		if d.Decision != "Allow" {
			out = append(out, d)
		}
	}
	return out
}

func (r *permRun) transcript() string {
	var b strings.Builder
	for _, s := range r.steps {
		fmt.Fprintf(&b, "== %s: exit %d\n%s\n", s.name, s.code, lastLines(s.output, 15))
	}
	return b.String()
}

// expectedDenial reports whether a denial is one the demo organization
// causes whatever keyrot's permissions: the SCP that forbids new access
// keys in the Sandbox OU, and the account without a member role.
func expectedDenial(d sandbox.AuthzDecision) bool {
	switch {
	case d.Action == "iam:CreateAccessKey" && d.PolicyType == "scp" && d.Policy == "sandbox-no-long-term-keys":
		return true
	case d.Action == "sts:AssumeRole" && strings.HasPrefix(d.Resource, "arn:aws:iam::901234567801:"):
		return true // looker-analytics-legacy has no member role
	}
	return false
}

// TestLifecycleUnderKeyrotPermissions: keyrot's whole lifecycle on the
// demo organization works under exactly the documents of
// internal/permissions, with the sandbox enforcing them; every action the
// documents grant was needed by some call, and nothing was denied but what
// the organization itself forbids (the Sandbox OU's SCP), which keyrot
// reports as blocked with AWS's reason.
func TestLifecycleUnderKeyrotPermissions(t *testing.T) {
	run := runPermissionsLifecycle(t, "")
	// Audits and plans see one account they cannot read (exit 5); applies
	// also have changes blocked until a person acts (exit 6, or 5 when the
	// unreadable account is all they report).
	for _, s := range run.steps {
		ok := s.code == ExitOK
		switch {
		case strings.HasPrefix(s.name, "audit"), s.name == "plan":
			ok = s.code == ExitPartial
		case strings.HasPrefix(s.name, "apply"):
			ok = s.code == ExitBlocked || s.code == ExitPartial
		}
		if !ok {
			t.Errorf("%s: exit %d", s.name, s.code)
		}
	}
	for _, d := range run.denied() {
		if !expectedDenial(d) {
			t.Errorf("denied: %s on %s for %s (%s %s %s)", d.Action, d.Resource, d.Principal, d.PolicyType, d.Policy, d.Statement)
		}
	}
	// Every action granted was used, but for those only defensive code
	// paths call.
	used := map[string]bool{}
	for _, d := range run.log {
		if d.Decision == "Allow" {
			used[d.Action] = true
		}
	}
	mgmt, audit, rot, _ := permDocuments("")
	for _, doc := range []permissions.Document{mgmt, audit, rot} {
		for _, a := range doc.Actions() {
			if !used[a] && unexercised[a] == "" {
				t.Errorf("%s is granted but no call of the lifecycle needed it", a)
			}
		}
	}
	// The SCP's denial: users of the Sandbox OU are blocked with the reason, nothing else changes for them.
	apply := run.steps[3].output
	if !strings.Contains(apply, "with an explicit deny in a service control policy") || !strings.Contains(apply, "AWS denied the new key") {
		t.Errorf("apply day 0 does not report the SCP's denial:\n%s", lastLines(apply, 40))
	}
	if t.Failed() {
		t.Log(run.transcript())
	}
}

// unexercised are the actions of keyrot's documents that only defensive
// code paths call, which the lifecycle cannot reach: their removal is not
// shown to break anything.
var unexercised = map[string]string{
	"secretsmanager:DeleteResourcePolicy": "called only for a secret with no reader at all (no user ARN and no rotation.readers), which keyrot's flows do not produce",
	"secretsmanager:RestoreSecret":        "called for a keyrot secret scheduled for deletion; keyrot reads the secret's current version first, which fails for such a secret, so the lifecycle cannot reach it",
}

// permissionSample is the actions CI removes, one per run (each run is a
// whole lifecycle, about 25 s under -race): an organization read of the
// management document, which fails the first step, and a key change of the
// member rotation document, which only the deactivations on day 10 need.
var permissionSample = []string{
	"organizations:ListAccounts",
	"iam:UpdateAccessKey",
}

// TestPermissionsNoneSuperfluous removes each action from keyrot's
// documents in turn (a sample unless -permissions-full) and shows that the
// lifecycle then meets AccessDenied for it.
func TestPermissionsNoneSuperfluous(t *testing.T) {
	actions := permissionSample
	if *permissionsFull {
		mgmt, audit, rot, _ := permDocuments("")
		seen := map[string]bool{}
		actions = nil
		for _, doc := range []permissions.Document{mgmt, audit, rot} {
			for _, a := range doc.Actions() {
				if !seen[a] {
					seen[a] = true
					actions = append(actions, a)
				}
			}
		}
		sort.Strings(actions)
	}
	for _, action := range actions {
		t.Run(action, func(t *testing.T) {
			if why := unexercised[action]; why != "" {
				t.Skip(why)
			}
			run := runPermissionsLifecycle(t, action)
			var hit *sandbox.AuthzDecision
			for _, d := range run.denied() {
				if d.Action == action {
					hit = &d
					break
				}
			}
			if hit == nil {
				t.Fatalf("without %s no call was denied: the action is superfluous\n%s", action, run.transcript())
			}
			failed := false
			for _, s := range run.steps {
				if strings.Contains(s.output, "AccessDenied") || strings.Contains(s.output, "AuthorizationError") || strings.Contains(s.output, "not authorized") {
					failed = true
				}
			}
			if !failed {
				t.Errorf("without %s, %s on %s was denied but no step reported it\n%s", action, hit.Action, hit.Resource, run.transcript())
			}
		})
	}
}
