package collect

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestSandboxAccountKinds: server certificates, ACM certificates of every
// key type and secrets with their rotation facts are collected through
// the SDK at one list call per kind and region (a page per 100 secrets),
// never a describe call; a region whose calls fail is a collect error,
// not an empty list.
func TestSandboxAccountKinds(t *testing.T) {
	env := sandboxtest.Start(t, "")
	mgmt := sandbox.ScenarioAccount{ID: "111111111111", Name: "mgmt"}
	member := sandbox.ScenarioAccount{ID: "222222222222", Name: "member",
		ServerCertificates: []sandbox.ScenarioServerCertificate{{Name: "elb", Expired: "3d"}},
		Certificates: []sandbox.ScenarioCertificate{
			{Domain: "rsa.example.com"}, {Domain: "ec.example.com", KeyAlgorithm: "EC_secp384r1", Type: "imported"},
			{Domain: "west.example.com", Region: "eu-west-1", KeyAlgorithm: "RSA_4096"},
		},
	}
	for i := range 150 {
		s := sandbox.ScenarioSecret{Name: fmt.Sprintf("app/secret-%03d", i)}
		if i == 7 {
			s.Rotation = &sandbox.ScenarioSecretRotation{Every: "30d", LastRotated: "40d", Failed: true}
			s.Tags = map[string]string{"credential-kind": "database"}
		}
		member.Secrets = append(member.Secrets, s)
	}
	sc := &sandbox.Scenario{Organization: sandbox.ScenarioOrg{ID: "o-kinds000001", RoleName: "OrganizationAccountAccessRole", Management: mgmt}, Accounts: []sandbox.ScenarioAccount{member}}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	opts := sandboxOptions(env, env.Admin())
	acc := newAccounts(env.Admin(), Role{})
	opts.Kinds = &Kinds{Clients: AccessKindsFactory(acc), ServerCertificates: true,
		CertificateRegions: []string{"us-east-1", "eu-west-1"}, SecretRegions: []string{"us-east-1"}}
	opts.Accounts = []string{"222222222222"}
	env.Server.ResetCallCounts()
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := accountByID(t, snap, "222222222222")
	if len(a.ServerCertificates) != 1 || !a.ServerCertificates[0].Expiration.Before(env.Server.Clock().Now()) {
		t.Errorf("server certificates %+v", a.ServerCertificates)
	}
	domains := map[string]string{}
	for _, c := range a.Certificates {
		domains[c.DomainName] = c.Region + " " + c.Type + " " + c.KeyAlgorithm
	}
	want := map[string]string{"rsa.example.com": "us-east-1 AMAZON_ISSUED RSA_2048", "ec.example.com": "us-east-1 IMPORTED EC_secp384r1", "west.example.com": "eu-west-1 AMAZON_ISSUED RSA_4096"}
	if fmt.Sprint(domains) != fmt.Sprint(want) {
		t.Errorf("certificates %v, want %v", domains, want)
	}
	if len(a.Secrets) != 150 {
		t.Fatalf("%d secrets, want 150", len(a.Secrets))
	}
	for _, s := range a.Secrets {
		if s.Name == "app/secret-007" {
			if !s.RotationEnabled || s.RotationDays != 30 || !s.PendingVersion || s.NextRotationDate == nil || s.Tags["credential-kind"] != "database" || s.Region != "us-east-1" {
				t.Errorf("rotating secret %+v", s)
			}
		} else if s.RotationEnabled || s.PendingVersion {
			t.Errorf("secret %s: %+v", s.Name, s)
		}
	}
	if !a.Kinds.ServerCertificates || !a.Kinds.Certificates || !a.Kinds.Secrets || len(a.Errors) != 0 {
		t.Errorf("kinds %+v, errors %v", a.Kinds, a.Errors)
	}
	ops := env.Server.CallCounts()["222222222222"]
	wantCalls := map[string]int{"iam:ListServerCertificates": 1, "acm:ListCertificates": 2, "secretsmanager:ListSecrets": 2,
		"acm:DescribeCertificate": 0, "secretsmanager:DescribeSecret": 0}
	for op, n := range wantCalls {
		if ops[op] != n {
			t.Errorf("%s: %d calls, want %d", op, ops[op], n)
		}
	}

	// A region where ACM fails is reported, and the kind is marked unread.
	env.Server.ResetCallCounts()
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: "error", Service: "acm", Code: "AccessDeniedException", Status: 400, Probability: 1}); err != nil {
		t.Fatal(err)
	}
	snap, err = Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a = accountByID(t, snap, "222222222222")
	if a.Kinds.Certificates || !a.Kinds.Secrets || len(a.Errors) != 2 || a.Status != "audited" {
		t.Errorf("with ACM denied: kinds %+v, status %s, errors %v", a.Kinds, a.Status, a.Errors)
	}
}
