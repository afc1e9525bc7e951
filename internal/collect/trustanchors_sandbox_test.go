package collect

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestSandboxTrustAnchorsInEnabledRegions: with every kind's regions
// [enabled], the collector asks the account once for its enabled regions
// (account:ListRegions) and lists certificates, secrets and trust anchors
// in each of them (the 17 default regions and the opt-in region the
// account enabled, never a disabled one): one list call per kind and
// region, a page per 50 trust anchors. Trust anchors come with their CA
// certificates parsed, an ACM PCA one with none. When discovery fails the
// kinds are marked unread and no regional call is made.
func TestSandboxTrustAnchorsInEnabledRegions(t *testing.T) {
	env := sandboxtest.Start(t, "")
	member := sandbox.ScenarioAccount{ID: "222222222222", Name: "member", OptInRegions: []string{"ap-east-1"},
		TrustAnchors: []sandbox.ScenarioTrustAnchor{
			{Name: "hk", Region: "ap-east-1", Certificates: []sandbox.ScenarioCACertificate{{Subject: "HK CA", ExpiresIn: "10d"}}},
			{Name: "pca", Source: "AWS_ACM_PCA"},
		},
		Certificates: []sandbox.ScenarioCertificate{{Domain: "hk.example.com", Region: "ap-east-1"}},
	}
	for i := range 55 {
		member.TrustAnchors = append(member.TrustAnchors, sandbox.ScenarioTrustAnchor{Name: fmt.Sprintf("ca-%02d", i)})
	}
	sc := &sandbox.Scenario{Organization: sandbox.ScenarioOrg{ID: "o-kinds000002", RoleName: "OrganizationAccountAccessRole",
		Management: sandbox.ScenarioAccount{ID: "111111111111", Name: "mgmt"}}, Accounts: []sandbox.ScenarioAccount{member}}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	opts := sandboxOptions(env, env.Admin())
	all := []string{EnabledRegions}
	opts.Kinds = &Kinds{Clients: AccessKindsFactory(newAccounts(env.Admin(), Role{})), CertificateRegions: all, SecretRegions: all, TrustAnchorRegions: all}
	opts.Accounts = []string{"222222222222"}
	env.Server.ResetCallCounts()
	snap, err := Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := accountByID(t, snap, "222222222222")
	if len(a.Errors) != 0 || !a.Kinds.Certificates || !a.Kinds.Secrets || !a.Kinds.TrustAnchors {
		t.Fatalf("kinds %+v, errors %v", a.Kinds, a.Errors)
	}
	if len(a.Kinds.Regions) != 18 || !slices.Contains(a.Kinds.Regions, "ap-east-1") || slices.Contains(a.Kinds.Regions, "me-south-1") {
		t.Errorf("regions read: %v", a.Kinds.Regions)
	}
	if len(a.TrustAnchors) != 57 {
		t.Fatalf("%d trust anchors, want 57", len(a.TrustAnchors))
	}
	for _, ta := range a.TrustAnchors {
		switch ta.Name {
		case "hk":
			if ta.Region != "ap-east-1" || len(ta.CACertificates) != 1 || ta.CACertificates[0].Subject != "CN=HK CA" || !ta.Enabled {
				t.Errorf("hk: %+v", ta)
			}
		case "pca":
			if ta.SourceType != "AWS_ACM_PCA" || ta.PCAARN == "" || len(ta.CACertificates) != 0 || ta.BundleError != "" {
				t.Errorf("pca: %+v", ta)
			}
		default:
			if len(ta.CACertificates) != 1 || ta.BundleError != "" || ta.Region != "us-east-1" {
				t.Errorf("%s: %+v", ta.Name, ta)
			}
		}
	}
	if len(a.Certificates) != 1 || a.Certificates[0].Region != "ap-east-1" {
		t.Errorf("certificates %+v", a.Certificates)
	}
	ops := env.Server.CallCounts()["222222222222"]
	want := map[string]int{"account:ListRegions": 1, "acm:ListCertificates": 18, "secretsmanager:ListSecrets": 18, "rolesanywhere:ListTrustAnchors": 19}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%s: %d calls, want %d", op, ops[op], n)
		}
	}

	// Discovery denied: an error, the kinds unread, no regional call.
	if _, err := env.Server.AddFault(sandbox.Fault{Kind: "error", Service: "account", Code: "AccessDeniedException", Status: 403, Probability: 1}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetCallCounts()
	snap, err = Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a = accountByID(t, snap, "222222222222")
	if a.Kinds.Certificates || a.Kinds.Secrets || a.Kinds.TrustAnchors || len(a.Errors) != 1 || a.Errors[0].Op != "ListRegions" || a.Status != "audited" {
		t.Errorf("with discovery denied: kinds %+v, status %s, errors %v", a.Kinds, a.Status, a.Errors)
	}
	if ops := env.Server.CallCounts()["222222222222"]; ops["rolesanywhere:ListTrustAnchors"]+ops["acm:ListCertificates"] != 0 {
		t.Errorf("regional calls without discovery: %v", ops)
	}
}
