package policy

import (
	"fmt"
	"path"
	"strings"
)

// The policy of an account's other long-term credentials: IAM server
// certificates, ACM certificates, Secrets Manager secrets and IAM Roles
// Anywhere trust anchors.

// EnabledRegions, as the only entry of a kind's regions, reads the kind in
// every region enabled for each account (discovered once per account with
// account:ListRegions).
const EnabledRegions = "enabled"

// ServerCertificates is the policy for IAM server certificates.
type ServerCertificates struct {
	// ExpiryWarning flags a certificate expiring within this; an expired
	// one is always flagged (CIS 1.19 v3.0.0 asks to remove them).
	ExpiryWarning Duration `yaml:"expiry_warning"`
	// Exclude are certificate names (path.Match globs) not judged.
	Exclude []string `yaml:"exclude"`
}

// Certificates is the policy for ACM certificates.
type Certificates struct {
	// ExpiryWarning flags a certificate expiring within this (Security Hub ACM.1, 30 days).
	ExpiryWarning Duration `yaml:"expiry_warning"`
	// FlagImported flags imported certificates, which ACM never renews.
	FlagImported bool `yaml:"flag_imported"`
	// FlagUnused flags issued certificates no AWS resource uses.
	FlagUnused bool `yaml:"flag_unused"`
	// Regions are read with ListCertificates; empty means the region
	// keyrot is configured with (AWS_REGION or the profile's), [enabled]
	// every region enabled for the account.
	Regions []string `yaml:"regions"`
	// Exclude are domain names (path.Match globs) not judged.
	Exclude []string `yaml:"exclude"`
}

// Secrets is the policy for Secrets Manager secrets.
type Secrets struct {
	// RequireRotation flags a secret without automatic rotation (SecretsManager.1).
	RequireRotation bool `yaml:"require_rotation"`
	// RotateEvery is the longest a secret may go unrotated (SecretsManager.4,
	// 90 days) unless a schedule says otherwise.
	RotateEvery Duration `yaml:"rotate_every"`
	// UnusedAfter flags a secret not read for this long (SecretsManager.3, 90 days).
	UnusedAfter Duration `yaml:"unused_after"`
	// Schedules set RotateEvery for the secrets they match, first match
	// wins: database credentials 60 days, third-party API keys 180 days.
	Schedules []SecretSchedule `yaml:"schedules"`
	// Regions are read with ListSecrets; empty means keyrot's region,
	// [enabled] every region enabled for the account.
	Regions []string `yaml:"regions"`
	// Exclude are secret names (path.Match globs) not judged.
	Exclude []string `yaml:"exclude"`
}

// TrustAnchors is the policy for IAM Roles Anywhere trust anchors: the
// certificate authorities that workloads outside AWS present certificates
// from to obtain temporary credentials.
type TrustAnchors struct {
	// ExpiryWarning flags an enabled trust anchor whose last CA
	// certificate expires within this (45 days, the default threshold of
	// Roles Anywhere's own CA expiry notification).
	ExpiryWarning Duration `yaml:"expiry_warning"`
	// FlagDisabledExpired flags a disabled trust anchor that still holds
	// an expired CA certificate: it should be deleted, not kept.
	FlagDisabledExpired bool `yaml:"flag_disabled_expired"`
	// Regions are read with ListTrustAnchors; empty means keyrot's region,
	// [enabled] every region enabled for the account.
	Regions []string `yaml:"regions"`
	// Exclude are trust anchor names (path.Match globs) not judged.
	Exclude []string `yaml:"exclude"`
}

// SecretSchedule is a rotation period for the secrets it matches.
type SecretSchedule struct {
	// Name is a path.Match glob on the secret's name, such as "*/db/*".
	Name string `yaml:"name"`
	// Tag is "key" (present) or "key=value" on the secret's tags.
	Tag string `yaml:"tag"`
	// RotateEvery is the schedule.
	RotateEvery Duration `yaml:"rotate_every"`
	// Reason says where the period comes from.
	Reason string `yaml:"reason"`
}

// Matches reports whether the schedule applies to a secret of this name and tags.
func (s SecretSchedule) Matches(name string, tags map[string]string) bool {
	if s.Name == "" && s.Tag == "" {
		return false
	}
	if s.Name != "" {
		if ok, _ := path.Match(s.Name, name); !ok {
			return false
		}
	}
	if s.Tag != "" {
		k, v, hasValue := strings.Cut(s.Tag, "=")
		got, ok := tags[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// SecretRotateEvery returns the rotation period of a secret and the
// setting it comes from.
func (p *Policy) SecretRotateEvery(name string, tags map[string]string) (Duration, string) {
	for i, s := range p.Secrets.Schedules {
		if s.Matches(name, tags) {
			return s.RotateEvery, fmt.Sprintf("secrets.schedules[%d]", i)
		}
	}
	return p.Secrets.RotateEvery, "secrets.rotate_every"
}

// Excluded reports whether name matches one of the globs.
func Excluded(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// defaultAccountKinds sets the defaults of the account kinds' sections.
func defaultAccountKinds(p *Policy) {
	p.ServerCertificates = ServerCertificates{ExpiryWarning: Duration(30 * day)}
	p.Certificates = Certificates{ExpiryWarning: Duration(30 * day), FlagImported: true, FlagUnused: true}
	p.TrustAnchors = TrustAnchors{ExpiryWarning: Duration(45 * day), FlagDisabledExpired: true}
	p.Secrets = Secrets{
		RequireRotation: true, RotateEvery: Duration(90 * day), UnusedAfter: Duration(90 * day),
		Schedules: []SecretSchedule{
			{Tag: "credential-kind=database", RotateEvery: Duration(60 * day), Reason: "database credentials: 60 days (AWS SEC02-BP05)"},
			{Tag: "credential-kind=api-key", RotateEvery: Duration(180 * day), Reason: "third-party API keys: 180 days (AWS SEC02-BP05)"},
		},
	}
}

// accountKinds checks the account kinds' sections.
func (v *validator) accountKinds() {
	p := v.p
	positive := func(path string, d Duration) {
		if d <= 0 {
			v.add(path, "must be more than 0 (got %s)", d)
		}
	}
	positive("server_certificates.expiry_warning", p.ServerCertificates.ExpiryWarning)
	positive("certificates.expiry_warning", p.Certificates.ExpiryWarning)
	positive("trust_anchors.expiry_warning", p.TrustAnchors.ExpiryWarning)
	positive("secrets.rotate_every", p.Secrets.RotateEvery)
	positive("secrets.unused_after", p.Secrets.UnusedAfter)
	if d := p.Secrets.RotateEvery; d > 0 && (!d.WholeDays() || d.Days() > 1000) {
		v.add("secrets.rotate_every", "must be whole days up to 1000d, as Secrets Manager schedules are (got %s)", d)
	}
	for i, s := range p.Secrets.Schedules {
		sp := fmt.Sprintf("secrets.schedules[%d]", i)
		if s.Name == "" && s.Tag == "" {
			v.add(sp, "needs a name glob or a tag to match")
		}
		if _, err := path.Match(s.Name, ""); err != nil {
			v.add(sp+".name", "bad glob %q: %v", s.Name, err)
		}
		if s.RotateEvery <= 0 || !s.RotateEvery.WholeDays() || s.RotateEvery.Days() > 1000 {
			v.add(sp+".rotate_every", "must be whole days from 1d to 1000d (got %s)", s.RotateEvery)
		}
	}
	globs := func(at string, gs []string) {
		for i, g := range gs {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				v.add(fmt.Sprintf("%s[%d]", at, i), "bad glob %q", g)
			}
		}
	}
	globs("server_certificates.exclude", p.ServerCertificates.Exclude)
	globs("certificates.exclude", p.Certificates.Exclude)
	globs("secrets.exclude", p.Secrets.Exclude)
	globs("trust_anchors.exclude", p.TrustAnchors.Exclude)
	regions := func(path string, rs []string) {
		for i, r := range rs {
			if r == EnabledRegions {
				if len(rs) > 1 {
					v.add(fmt.Sprintf("%s[%d]", path, i), "%s stands for every enabled region and must be the only entry", EnabledRegions)
				}
				continue
			}
			if !regionRE.MatchString(r) {
				v.add(fmt.Sprintf("%s[%d]", path, i), "must be an AWS region such as eu-west-1, or enabled (got %q)", r)
			}
		}
	}
	regions("certificates.regions", p.Certificates.Regions)
	regions("secrets.regions", p.Secrets.Regions)
	regions("trust_anchors.regions", p.TrustAnchors.Regions)
}
