package cli

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/deliver/backends"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/kubetest/standin"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// demoPolicy is the policy of the demo: defaults plus SES digests.
//
//go:embed demo_policy.yaml
var demoPolicy []byte

// runDemoSteps runs the real keyrot commands against the demo sandbox, with
// the sandbox's admin key in the environment and the sandbox's clock, so
// that moving that clock shows the lifecycle.
func runDemoSteps(ctx context.Context, g *globalOptions, srv *sandbox.Server, endpoint string, out, errw io.Writer) error {
	id, secret := srv.AdminCredentials()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret,
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
	} {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	state, err := os.MkdirTemp("", "keyrot-demo-")
	if err != nil {
		return fmt.Errorf("demo state directory: %w", err)
	}
	defer os.RemoveAll(state)
	srv.SetReportBuildTime(200 * time.Millisecond)
	policyFile := state + "/keyrot.yaml"
	// The CI cluster: a local stand-in of the Kubernetes API, reached
	// through a kubeconfig as a real cluster would be.
	cluster := standin.New()
	defer cluster.Close()
	kubeconfig := filepath.Join(state, "kubeconfig")
	if err := cluster.WriteKubeconfig(kubeconfig, "demo-cluster"); err != nil {
		return err
	}
	if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
		return fmt.Errorf("set KUBECONFIG: %w", err)
	}
	if err := os.WriteFile(policyFile, append(append([]byte(nil), demoPolicy...), demoDeliver...), 0o600); err != nil {
		return fmt.Errorf("demo policy: %w", err)
	}

	common := []string{"-c", policyFile, "--clock", "sandbox", "--progress", "none", "--report-wait", "200ms", "--log-level", "error"}
	if g.NoColor {
		common = append(common, "--no-color")
	}
	if g.Color != "" {
		common = append(common, "--color", g.Color)
	}
	streams := Streams{In: nil, Out: out, Err: errw}
	step := func(title string, args ...string) {
		fmt.Fprintf(out, "\n== %s\n$ keyrot %s\n", title, strings.Join(args, " "))
		code := Main(ctx, append(args, common...), streams)
		fmt.Fprintf(out, "(exit %d)\n", code)
	}
	rot := []string{"--state-dir", state, "--allow-partial", "--yes"}
	step("Audit: every finding, per account (exit 5: one account cannot be assumed)", "audit", "-o", "table")
	step("Plan: what apply would change, and why", "plan", "--state-dir", state)
	step("Apply: new keys created, stored in Secrets Manager and verified, then delivered to their destinations; unused keys deactivated", append([]string{"apply"}, rot...)...)
	showDestinations(ctx, g, out, policyFile)
	srv.Clock().Advance(10 * 24 * time.Hour)
	step("10 days later: no application used the replaced keys since, and every destination holds the new key, so they are deactivated", append([]string{"apply"}, rot...)...)
	srv.Clock().Advance(10 * 24 * time.Hour)
	step("10 more days: the deactivated keys stayed quiet, so they are deleted", append([]string{"apply"}, rot...)...)
	emails := srv.Emails()
	fmt.Fprintf(out, "\n== Notifications: %d digest e-mails captured by the sandbox's SES (keyrot sandbox ctl emails shows them)\n", len(emails))
	for _, e := range emails {
		fmt.Fprintf(out, "  to %-40s %s\n", strings.Join(e.To, ","), e.Subject)
	}
	return ctx.Err()
}

// demoDeliver is the demo's deliver section: ci-deploy's key goes to two
// destinations, a Kubernetes Secret (of a local stand-in of the Kubernetes
// API, kubetest/standin, named by the kubeconfig the demo writes) and an
// SSM parameter of its account (the sandbox's Parameter Store), and its
// old key is deactivated only once both hold the new one.
const demoDeliver = `
# Where new keys go once verified (docs/delivery.md): ci-deploy's key, to the
# CI cluster's Secret and to Parameter Store.
deliver:
  destinations:
    - to: [kubernetes:demo-cluster/ci/aws-deploy, ssm:345678901234/us-east-1/keyrot/ci-deploy]
      accounts: ["345678901234"]
      users: [ci-deploy]
      kubernetes:
        create_secret: true
`

// showDestinations prints, for each destination the demo's deliver
// section declares, the access key ID it holds now (masked), read from
// the destination itself.
func showDestinations(ctx context.Context, g *globalOptions, out io.Writer, policyFile string) {
	fmt.Fprintf(out, "\n== Destinations: what each one declared in keyrot.yaml holds now, read back from it\n")
	c, err := config.Load(policyFile)
	if err != nil {
		fmt.Fprintf(out, "  cannot load %s: %v\n", policyFile, err)
		return
	}
	targets := c.Deliver.Declared()
	env, err := destinationEnv(ctx, g, c, targets)
	if err != nil {
		fmt.Fprintf(out, "  cannot reach AWS: %v\n", err)
		return
	}
	for _, t := range targets {
		held := "cannot be read"
		if d, err := backends.Open(ctx, t, env); err == nil {
			if id, err := d.Current(ctx); err == nil {
				held = "key " + inventory.MaskKeyID(id)
			}
		}
		fmt.Fprintf(out, "  %-46s %s\n", t.Ref, held)
	}
}
