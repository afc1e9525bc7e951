package audit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

func cred(id, service string, created int, status inventory.KeyStatus) inventory.ServiceCredential {
	return inventory.ServiceCredential{ID: id, Service: service, Status: status, CreateDate: daysAgo(created)}
}

func expiring(c inventory.ServiceCredential, lifeDays int) inventory.ServiceCredential {
	t := c.CreateDate.Add(time.Duration(lifeDays) * 24 * time.Hour)
	c.ExpirationDate = &t
	return c
}

func TestIAMKindRules(t *testing.T) {
	strong := &inventory.PasswordPolicy{Exists: true, MinimumPasswordLength: 14, PasswordReusePrevention: 24,
		RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, RequireNumbers: true, RequireSymbols: true}
	tests := []struct {
		name   string
		user   inventory.User
		policy *inventory.PasswordPolicy
		change func(*policy.Policy)
		want   []string
	}{
		{name: "young credentials pass", user: inventory.User{Name: "u", ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceCodeCommit, 90, inventory.KeyActive),
			expiring(cred("ACCA2", inventory.ServiceBedrock, 10, inventory.KeyActive), 30),
		}}, policy: strong},
		{name: "old credential, high past deactivation", user: inventory.User{Name: "u", ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceCodeCommit, 91, inventory.KeyActive),
			cred("ACCA2", inventory.ServiceKeyspaces, 101, inventory.KeyActive),
		}}, policy: strong, want: []string{
			"service-credential-age/111111111111/u/ACCA2 high",
			"service-credential-age/111111111111/u/ACCA1 medium",
		}},
		{name: "inactive credential lingering, expired one ignored", user: inventory.User{Name: "u", ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceCodeCommit, 111, inventory.KeyInactive),
			expiring(cred("ACCA2", inventory.ServiceBedrock, 400, inventory.KeyExpired), 30),
		}}, policy: strong, want: []string{"service-credential-inactive-lingering/111111111111/u/ACCA1 low"}},
		{name: "bedrock key without expiry, and one living too long", user: inventory.User{Name: "u", ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceBedrock, 5, inventory.KeyActive),
			expiring(cred("ACCA2", inventory.ServiceBedrock, 5, inventory.KeyActive), 365),
		}}, policy: strong, want: []string{
			"bedrock-api-key-no-expiry/111111111111/u/ACCA1 high",
			"bedrock-api-key-lifetime/111111111111/u/ACCA2 medium",
		}},
		{name: "expiry not required", user: inventory.User{Name: "u", ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceBedrock, 5, inventory.KeyActive),
		}}, policy: strong, change: func(p *policy.Policy) { p.ServiceCredentials.RequireAPIKeyExpiry = false }},
		{name: "certificates and SSH keys", user: inventory.User{Name: "u",
			SigningCertificates: []inventory.SigningCertificate{
				{Slot: 1, Status: inventory.KeyActive, UploadDate: daysAgo(91)},
				{ID: "CERT2", Slot: 2, Status: inventory.KeyInactive, UploadDate: daysAgo(111)},
			},
			SSHPublicKeys: []inventory.SSHPublicKey{
				{ID: "APKA1", Status: inventory.KeyActive, UploadDate: daysAgo(200)},
				{ID: "APKA2", Status: inventory.KeyInactive, UploadDate: daysAgo(100)},
			}}, policy: strong, want: []string{
			"signing-certificate-age/111111111111/u/cert1 medium",
			"ssh-key-age/111111111111/u/APKA1 medium",
			"signing-certificate-inactive-lingering/111111111111/u/CERT2 low",
		}},
		{name: "password older than the account's maximum", user: inventory.User{Name: "u", Password: &inventory.Password{Enabled: true, LastChanged: ptr(daysAgo(61)), LastUsed: ptr(daysAgo(1))}, MFAActive: true},
			policy: func() *inventory.PasswordPolicy { p := *strong; p.MaxPasswordAge = 60; return &p }(),
			want:   []string{"password-age/111111111111/u medium"}},
		{name: "password age: keyrot's maximum only where the account has none", user: inventory.User{Name: "u", Password: &inventory.Password{Enabled: true, LastChanged: ptr(daysAgo(100)), LastUsed: ptr(daysAgo(1))}, MFAActive: true},
			policy: strong, change: func(p *policy.Policy) { p.Passwords.MaxAge = policy.Duration(90 * 24 * time.Hour) },
			want: []string{"password-age/111111111111/u medium"}},
		{name: "no password policy", user: inventory.User{Name: "u"}, policy: &inventory.PasswordPolicy{},
			want: []string{"password-policy-missing/111111111111 medium"}},
		{name: "policy not read: nothing judged", user: inventory.User{Name: "u"}},
		{name: "weak policy", user: inventory.User{Name: "u"}, policy: &inventory.PasswordPolicy{Exists: true, MinimumPasswordLength: 8, PasswordReusePrevention: 24, RequireNumbers: true},
			want: []string{"password-policy-weak/111111111111 medium"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			if tt.change != nil {
				tt.change(p)
			}
			u := tt.user
			u.Path, u.CreateDate = "/", daysAgo(400)
			snap := snapshot(u)
			snap.Accounts[0].PasswordPolicy = tt.policy
			got := summary(Evaluate(p, snap, now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWeakPasswordPolicyControls: a weak policy fails only the controls of
// its shortfalls, and the compliance summary counts the others as passed.
func TestWeakPasswordPolicyControls(t *testing.T) {
	snap := snapshot(inventory.User{Name: "u", CreateDate: daysAgo(400)})
	snap.Accounts[0].PasswordPolicy = &inventory.PasswordPolicy{Exists: true, MinimumPasswordLength: 8, PasswordReusePrevention: 24,
		RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, RequireNumbers: true, RequireSymbols: true}
	res := Evaluate(policy.Default(), snap, now)
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", summary(res))
	}
	f := res.Findings[0]
	want := Controls{CISv3: []string{"1.8"}, CISv5: []string{"1.7"}, SecurityHub: []string{"IAM.15"}}
	if diff := cmp.Diff(want, f.Controls); diff != "" {
		t.Errorf("controls (-want +got):\n%s", diff)
	}
	if f.Evidence.Detail != "the account password policy minimum length 8 (want 14 or more)" {
		t.Errorf("detail %q", f.Evidence.Detail)
	}
	// An exemption of the account covers it.
	p := policy.Default()
	p.Exemptions = []policy.Exemption{{Match: policy.Match{Account: acct}, Reason: "SSO only", Expires: now.AddDate(1, 0, 0), Rules: []string{policy.RulePasswordPolicyWeak}}}
	if res := Evaluate(p, snap, now); !res.Findings[0].Exempt {
		t.Errorf("not exempt: %+v", res.Findings[0])
	}
}

// TestIAMKindRows: the inventory lists each kind with its next due date.
func TestIAMKindRows(t *testing.T) {
	u := inventory.User{Name: "u", CreateDate: daysAgo(400),
		ServiceCredentials: []inventory.ServiceCredential{
			cred("ACCA1", inventory.ServiceCodeCommit, 30, inventory.KeyActive),
			cred("ACCA2", inventory.ServiceBedrock, 5, inventory.KeyActive),
			cred("ACCA3", inventory.ServiceKeyspaces, 50, inventory.KeyInactive),
		},
		SigningCertificates: []inventory.SigningCertificate{{Slot: 1, Status: inventory.KeyActive, UploadDate: daysAgo(10)}},
		SSHPublicKeys:       []inventory.SSHPublicKey{{ID: "APKA1", Status: inventory.KeyActive, UploadDate: daysAgo(20)}},
	}
	var got []string
	for _, c := range Credentials(policy.Default(), snapshot(u), now) {
		if c.Owner != "u" {
			continue
		}
		got = append(got, c.Kind+" "+c.ID+" "+c.LastUse+" "+c.DueAction+" "+c.NextDue.Format("2006-01-02"))
	}
	want := []string{
		"bedrock-api-key ACCA2 not-tracked replace 2026-05-27",
		"service-specific-credential ACCA1 not-tracked rotate 2026-07-31",
		"service-specific-credential ACCA3 not-tracked delete 2026-07-31",
		"signing-certificate cert1 not-tracked rotate 2026-08-20",
		"ssh-public-key APKA1 not-tracked rotate 2026-08-10",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
