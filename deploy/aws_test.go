package deploy

import (
	"bytes"
	"encoding/json"

	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/deploygen"
	"github.com/keyrot/keyrot/internal/permissions"
)

// The generated directories: every file in them must be generated.
var generatedDirs = []string{"deploy/cloudformation", "deploy/terraform/policies", "deploy/terraform/member/policies"}

// TestTemplatesGenerated regenerates the AWS templates into a temporary
// directory and compares them byte for byte with the committed ones, so
// that templates, internal/permissions and the state machine definition
// cannot drift apart (go generate ./deploy rewrites them).
func TestTemplatesGenerated(t *testing.T) {
	root := repoRoot(t)
	tmp := t.TempDir()
	if err := deploygen.Write(root, tmp); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, p)
		want[filepath.ToSlash(rel)] = true
		gen, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s is not committed (go generate ./deploy): %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, gen) {
			t.Errorf("%s differs from what internal/permissions and %s generate (go generate ./deploy):\n%s", rel, deploygen.ASLPath, cmp.Diff(string(gen), string(got)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range generatedDirs {
		ents, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if p := dir + "/" + e.Name(); !e.IsDir() && !want[p] {
				t.Errorf("%s is not generated: remove it, or generate it from internal/deploygen", p)
			}
		}
	}
}

// cfnTemplate reads a committed CloudFormation template as generic YAML.
func cfnTemplate(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "cloudformation", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// resolve evaluates the template functions a policy uses, for one value
// of the Rotate condition: Fn::If picks a branch (AWS::NoValue drops the
// item), Fn::Sub gives its string back with its ${...} left in place.
func resolve(v any, rotate bool) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["Fn::Sub"].(string); ok && len(x) == 1 {
			return s, true
		}
		if r, ok := x["Ref"].(string); ok && len(x) == 1 && r == "AWS::NoValue" {
			return nil, false
		}
		if args, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(args) == 3 && args[0] == "Rotate" {
			if rotate {
				return resolve(args[1], rotate)
			}
			return resolve(args[2], rotate)
		}
		out := map[string]any{}
		for k, e := range x {
			if r, keep := resolve(e, rotate); keep {
				out[k] = r
			}
		}
		return out, true
	case []any:
		out := []any{}
		for _, e := range x {
			if r, keep := resolve(e, rotate); keep {
				out = append(out, r)
			}
		}
		return out, true
	}
	return v, true
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docJSON is a permissions document as generic JSON, for comparison with
// what a template holds.
func docJSON(t *testing.T, d permissions.Document) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(d.JSON()), &v); err != nil {
		t.Fatal(err)
	}
	return asJSON(t, v)
}

func resources(t *testing.T, tmpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, r := range tmpl["Resources"].(map[string]any) {
		out[name] = r.(map[string]any)
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// rolePolicies returns a role's inline policies by name, resolved for rotate.
func rolePolicies(t *testing.T, role map[string]any, rotate bool) map[string]string {
	t.Helper()
	pols, _ := resolve(props(role)["Policies"], rotate)
	out := map[string]string{}
	for _, p := range pols.([]any) {
		pm := p.(map[string]any)
		out[pm["PolicyName"].(string)] = asJSON(t, pm["PolicyDocument"])
	}
	return out
}

// TestTemplatePoliciesArePermissions reads every IAM policy, trust
// policy, key policy and resource policy out of the committed templates
// (as CloudFormation would, for AuditOnly false and true) and compares it
// with the document internal/permissions builds for the same parameters;
// the Terraform module's policy templates likewise.
func TestTemplatePoliciesArePermissions(t *testing.T) {
	for _, rotate := range []bool{true, false} {
		central := resources(t, cfnTemplate(t, "central.yaml"))
		dep := deploygen.CentralDeployment(!rotate)
		builders := map[string]func(permissions.Deployment) permissions.Document{
			permissions.HandlerCoordinator: permissions.Coordinator,
			permissions.HandlerWorker:      permissions.Worker,
			permissions.HandlerReporter:    permissions.Reporter,
			permissions.HandlerEvents:      permissions.Events,
		}
		for h, build := range builders {
			role := central[strings.ToUpper(h[:1])+h[1:]+"Role"]
			got := rolePolicies(t, role, rotate)
			if diff := cmp.Diff(map[string]string{"keyrot-" + h: docJSON(t, build(dep))}, got); diff != "" {
				t.Errorf("central.yaml, %s role (rotate %v): (-permissions +template)\n%s", h, rotate, diff)
			}
		}
		for res, want := range map[string]permissions.Document{
			"StateMachineRole": permissions.StateMachine(dep), "SchedulerRole": permissions.Scheduler(dep),
		} {
			if diff := cmp.Diff(docJSON(t, want), rolePolicies(t, central[res], rotate)[map[string]string{"StateMachineRole": "keyrot-states", "SchedulerRole": "keyrot-scheduler"}[res]]); diff != "" {
				t.Errorf("central.yaml, %s: (-permissions +template)\n%s", res, diff)
			}
		}
		key, _ := resolve(props(central["CentralKey"])["KeyPolicy"], rotate)
		if diff := cmp.Diff(docJSON(t, permissions.CentralKeyPolicy(dep)), asJSON(t, key)); diff != "" {
			t.Errorf("central.yaml, key policy: (-permissions +template)\n%s", diff)
		}
		bus, _ := resolve(props(central["OrganizationEventsBusPolicy"])["Statement"], rotate)
		want := permissions.CentralBusPolicy(dep).Statement[0]
		want.Sid = ""
		if diff := cmp.Diff(docJSON(t, permissions.Document{Version: "2012-10-17", Statement: []permissions.Statement{want}}),
			asJSON(t, map[string]any{"Version": "2012-10-17", "Statement": []any{bus}})); diff != "" {
			t.Errorf("central.yaml, event bus policy: (-permissions +template)\n%s", diff)
		}

		mdep := deploygen.MemberDeployment(!rotate)
		for _, name := range []string{"member-stackset.yaml", "management.yaml"} {
			rs := resources(t, cfnTemplate(t, name))
			wantPols := map[string]string{}
			for n, d := range permissions.MemberPolicies(mdep) {
				wantPols[n] = docJSON(t, d)
			}
			if diff := cmp.Diff(wantPols, rolePolicies(t, rs["MemberRole"], rotate)); diff != "" {
				t.Errorf("%s, member role (rotate %v): (-permissions +template)\n%s", name, rotate, diff)
			}
			trust, _ := resolve(props(rs["MemberRole"])["AssumeRolePolicyDocument"], rotate)
			if diff := cmp.Diff(docJSON(t, permissions.MemberTrustCentral(mdep)), asJSON(t, trust)); diff != "" {
				t.Errorf("%s, member trust: (-permissions +template)\n%s", name, diff)
			}
			if diff := cmp.Diff(map[string]string{"keyrot-forward-iam-events": docJSON(t, permissions.EventForwarding(mdep))}, rolePolicies(t, rs["EventForwardingRole"], rotate)); diff != "" {
				t.Errorf("%s, event forwarding role: (-permissions +template)\n%s", name, diff)
			}
			if name == "management.yaml" {
				c, _ := resolve(props(rs["OrganizationsReadDelegation"])["Content"], rotate)
				if diff := cmp.Diff(docJSON(t, permissions.OrganizationsDelegation(mdep)), asJSON(t, c)); diff != "" {
					t.Errorf("%s, Organizations delegation: (-permissions +template)\n%s", name, diff)
				}
			}
		}
	}
	// Terraform: the policy templates are the documents with Terraform's placeholders.
	for p, d := range deploygen.TerraformPolicies() {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if diff := cmp.Diff(docJSON(t, d), asJSON(t, v)); diff != "" {
			t.Errorf("%s: (-permissions +file)\n%s", p, diff)
		}
	}
}

// TestTemplatesLeastPrivilege: no policy of the deployment grants
// wildcard actions of IAM or any action of EC2, writes IAM policies, or
// names a resource "*" but for actions AWS authorizes only on "*" (or a
// key policy's own key).
func TestTemplatesLeastPrivilege(t *testing.T) {
	onlyStar := regexp.MustCompile(`^(organizations:(Describe|List)[A-Za-z]*|iam:(GenerateCredentialReport|GetCredentialReport|GetAccountAuthorizationDetails|GetAccountPasswordPolicy|ListServerCertificates)|acm:ListCertificates|secretsmanager:ListSecrets|rolesanywhere:ListTrustAnchors|ses:SendEmail|sns:Publish)$`)
	forbidden := regexp.MustCompile(`^(iam:.*\*.*|iam:(Put|Attach|Create|Delete|Update)(User|Role|Group)Policy|iam:CreateUser|iam:PassRole|ec2:.*|\*)$`)
	check := func(where string, d permissions.Document) {
		for _, s := range d.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Action {
				if forbidden.MatchString(a) {
					t.Errorf("%s: statement %s grants %s", where, s.Sid, a)
				}
				for _, r := range s.Resource {
					if r == "*" && !onlyStar.MatchString(a) && s.Principal == nil {
						t.Errorf("%s: statement %s grants %s on every resource", where, s.Sid, a)
					}
				}
			}
		}
	}
	for _, audit := range []bool{false, true} {
		dep := deploygen.CentralDeployment(audit)
		for name, d := range map[string]permissions.Document{
			"coordinator": permissions.Coordinator(dep), "worker": permissions.Worker(dep), "reporter": permissions.Reporter(dep),
			"events": permissions.Events(dep), "states": permissions.StateMachine(dep), "scheduler": permissions.Scheduler(dep),
		} {
			check(name, d)
		}
		for name, d := range permissions.MemberPolicies(deploygen.MemberDeployment(audit)) {
			check(name, d)
		}
	}
	// Audit-only: nothing that changes a credential or a secret.
	writes := regexp.MustCompile(`^(iam:(Create|Update|Delete|Tag|Untag)|secretsmanager:(Create|Put|Delete|Restore|Tag|Untag|Update)|kms:(Encrypt|GenerateDataKey))`)
	audit := deploygen.CentralDeployment(true)
	docs := []permissions.Document{permissions.Worker(audit)}
	for _, d := range permissions.MemberPolicies(deploygen.MemberDeployment(true)) {
		docs = append(docs, d)
	}
	for _, d := range docs {
		for _, a := range d.Actions() {
			if writes.MatchString(a) {
				t.Errorf("audit-only grants %s", a)
			}
		}
	}
}

// TestStateMachineSubstitutions: every ${...} of the state machine
// definition is one the central template's DefinitionSubstitutions give.
func TestStateMachineSubstitutions(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(deploygen.ASLPath)))
	if err != nil {
		t.Fatal(err)
	}
	subs := props(resources(t, cfnTemplate(t, "central.yaml"))["StateMachine"])["DefinitionSubstitutions"].(map[string]any)
	var used []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(b), -1) {
		used = append(used, m[1])
		if _, ok := subs[m[1]]; !ok {
			t.Errorf("the definition uses ${%s}, which DefinitionSubstitutions does not give", m[1])
		}
	}
	sort.Strings(used)
	if len(used) == 0 {
		t.Error("the definition uses no substitution: the functions' ARNs are not given to it")
	}
}

// lintTool finds a linter: the path in env, else name on PATH. Without it
// the test skips, unless requireEnv is set (CI sets it).
func lintTool(t *testing.T, name, env, requireEnv, how string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%s not found and %s is set: %v (%s)", name, requireEnv, err, how)
		}
		t.Skipf("%s not found (set %s or put it on PATH; %s)", name, env, how)
	}
	return p
}

// TestCloudFormationLint runs cfn-lint on every CloudFormation template.
func TestCloudFormationLint(t *testing.T) {
	t.Parallel() // cfn-lint takes tens of seconds to start and check
	bin := lintTool(t, "cfn-lint", "KEYROT_CFN_LINT", "KEYROT_REQUIRE_CFN_LINT", "it is on the machine image (pip); .ci/run finds it")
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "cloudformation", "*.yaml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("templates: %v %v", files, err)
	}
	out, err := exec.Command(bin, files...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}

// TestTerraformLint runs tflint on the Terraform modules.
func TestTerraformLint(t *testing.T) {
	bin := lintTool(t, "tflint", "KEYROT_TFLINT", "KEYROT_REQUIRE_TFLINT", ".ci/run builds it with go install github.com/terraform-linters/tflint")
	for _, dir := range []string{"deploy/terraform", "deploy/terraform/member"} {
		cmd := exec.Command(bin, "--chdir", filepath.Join(repoRoot(t), filepath.FromSlash(dir)), "--format", "compact")
		cmd.Env = append(os.Environ(), "TFLINT_CONFIG_FILE=/dev/null", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("tflint %s: %v\n%s", dir, err, out)
		}
	}
}

// TestTerraformPolicyVariables: terraform validate is not available
// here, so this checks what it would of the policies: every policy
// template is read by its module's main.tf, and every ${variable} a
// template uses is one of the module's local.policy_vars (templatefile
// fails on a missing one).
func TestTerraformPolicyVariables(t *testing.T) {
	root := repoRoot(t)
	varRE := regexp.MustCompile(`\$\{([a-z_]+)\}`)
	for _, mod := range []string{"deploy/terraform", "deploy/terraform/member"} {
		mainTF, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(mod), "main.tf"))
		if err != nil {
			t.Fatal(err)
		}
		block := regexp.MustCompile(`(?s)policy_vars = \{(.*?)\n  \}`).FindSubmatch(mainTF)
		if block == nil {
			t.Fatalf("%s/main.tf has no policy_vars", mod)
		}
		given := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^\s+([a-z_]+)\s+=`).FindAllSubmatch(block[1], -1) {
			given[string(m[1])] = true
		}
		files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(mod), "policies", "*.json.tftpl"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no policy templates: %v", mod, err)
		}
		for _, f := range files {
			base := filepath.Base(f)
			if !bytes.Contains(mainTF, []byte("policies/"+base)) {
				t.Errorf("%s/main.tf does not read policies/%s", mod, base)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range varRE.FindAllSubmatch(b, -1) {
				if !given[string(m[1])] {
					t.Errorf("%s/policies/%s uses ${%s}, which %s/main.tf's policy_vars does not give", mod, base, m[1], mod)
				}
			}
		}
	}
}

// TestCentralTemplateContract: the central stack is what the Lambda
// binary and the DynamoDB store expect: one table keyed pk/sk with TTL on
// expires_at, point-in-time recovery and on-demand billing; every
// function provided.al2023, bootstrap, arm64 by default, with its handler
// and the environment the binary reads; the schedule in a time zone; the
// audit-only switch in KEYROT_MODE.
func TestCentralTemplateContract(t *testing.T) {
	tmpl := cfnTemplate(t, "central.yaml")
	rs := resources(t, tmpl)
	table := props(rs["Table"])
	want := map[string]string{
		"BillingMode":                      `"PAY_PER_REQUEST"`,
		"KeySchema":                        `[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]`,
		"AttributeDefinitions":             `[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}]`,
		"TimeToLiveSpecification":          `{"AttributeName":"expires_at","Enabled":true}`,
		"PointInTimeRecoverySpecification": `{"PointInTimeRecoveryEnabled":true}`,
	}
	for k, w := range want {
		b, _ := json.Marshal(table[k])
		if string(b) != w {
			t.Errorf("table %s = %s, want %s", k, b, w)
		}
	}
	if d := tmpl["Parameters"].(map[string]any)["Architecture"].(map[string]any)["Default"]; d != "arm64" {
		t.Errorf("default architecture %v", d)
	}
	for _, h := range permissions.Handlers {
		fn := props(rs[strings.ToUpper(h[:1])+h[1:]+"Function"])
		if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v handler %v", h, fn["Runtime"], fn["Handler"])
		}
		env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["KEYROT_HANDLER"] != h {
			t.Errorf("%s: KEYROT_HANDLER %v", h, env["KEYROT_HANDLER"])
		}
		for _, k := range []string{"KEYROT_CONFIG_PARAMETER", "KEYROT_TABLE", "KEYROT_MODE", "KEYROT_MEMBER_ROLE", "KEYROT_EXTERNAL_ID_PARAMETER"} {
			if env[k] == nil {
				t.Errorf("%s: no %s", h, k)
			}
		}
		for _, rotate := range []bool{true, false} {
			mode, _ := resolve(env["KEYROT_MODE"], rotate)
			if want := map[bool]string{true: "rotate", false: "audit"}[rotate]; mode != want {
				t.Errorf("%s: KEYROT_MODE %v when rotate is %v", h, mode, rotate)
			}
		}
	}
	sched := props(rs["Schedule"])
	if tz, _ := sched["ScheduleExpressionTimezone"].(map[string]any); tz["Ref"] != "ScheduleTimezone" {
		t.Errorf("schedule time zone %v", sched["ScheduleExpressionTimezone"])
	}
}
