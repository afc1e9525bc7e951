package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestTrustAnchors: an enabled trust anchor is judged by the last of its
// CA certificates to expire (expired, expiring within the warning); a
// disabled one only when it still holds an expired CA (and the policy
// flags those); an unreadable bundle is flagged; an ACM PCA source, whose
// expiry keyrot does not read, and an excluded name are not judged.
func TestTrustAnchors(t *testing.T) {
	snap := snapshot()
	a := &snap.Accounts[0]
	ca := func(subject string, expiresIn int) inventory.CACertificate {
		return inventory.CACertificate{Subject: "CN=" + subject, NotBefore: daysAgo(700), NotAfter: daysAgo(-expiresIn)}
	}
	anchor := func(name string, enabled bool, certs ...inventory.CACertificate) inventory.TrustAnchor {
		return inventory.TrustAnchor{ARN: "ta-" + name, ID: name, Name: name, Region: "eu-west-1", Enabled: enabled, SourceType: "CERTIFICATE_BUNDLE", CACertificates: certs, CreatedAt: daysAgo(700)}
	}
	rotated := anchor("rotated", true, ca("old", -5), ca("new", 300)) // old expired, new valid: fine
	a.TrustAnchors = []inventory.TrustAnchor{
		anchor("dead", true, ca("dead", -3)),
		anchor("soon", true, ca("soon", 20)),
		anchor("two", true, ca("a", 10), ca("b", 30)),
		rotated,
		anchor("off", false, ca("off", -100)),
		anchor("off-valid", false, ca("ok", 10)),
		anchor("lab-1", true, ca("lab", -1)),
		{ARN: "ta-pca", ID: "pca", Name: "pca", Region: "eu-west-1", Enabled: true, SourceType: "AWS_ACM_PCA", PCAARN: "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/x"},
		{ARN: "ta-bad", ID: "bad", Name: "bad", Region: "eu-west-1", Enabled: true, SourceType: "CERTIFICATE_BUNDLE", BundleError: "no PEM CERTIFICATE block"},
	}
	p := policy.Default()
	p.TrustAnchors.Exclude = []string{"lab-*"}
	got := summary(Evaluate(p, snap, now))
	want := []string{
		"trust-anchor-expired/111111111111/ta-dead high",
		"trust-anchor-expiring/111111111111/ta-soon medium",
		"trust-anchor-expiring/111111111111/ta-two medium",
		"trust-anchor-disabled-expired/111111111111/ta-off low",
		"trust-anchor-unreadable/111111111111/ta-bad low",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range Evaluate(p, snap, now).Findings {
		if f.Rule == policy.RuleTrustAnchorExpiring && f.Extra["resource"] == "ta-two" && !strings.Contains(f.Evidence.Detail, "last of the 2 CA certificates") {
			t.Errorf("two-certificate detail: %s", f.Evidence.Detail)
		}
		if f.Extra["region"] != "eu-west-1" {
			t.Errorf("%s: region %q", f.ID, f.Extra["region"])
		}
	}

	p.TrustAnchors.FlagDisabledExpired = false
	p.TrustAnchors.ExpiryWarning = policy.Duration(15 * day)
	got = summary(Evaluate(p, snap, now))
	want = []string{
		"trust-anchor-expired/111111111111/ta-dead high",
		"trust-anchor-unreadable/111111111111/ta-bad low",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with a 15d warning and disabled anchors not flagged (-want +got):\n%s", diff)
	}

	rows := map[string]Credential{}
	for _, c := range Credentials(policy.Default(), snap, now) {
		if c.Kind == KindTrustAnchor {
			rows[c.Name] = c
		}
	}
	if len(rows) != 9 {
		t.Fatalf("%d trust anchor rows, want 9", len(rows))
	}
	if r := rows["rotated"]; r.Expires == nil || !r.Expires.Equal(daysAgo(-300)) || r.DueAction != "renew-ca" || !r.NextDue.Equal(daysAgo(-255)) || r.Status != "Enabled" {
		t.Errorf("rotated row %+v", r)
	}
	if r := rows["off"]; r.Status != "Disabled" || r.DueAction != "delete" {
		t.Errorf("off row %+v", r)
	}
	if r := rows["pca"]; r.Expires != nil || r.NextDue != nil {
		t.Errorf("a PCA anchor's expiry is not known: %+v", r)
	}
}
