package collect

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

const kindsScenario = `
organization:
  id: o-kinds00001
  management:
    id: "111111111111"
    name: mgmt
accounts:
  - id: "333333333333"
    name: kinds
    password_policy: {minimum_length: 8, max_age_days: 90}
    users:
      - name: ana
        service_credentials:
          - {service: codecommit, age: 120d}
          - {service: bedrock, age: 10d}
          - {service: bedrock, age: 5d, expires_in: 25d}
        signing_certificates: [{age: 400d}, {age: 10d, status: Inactive}]
        ssh_keys: [{age: 200d}]
      - name: ben
        keys: [{age: 10d, last_used: 1d}]
        service_credentials: [{service: cassandra, age: 30d, status: Inactive}]
      - name: cy
        keys: [{age: 10d, last_used: 1d}]
  - id: "444444444444"
    name: no-policy
    users:
      - name: dee
        console: {password_last_used: 2d}
`

func kindsEnv(t *testing.T) *sandboxtest.Env {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kinds.yaml")
	if err := os.WriteFile(p, []byte(kindsScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	return sandboxtest.Start(t, p)
}

func userByName(t *testing.T, a inventory.Account, name string) inventory.User {
	t.Helper()
	for _, u := range a.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("no user %s in %s", name, a.ID)
	return inventory.User{}
}

// TestSandboxIAMKinds collects the other per-user credentials and the
// password policy, at the cost the package documents.
func TestSandboxIAMKinds(t *testing.T) {
	env := kindsEnv(t)
	opts := sandboxOptions(env, env.Admin())
	opts.IAMKinds, opts.SSHKeys = true, true
	env.Server.ResetCallCounts()
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := accountByID(t, snap, "333333333333")
	if len(a.Errors) > 0 {
		t.Fatalf("errors: %+v", a.Errors)
	}
	if p := a.PasswordPolicy; p == nil || !p.Exists || p.MaxPasswordAge != 90 || p.MinimumPasswordLength != 8 {
		t.Fatalf("password policy %+v", a.PasswordPolicy)
	}
	if p := accountByID(t, snap, "444444444444").PasswordPolicy; p == nil || p.Exists {
		t.Fatalf("an account without a policy: %+v", p)
	}
	ana := userByName(t, a, "ana")
	if len(ana.ServiceCredentials) != 3 {
		t.Fatalf("ana's credentials: %+v", ana.ServiceCredentials)
	}
	var bedrockForever, bedrockExpiring int
	for _, c := range ana.ServiceCredentials {
		if c.Service == inventory.ServiceBedrock {
			if c.ExpirationDate == nil {
				bedrockForever++
			} else {
				bedrockExpiring++
			}
		}
		if c.ID == "" || c.CreateDate.IsZero() {
			t.Errorf("credential without ID or date: %+v", c)
		}
	}
	if bedrockForever != 1 || bedrockExpiring != 1 {
		t.Errorf("bedrock keys: %d never expiring, %d expiring", bedrockForever, bedrockExpiring)
	}
	if len(ana.SigningCertificates) != 2 || ana.SigningCertificates[0].ID == "" || !ana.SigningCertificates[0].Active() ||
		ana.SigningCertificates[1].Active() || ana.SigningCertificates[0].Slot != 1 {
		t.Errorf("ana's certificates: %+v", ana.SigningCertificates)
	}
	if len(ana.SSHPublicKeys) != 1 || !ana.SSHPublicKeys[0].Active() {
		t.Errorf("ana's SSH keys: %+v", ana.SSHPublicKeys)
	}
	if ben := userByName(t, a, "ben"); len(ben.ServiceCredentials) != 1 || ben.ServiceCredentials[0].Active() {
		t.Errorf("ben's credentials: %+v", ben.ServiceCredentials)
	}
	if cy := userByName(t, a, "cy"); cy.HasOtherCredentials() {
		t.Errorf("cy has %+v", cy)
	}

	// Cost: three service listings and the password policy per account,
	// one certificate listing for the one user whose report shows
	// certificates, and one SSH listing per user.
	counts := env.Server.CallCounts()["333333333333"]
	for op, want := range map[string]int{
		"iam:ListServiceSpecificCredentials": 3, "iam:GetAccountPasswordPolicy": 1,
		"iam:ListSigningCertificates": 1, "iam:ListSSHPublicKeys": 3,
	} {
		if counts[op] != want {
			t.Errorf("%s: %d calls, want %d", op, counts[op], want)
		}
	}
}

// TestSandboxIAMKindsCompliantAccountIsCheap: the kinds cost four calls in
// a 500-user account with none of them (without the per-user SSH listing).
func TestSandboxIAMKindsCompliantAccountIsCheap(t *testing.T) {
	env := sandboxtest.Start(t, bigScenario(t, 500))
	opts := sandboxOptions(env, env.Admin())
	opts.Accounts = []string{"222222222222"}
	opts.ReportPoll = Poll{}
	opts.IAMKinds = true
	env.Server.ResetCallCounts()
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if a := accountByID(t, snap, "222222222222"); a.Status != inventory.AccountAudited || len(a.Users) != 500 {
		t.Fatalf("account %s %q with %d users", a.Status, a.Reason, len(a.Users))
	}
	counts := env.Server.CallCounts()
	calls := callTotal(counts["222222222222"]) + counts["111111111111"]["sts:AssumeRole"]
	t.Logf("compliant 500-user account with the IAM kinds: %d IAM/STS calls: %v", calls, counts["222222222222"])
	if calls > 5+4 {
		t.Errorf("compliant 500-user account cost %d calls with the IAM kinds, want <= 9: %v", calls, counts["222222222222"])
	}
}

// TestTagSetsShareEqualTags: users with the same tags, in any order, get
// one map; other tags another; no tags none.
func TestTagSetsShareEqualTags(t *testing.T) {
	tag := func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	ts := tagSets{}
	a := ts.of([]iamtypes.Tag{tag("owner", "team@example.com"), tag("env", "prod")})
	b := ts.of([]iamtypes.Tag{tag("env", "prod"), tag("owner", "team@example.com")})
	c := ts.of([]iamtypes.Tag{tag("owner", "team@example.com"), tag("env", "dev")})
	d := ts.of([]iamtypes.Tag{tag("owner", "team@example.comenv"), tag("", "prod")})
	if reflect.ValueOf(a).Pointer() != reflect.ValueOf(b).Pointer() {
		t.Error("equal tags in another order got their own map")
	}
	for _, m := range []map[string]string{c, d} {
		if reflect.ValueOf(a).Pointer() == reflect.ValueOf(m).Pointer() {
			t.Errorf("tags %v share the map of %v", m, a)
		}
	}
	if want := map[string]string{"owner": "team@example.com", "env": "prod"}; !reflect.DeepEqual(a, want) {
		t.Errorf("tags = %v, want %v", a, want)
	}
	if ts.of(nil) != nil {
		t.Error("no tags gave a map")
	}
}
