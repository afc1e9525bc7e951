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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// permissionsFull makes TestPermissionsNoneSuperfluous remove every action
// of keyrot's documents in turn; without it, a sample (CI's short form).
var permissionsFull = flag.Bool("permissions-full", false, "remove every action of keyrot's permission documents in turn (slow)")

// permissionsOnly makes TestPermissionsNoneSuperfluous remove these actions
// (comma-separated) in turn instead: a targeted run.
var permissionsOnly = flag.String("permissions-only", "", "remove only these actions of keyrot's permission documents in turn (comma-separated)")

const demoMgmt = "210987654321"

// permRun is one run of keyrot's lifecycle on the demo organization under
// the documents of internal/permissions, signed by a management user that
// has exactly those documents, with the sandbox enforcing them.
type permRun struct {
	env   *sandboxtest.Env
	flags []string
	steps []permStep
	log   []sandbox.AuthzDecision
	// secretARNs are the ARNs of every secret at the end of the run.
	secretARNs map[string]bool
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

// permIdentities are keyrot's identities in a lifecycle run: the member
// role's policies and trust, and who runs keyrot.
type permIdentities struct {
	memberPolicies map[string]permissions.Document
	memberTrust    permissions.Document
	// runnerPolicies are the runner's identity policies: a management
	// user's, or, when runnerRole is set, that role's (a role of the
	// management account, assumed afresh before each step).
	runnerPolicies map[string]permissions.Document
	runnerRole     string
	// externalID is organization.external_id.
	externalID string
	// drop is the action left out of the documents, if any.
	drop string
}

// cliIdentities are those of keyrot run as a CLI by a management user:
// the documents of internal/permissions, without the action drop when it
// is not empty.
func cliIdentities(drop string) permIdentities {
	mgmtDoc, auditDoc, rotDoc, trustDoc := permDocuments(drop)
	return permIdentities{
		memberPolicies: map[string]permissions.Document{"keyrot-audit": auditDoc, "keyrot-rotation": rotDoc},
		memberTrust:    trustDoc,
		runnerPolicies: map[string]permissions.Document{"keyrot-management": mgmtDoc, "keyrot-audit": auditDoc, "keyrot-rotation": rotDoc},
		drop:           drop,
	}
}

// deployedIdentities are those of the AWS deployment the templates in
// deploy/ create, with the management account as the central account:
// the member role of the StackSet (its policies and its trust of the
// central roles, with an external ID), and a runner that holds the
// coordinator's, the worker's and the reporter's policies, which the CLI
// needs together since it does the three handlers' work in one process.
func deployedIdentities() permIdentities {
	d := permissions.Deployment{Region: "us-east-1", AccountID: demoMgmt, OrgID: "o-brightl00p1",
		ExternalID: "keyrot-demo-external-id", TableARN: "arn:aws:dynamodb:us-east-1:" + demoMgmt + ":table/keyrot"}
	return permIdentities{
		memberPolicies: permissions.MemberPolicies(d),
		memberTrust:    permissions.MemberTrustCentral(d),
		runnerPolicies: map[string]permissions.Document{
			"coordinator": permissions.Coordinator(d), "worker": permissions.Worker(d), "reporter": permissions.Reporter(d),
		},
		runnerRole: d.RoleName(permissions.HandlerWorker),
		externalID: d.ExternalID,
	}
}

func sandboxDocs(docs map[string]permissions.Document) map[string]sandbox.PolicyDocument {
	out := map[string]sandbox.PolicyDocument{}
	for name, d := range docs {
		out[name] = sandbox.Doc(d.JSON())
	}
	return out
}

// runPermissionsLifecycle runs the lifecycle as the CLI's identities,
// without the action drop when it is not empty.
func runPermissionsLifecycle(t *testing.T, drop string) *permRun {
	t.Helper()
	return runLifecycleAs(t, cliIdentities(drop))
}

// runLifecycleAs loads the demo organization with keyrot's identities and
// runs audit --fresh, plan, apply on three days ten days apart (unused
// console passwords disabled), a rollback of a key and one of a console
// password, rotate --now --compromised and the notifications (SES and
// SNS) that come with them, recording every authorization decision.
func runLifecycleAs(t *testing.T, ids permIdentities) *permRun {
	t.Helper()
	ctx := context.Background()
	sc, err := sandbox.LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	sc.Organization.RolePolicies = &sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.memberPolicies)}
	sc.Organization.RoleTrust = sandbox.Doc(ids.memberTrust.JSON())
	if ids.runnerRole != "" {
		sc.Organization.Management.Roles = append(sc.Organization.Management.Roles, sandbox.ScenarioRole{
			Name: ids.runnerRole, Policies: sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.runnerPolicies)},
		})
	} else {
		sc.Organization.Management.Users = append(sc.Organization.Management.Users, sandbox.ScenarioUser{
			Name: "keyrot", Path: "/service/", Created: "20d",
			Tags:     map[string]string{"keyrot:exempt": "keyrot's own identity"},
			Policies: sandbox.ScenarioPolicies{Inline: sandboxDocs(ids.runnerPolicies)},
			Keys:     []sandbox.ScenarioKey{{Age: "10d", LastUsed: "1h"}},
		})
	}
	// A person of the payments account who may delete secrets by hand.
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == paymentsAccount {
			sc.Accounts[i].Users = append(sc.Accounts[i].Users, sandbox.ScenarioUser{
				Name: secretCleaner, Created: "20d",
				Policies: sandbox.ScenarioPolicies{Inline: map[string]sandbox.PolicyDocument{"clean-up": sandbox.Doc(
					`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:ListSecrets","secretsmanager:DeleteSecret"],"Resource":"*"}]}`)}},
				Keys: []sandbox.ScenarioKey{{Age: "10d"}},
			})
		}
	}
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
	// signIn gives keyrot the runner's credentials: the user's key, or a
	// new session of the runner's role (the sandbox clock moves days
	// between steps, past any session's expiry).
	signIn := func() {
		if ids.runnerRole == "" {
			runner, err := env.Server.ActiveKey(demoMgmt, "keyrot")
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("AWS_ACCESS_KEY_ID", runner.AccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", runner.SecretAccessKey)
			t.Setenv("AWS_SESSION_TOKEN", "")
			return
		}
		out, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + demoMgmt + ":role/" + ids.runnerRole), RoleSessionName: aws.String("keyrot-lifecycle")})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(out.Credentials.AccessKeyId))
		t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(out.Credentials.SecretAccessKey))
		t.Setenv("AWS_SESSION_TOKEN", aws.ToString(out.Credentials.SessionToken))
	}
	signIn()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", env.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Chdir(t.TempDir())
	policyFile := filepath.Join(t.TempDir(), "keyrot.yaml")
	org := ""
	if ids.externalID != "" {
		org = "organization:\n  external_id: " + ids.externalID + "\n"
	}
	// Trust anchors are read in every enabled region, so that the
	// lifecycle needs account:ListRegions too.
	policyText := org + fmt.Sprintf(`version: 1
ssh_keys:
  collect: true
console:
  disable_unused: true
service_credentials:
  rotate: true
trust_anchors:
  regions: [enabled]
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
		if ids.runnerRole != "" {
			// The test's own AssumeRole is not recorded: it is not keyrot's.
			run.log = append(run.log, env.Server.StopAuthzLog()...)
			signIn()
			env.Server.StartAuthzLog()
		}
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
	step("rollback", "rollback", "--account", paymentsAccount, "--user", "payments-api", "--yes")
	env.Server.Clock().Advance(10 * day)
	step("apply day 20", apply...)
	// frank.moreau's password, unused for 200 days, was disabled on day
	// 20 after the notice of day 0; his console access is restored.
	step("rollback --console", "rollback", "--console", "--account", paymentsAccount, "--user", "frank.moreau", "--yes")
	// Someone deletes a keyrot secret by hand; the next rotation of its
	// user restores it (secretsmanager:RestoreSecret).
	if !scheduleSecretDeletion(t, env, "sftp-partner-acme") && ids.drop == "" {
		t.Fatalf("no keyrot secret of sftp-partner-acme in %s after its rotation", paymentsAccount)
	}
	step("rotate --now (secret scheduled for deletion)", "rotate", "--now", "--account", paymentsAccount, "--user", "sftp-partner-acme", "--yes")
	step("rotate --now --compromised", "rotate", "--now", "--compromised", "--account", paymentsAccount, "--user", "search-indexer", "--yes")
	run.log = append(run.log, env.Server.StopAuthzLog()...)
	run.secretARNs = secretARNs(t, env)
	return run
}

// secretARNs returns the ARNs of the sandbox's secrets.
func secretARNs(t *testing.T, env *sandboxtest.Env) map[string]bool {
	t.Helper()
	b, err := env.Server.DumpState(false)
	if err != nil {
		t.Fatal(err)
	}
	var st sandbox.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, a := range st.Accounts {
		for _, byName := range a.Secrets {
			for _, sec := range byName {
				out[sec.ARN] = true
			}
		}
	}
	return out
}

// paymentsAccount is the demo organization's member account the lifecycle
// rolls back and rotates by hand in; secretCleaner is a person in it who
// deletes secrets.
const (
	paymentsAccount = "345678901234"
	secretCleaner   = "secret-cleaner"
)

// scheduleSecretDeletion deletes, as secretCleaner and with a recovery
// window, the keyrot secret of a user of the payments account; false when
// there is none (a run without a permission the rotation needs).
func scheduleSecretDeletion(t *testing.T, env *sandboxtest.Env, user string) bool {
	t.Helper()
	ctx := context.Background()
	k, err := env.Server.ActiveKey(paymentsAccount, secretCleaner)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(env.Config(k.AccessKeyID, k.SecretAccessKey, ""))
	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range list.SecretList {
		for _, tag := range sec.Tags {
			if aws.ToString(tag.Key) == secretstore.TagUser && aws.ToString(tag.Value) == user {
				if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: sec.ARN, RecoveryWindowInDays: aws.Int64(7)}); err != nil {
					t.Fatal(err)
				}
				return true
			}
		}
	}
	return false
}

// keyrotCall reports whether a decision is about a call keyrot made (not
// the demo's own people).
func keyrotCall(d sandbox.AuthzDecision) bool {
	return !strings.HasSuffix(d.Principal, ":user/"+secretCleaner)
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
// causes whatever keyrot's permissions (the SCP that forbids new access
// keys in the Sandbox OU, and the account without a member role), or that
// the documents mean: reads of secrets that do not exist.
func (r *permRun) expectedDenial(d sandbox.AuthzDecision) bool {
	switch {
	case d.Action == "secretsmanager:GetSecretValue" && d.Decision == "ImplicitDeny" && !r.secretARNs[d.Resource]:
		// keyrot reads a user's secret before creating it; the member
		// role reads only secrets tagged as keyrot's, and a secret that
		// does not exist has no tags: AWS denies the read (keyrot then
		// tells a missing secret apart with DescribeSecret).
		return true
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
		if !run.expectedDenial(d) {
			t.Errorf("denied: %s on %s for %s (%s %s %s)", d.Action, d.Resource, d.Principal, d.PolicyType, d.Policy, d.Statement)
		}
	}
	// Every action granted was used.
	used := map[string]bool{}
	for _, d := range run.log {
		if d.Decision == "Allow" && keyrotCall(d) {
			used[d.Action] = true
		}
	}
	mgmt, audit, rot, _ := permDocuments("")
	for _, doc := range []permissions.Document{mgmt, audit, rot} {
		for _, a := range doc.Actions() {
			if !used[a] {
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

// TestLifecycleUnderDeployedPermissions: the same lifecycle passes under
// the policies of the AWS deployment (deploy/): the member role of the
// StackSet, trusting only the central worker and events roles with an
// external ID, and the central handlers' execution role policies. Nothing
// is denied but what the organization forbids.
func TestLifecycleUnderDeployedPermissions(t *testing.T) {
	run := runLifecycleAs(t, deployedIdentities())
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
	allowed := 0
	for _, d := range run.log {
		if d.Decision == "Allow" {
			allowed++
			continue
		}
		if !run.expectedDenial(d) {
			t.Errorf("denied: %s on %s for %s (%s %s %s)", d.Action, d.Resource, d.Principal, d.PolicyType, d.Policy, d.Statement)
		}
	}
	// keyrot acted in member accounts through the member role, trusted
	// for the worker's role only.
	assumed := false
	for _, d := range run.log {
		if d.Action == "sts:AssumeRole" && d.Decision == "Allow" && strings.Contains(d.Principal, ":assumed-role/keyrot-worker/") {
			assumed = true
		}
	}
	if !assumed || allowed == 0 {
		t.Errorf("the worker role assumed no member role (%d calls allowed)", allowed)
	}
	if t.Failed() {
		t.Log(run.transcript())
	}
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
	if *permissionsOnly != "" {
		actions = strings.Split(*permissionsOnly, ",")
	}
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
