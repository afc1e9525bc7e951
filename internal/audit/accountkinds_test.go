package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestAccountKinds: certificates and secrets are judged against the
// policy: expired and expiring certificates, imported and unused ones,
// secrets without rotation, overdue (by NextRotationDate or by the
// schedule their tag selects), failed and unused, exclusions and the
// exempt tag on a secret.
func TestAccountKinds(t *testing.T) {
	snap := snapshot()
	a := &snap.Accounts[0]
	a.ServerCertificates = []inventory.ServerCertificate{
		{Name: "old", ARN: "arn:aws:iam::111111111111:server-certificate/old", UploadDate: daysAgo(800), Expiration: daysAgo(3)},
		{Name: "soon", ARN: "arn:aws:iam::111111111111:server-certificate/soon", UploadDate: daysAgo(300), Expiration: daysAgo(-20)},
		{Name: "fine", ARN: "arn:aws:iam::111111111111:server-certificate/fine", UploadDate: daysAgo(300), Expiration: daysAgo(-200)},
		{Name: "test-1", ARN: "arn:aws:iam::111111111111:server-certificate/test-1", UploadDate: daysAgo(300), Expiration: daysAgo(1)},
	}
	cert := func(arn, typ, status string, expiresIn int, inUse bool) inventory.Certificate {
		return inventory.Certificate{ARN: arn, Region: "eu-west-1", DomainName: arn + ".example.com", Type: typ, Status: status, InUse: inUse, CreatedAt: daysAgo(300), NotAfter: daysAgo(-expiresIn)}
	}
	a.Certificates = []inventory.Certificate{
		cert("www", "AMAZON_ISSUED", "ISSUED", 10, true),
		cert("api", "IMPORTED", "ISSUED", 200, true),
		cert("gone", "AMAZON_ISSUED", "EXPIRED", -2, false),
		cert("idle", "AMAZON_ISSUED", "ISSUED", 300, false),
	}
	a.Secrets = []inventory.Secret{
		{ARN: "db", Name: "prod/db", Region: "eu-west-1", Tags: map[string]string{"credential-kind": "database"}, CreatedDate: daysAgo(400),
			RotationEnabled: true, RotationLambdaARN: "fn", RotationDays: 90, LastRotatedDate: ptr(daysAgo(70)), NextRotationDate: ptr(daysAgo(-20)), LastAccessedDate: ptr(daysAgo(1))},
		{ARN: "failed", Name: "prod/failed", Region: "eu-west-1", CreatedDate: daysAgo(400), RotationEnabled: true, RotationLambdaARN: "fn", RotationDays: 30,
			LastRotatedDate: ptr(daysAgo(40)), NextRotationDate: ptr(daysAgo(10)), PendingVersion: true, LastAccessedDate: ptr(daysAgo(1))},
		{ARN: "api", Name: "vendor/api", Region: "eu-west-1", Tags: map[string]string{"credential-kind": "api-key"}, CreatedDate: daysAgo(150), LastAccessedDate: ptr(daysAgo(100))},
		{ARN: "legacy", Name: "legacy", Region: "eu-west-1", Tags: map[string]string{"keyrot:exempt": "owned by vendor"}, CreatedDate: daysAgo(400)},
		{ARN: "tmp", Name: "test/tmp", Region: "eu-west-1", CreatedDate: daysAgo(400)},
	}
	p := policy.Default()
	p.ServerCertificates.Exclude = []string{"test-*"}
	p.Secrets.Exclude = []string{"test/*"}
	got := summary(Evaluate(p, snap, now))
	want := []string{
		"certificate-expired/111111111111/gone high",
		"secret-rotation-failed/111111111111/failed high",
		"server-certificate-expired/111111111111/arn:aws:iam::111111111111:server-certificate/old high",
		"certificate-expiring/111111111111/www medium",
		"secret-rotation-disabled/111111111111/api medium",
		"secret-rotation-disabled/111111111111/legacy medium exempt(tag:keyrot:exempt)",
		"secret-rotation-overdue/111111111111/db medium",
		"secret-rotation-overdue/111111111111/failed medium",
		"secret-rotation-overdue/111111111111/legacy medium exempt(tag:keyrot:exempt)",
		"secret-unused/111111111111/api medium",
		"secret-unused/111111111111/legacy medium exempt(tag:keyrot:exempt)",
		"server-certificate-expiring/111111111111/arn:aws:iam::111111111111:server-certificate/soon medium",
		"certificate-imported/111111111111/api low",
		"certificate-unused/111111111111/idle low",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// The database schedule (60d) makes prod/db overdue although its own
	// NextRotationDate is 20 days away; vendor/api (180d) is not overdue at 150 days.
	for _, f := range Evaluate(p, snap, now).Findings {
		if f.Rule == policy.RuleSecretRotationOverdue && f.Extra["resource"] == "db" && f.Extra["schedule"] != "secrets.schedules[0]" {
			t.Errorf("prod/db schedule %q", f.Extra["schedule"])
		}
	}
	creds := Credentials(p, snap, now)
	kinds := map[string]int{}
	for _, c := range creds {
		kinds[c.Kind]++
		if c.Kind == KindSecret && c.ID == "db" && (c.NextDue == nil || !c.NextDue.Equal(daysAgo(10)) || c.Schedule != "secrets.schedules[0]") {
			t.Errorf("prod/db row: %+v", c)
		}
	}
	if kinds[KindServerCertificate] != 4 || kinds[KindACMCertificate] != 4 || kinds[KindSecret] != 5 {
		t.Errorf("inventory kinds %v", kinds)
	}
}
