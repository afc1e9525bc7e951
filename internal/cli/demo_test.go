package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDemo runs `keyrot demo` end to end: an in-process sandbox with the
// demo organization, summarized through the real SDK.
func TestDemo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--summary-only")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^keyrot demo: sandbox at http://127\.0\.0\.1:\d+ with scenario "demo"\n$`).MatchString(stderr) {
		t.Errorf("stderr %q", stderr)
	}
	golden := filepath.Join("testdata", "demo.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), stdout); diff != "" {
		t.Errorf("demo output (-want +got):\n%s", diff)
	}
}

func TestDemoBadScenario(t *testing.T) {
	code, _, stderr := runCLI(t, "demo", "--scenario", "nope")
	if code != ExitUsage || !regexp.MustCompile(`unknown scenario "nope"`).MatchString(stderr) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestDemoFullRun runs the whole demo: audit, plan, apply and 20 days of
// lifecycle on the sandbox clock, and checks each step did its part.
func TestDemoFullRun(t *testing.T) {
	t.Chdir(t.TempDir())
	// The demo points the process's AWS environment at its sandbox; restore it afterwards.
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE"} {
		t.Setenv(k, os.Getenv(k))
	}
	code, stdout, stderr := runCLI(t, "demo", "--no-color")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	steps := strings.Split(stdout, "\n== ")
	if len(steps) != 8 {
		t.Fatalf("want summary + 7 steps, got %d parts:\n%s", len(steps), stdout)
	}
	count := func(part, s string) int { return strings.Count(part, s) }
	audit, plan, apply, dests, day10, day20 := steps[1], steps[2], steps[3], steps[4], steps[5], steps[6]
	if !strings.Contains(audit, "root-access-key") || !strings.Contains(audit, "(exit 5)") {
		t.Errorf("audit step:\n%s", audit)
	}
	creates := count(plan, "\ncreate-key ")
	if creates == 0 || !strings.Contains(plan, "Blocked: needs a human") {
		t.Errorf("plan step:\n%s", plan)
	}
	// One creation is denied by the Sandbox OU's SCP: blocked, with AWS's reason.
	denied := len(regexp.MustCompile(`(?m)^blocked +create-key +567890123456 +sagemaker-pipeline `).FindAllString(apply, -1))
	if denied != 1 || !strings.Contains(apply, "explicit deny in a service control policy") {
		t.Errorf("apply step should report sagemaker-pipeline's creation blocked by the SCP:\n%s", apply)
	}
	creates -= denied
	if count(apply, "succeeded  create-key") != creates || count(apply, "failed") != 0 {
		t.Errorf("apply step should create %d keys:\n%s", creates, apply)
	}
	if count(day10, "succeeded  deactivate-key") != creates {
		t.Errorf("day 10 should deactivate the %d replaced keys:\n%s", creates, day10)
	}
	if count(day20, "succeeded  delete-key") < creates {
		t.Errorf("day 20 should delete at least the %d replaced keys:\n%s", creates, day20)
	}
	// ci-deploy of brightloop-prod: its new key goes to both destinations,
	// each read back holding it, and its old key is deactivated only then.
	m := regexp.MustCompile(`(?m)^succeeded +create-key +345678901234 +ci-deploy +\S+ +(\S+) +.*delivered to 2 destination\(s\)$`).FindStringSubmatch(apply)
	if m == nil {
		t.Fatalf("apply step should deliver ci-deploy's new key to 2 destinations:\n%s", apply)
	}
	for _, d := range []string{"kubernetes:demo-cluster/ci/aws-deploy", "ssm:345678901234/us-east-1/keyrot/ci-deploy"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(d) + ` +key ` + regexp.QuoteMeta(m[1]) + `$`).MatchString(dests) {
			t.Errorf("%s should hold ci-deploy's new key %s:\n%s", d, m[1], dests)
		}
	}
	if !regexp.MustCompile(`(?m)^succeeded +deactivate-key +345678901234 +ci-deploy +.*confirmed at every destination \(2\)$`).MatchString(day10) {
		t.Errorf("day 10 should deactivate ci-deploy's old key once both destinations hold the new one:\n%s", day10)
	}
	mails := steps[7]
	// One digest per owner per run: the apply run's rotations reach the
	// owner named by the user's tag, and security gets one central digest.
	if !strings.Contains(mails, "to finance-ops@brightloop.example           Action needed by") ||
		count(mails, "to security@brightloop.example") != 3 {
		t.Errorf("notifications:\n%s", mails)
	}
	if strings.Contains(stdout+stderr, "SecretAccessKey") {
		t.Error("demo output mentions secret access keys")
	}
}
