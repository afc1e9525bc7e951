package sandbox

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ScenarioServerCertificate is an IAM server certificate (metadata only).
type ScenarioServerCertificate struct {
	Name string `yaml:"name" json:"name"`
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Age is how long ago it was uploaded (default 300d).
	Age string `yaml:"age,omitempty" json:"age,omitempty"`
	// ExpiresIn is how long until it expires; Expired how long ago it did.
	// One of the two (default expires_in 365d).
	ExpiresIn string `yaml:"expires_in,omitempty" json:"expires_in,omitempty"`
	Expired   string `yaml:"expired,omitempty" json:"expired,omitempty"`
}

// ScenarioCertificate is an ACM certificate.
type ScenarioCertificate struct {
	Domain string   `yaml:"domain" json:"domain"`
	SANs   []string `yaml:"sans,omitempty" json:"sans,omitempty"`
	// Region is us-east-1 by default.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Type is AMAZON_ISSUED (default), IMPORTED or PRIVATE.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// KeyAlgorithm is RSA_2048 by default.
	KeyAlgorithm string `yaml:"key_algorithm,omitempty" json:"key_algorithm,omitempty"`
	// Status is ISSUED by default (an issued certificate past its expiry
	// is listed as EXPIRED).
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// Age is how long ago it was issued or imported (default 300d).
	Age string `yaml:"age,omitempty" json:"age,omitempty"`
	// ExpiresIn is how long until it expires; Expired how long ago it did.
	ExpiresIn string `yaml:"expires_in,omitempty" json:"expires_in,omitempty"`
	Expired   string `yaml:"expired,omitempty" json:"expired,omitempty"`
	// InUseBy are ARNs of the resources using it (a load balancer, ...).
	InUseBy []string `yaml:"in_use_by,omitempty" json:"in_use_by,omitempty"`
}

// ScenarioSecret is a Secrets Manager secret.
type ScenarioSecret struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Region      string            `yaml:"region,omitempty" json:"region,omitempty"`
	Tags        map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Age is how long ago it was created (default 400d).
	Age string `yaml:"age,omitempty" json:"age,omitempty"`
	// LastAccessed is how long ago its value was last read; never when empty.
	LastAccessed string `yaml:"last_accessed,omitempty" json:"last_accessed,omitempty"`
	// Rotation, when set, configures rotation.
	Rotation *ScenarioSecretRotation `yaml:"rotation,omitempty" json:"rotation,omitempty"`
}

// ScenarioSecretRotation is a secret's rotation configuration and state.
type ScenarioSecretRotation struct {
	// Enabled is true by default; false keeps the previous configuration
	// with rotation turned off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Lambda is the rotation function's ARN (default one named after the secret).
	Lambda string `yaml:"lambda,omitempty" json:"lambda,omitempty"`
	// Every is the schedule, in whole days (AutomaticallyAfterDays; default 30d).
	Every string `yaml:"every,omitempty" json:"every,omitempty"`
	// LastRotated is how long ago the last rotation succeeded; never when empty.
	LastRotated string `yaml:"last_rotated,omitempty" json:"last_rotated,omitempty"`
	// Failed leaves an AWSPENDING version from a rotation that did not
	// finish, as a failing rotation function does.
	Failed bool `yaml:"failed,omitempty" json:"failed,omitempty"`
	// Outcome is what RotateSecret does when no handler is registered for
	// the function: succeed (default) or fail.
	Outcome string `yaml:"outcome,omitempty" json:"outcome,omitempty"`
}

// ScenarioTrustAnchor is an IAM Roles Anywhere trust anchor.
type ScenarioTrustAnchor struct {
	// Name is 1 to 255 letters, digits, spaces, - and _.
	Name string `yaml:"name" json:"name"`
	// Region is us-east-1 by default.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Enabled is true by default.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Source is CERTIFICATE_BUNDLE (default) or AWS_ACM_PCA.
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// PCAARN is the private CA of an AWS_ACM_PCA source (default one in
	// the account and region).
	PCAARN string `yaml:"pca_arn,omitempty" json:"pca_arn,omitempty"`
	// Age is how long ago it was created (default 300d).
	Age string `yaml:"age,omitempty" json:"age,omitempty"`
	// Certificates are the CA certificates of a CERTIFICATE_BUNDLE source,
	// made by the sandbox (default one valid for another 365 days).
	Certificates []ScenarioCACertificate `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	// Bundle, when set, is the source's certificate data as is (a damaged
	// bundle, ...), instead of Certificates.
	Bundle string `yaml:"bundle,omitempty" json:"bundle,omitempty"`
}

// ScenarioCACertificate is a CA certificate of a trust anchor's bundle.
type ScenarioCACertificate struct {
	// Subject is the certificate's common name (default the anchor's name).
	Subject string `yaml:"subject,omitempty" json:"subject,omitempty"`
	// Age is how long ago it became valid (default 300d); ExpiresIn how
	// long until it expires, Expired how long ago it did (default
	// expires_in 365d).
	Age       string `yaml:"age,omitempty" json:"age,omitempty"`
	ExpiresIn string `yaml:"expires_in,omitempty" json:"expires_in,omitempty"`
	Expired   string `yaml:"expired,omitempty" json:"expired,omitempty"`
}

// accountKinds builds the account's server certificates, ACM
// certificates, secrets, trust anchors and enabled regions from the scenario.
func (b *builder) accountKinds(path string, a *Account, spec ScenarioAccount) {
	b.serverCertificates(path+".server_certificates", a, spec.ServerCertificates)
	b.certificates(path+".certificates", a, spec.Certificates)
	b.secrets(path+".secrets", a, spec.Secrets)
	b.trustAnchors(path+".trust_anchors", a, spec.TrustAnchors)
	for i, r := range spec.OptInRegions {
		if !slices.Contains(optInRegions, r) {
			b.problem(fmt.Sprintf("%s.opt_in_regions[%d]", path, i), "%q is not an opt-in region (known: %s)", r, strings.Join(optInRegions, ", "))
			continue
		}
		if !slices.Contains(a.OptInRegions, r) {
			a.OptInRegions = append(a.OptInRegions, r)
		}
	}
}

var reTrustAnchorName = regexp.MustCompile(`^[ a-zA-Z0-9_-]{1,255}$`)

func (b *builder) trustAnchors(path string, a *Account, specs []ScenarioTrustAnchor) {
	for i, spec := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		region := cmp.Or(spec.Region, "us-east-1")
		if !regionRe.MatchString(region) {
			b.problem(p+".region", "invalid region %q", region)
			continue
		}
		if !reTrustAnchorName.MatchString(spec.Name) {
			b.problem(p+".name", "invalid trust anchor name %q (1 to 255 letters, digits, spaces, - and _)", spec.Name)
			continue
		}
		created := b.now.Add(-300 * day)
		if d, ok := b.age(p+".age", spec.Age); ok {
			created = b.now.Add(-d)
		}
		h := b.ids.from("0123456789abcdef", 32)
		id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		t := &TrustAnchor{
			ID: id, ARN: "arn:aws:rolesanywhere:" + region + ":" + a.ID + ":trust-anchor/" + id, Name: spec.Name,
			Enabled: spec.Enabled == nil || *spec.Enabled, SourceType: strings.ToUpper(cmp.Or(spec.Source, "CERTIFICATE_BUNDLE")),
			CreatedAt: created, UpdatedAt: created,
		}
		switch t.SourceType {
		case "AWS_ACM_PCA":
			t.PCAARN = cmp.Or(spec.PCAARN, "arn:aws:acm-pca:"+region+":"+a.ID+":certificate-authority/"+id)
			if len(spec.Certificates) > 0 || spec.Bundle != "" {
				b.problem(p+".certificates", "an AWS_ACM_PCA trust anchor has no certificate bundle")
			}
		case "CERTIFICATE_BUNDLE":
			if spec.Bundle != "" {
				t.Bundle = spec.Bundle
				break
			}
			certs := spec.Certificates
			if len(certs) == 0 {
				certs = []ScenarioCACertificate{{}}
			}
			for j, c := range certs {
				cp := p + ".certificates[" + strconv.Itoa(j) + "]"
				start, end := b.validity(cp, c.Age, c.ExpiresIn, c.Expired)
				pemCert, err := caCertificatePEM(cmp.Or(c.Subject, spec.Name), int64(b.ids.r.Uint32())+1, start, end)
				if err != nil {
					b.problem(cp, "%v", err)
					continue
				}
				t.Bundle += pemCert
			}
		default:
			b.problem(p+".source", "invalid source %q (want CERTIFICATE_BUNDLE or AWS_ACM_PCA)", spec.Source)
			continue
		}
		if a.TrustAnchors == nil {
			a.TrustAnchors = map[string]map[string]*TrustAnchor{}
		}
		if a.TrustAnchors[region] == nil {
			a.TrustAnchors[region] = map[string]*TrustAnchor{}
		}
		a.TrustAnchors[region][id] = t
	}
}

// validity returns a certificate's start and end from age, expires_in and expired.
func (b *builder) validity(path, age, expiresIn, expired string) (time.Time, time.Time) {
	start := b.now.Add(-300 * day)
	if d, ok := b.age(path+".age", age); ok {
		start = b.now.Add(-d)
	}
	end := b.now.Add(365 * day)
	switch {
	case expiresIn != "" && expired != "":
		b.problem(path+".expired", "give expires_in or expired, not both")
	case expired != "":
		if d, ok := b.age(path+".expired", expired); ok {
			end = b.now.Add(-d)
		}
	case expiresIn != "":
		if d, ok := b.age(path+".expires_in", expiresIn); ok {
			end = b.now.Add(d)
		}
	}
	if !end.After(start) {
		b.problem(path, "expires before it was issued")
	}
	return start, end
}

func (b *builder) serverCertificates(path string, a *Account, specs []ScenarioServerCertificate) {
	for i, spec := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if !reName.MatchString(spec.Name) || len(spec.Name) > 128 {
			b.problem(p+".name", "invalid server certificate name %q", spec.Name)
			continue
		}
		if a.ServerCertificates[spec.Name] != nil {
			b.problem(p+".name", "duplicate server certificate name %q", spec.Name)
			continue
		}
		cpath := b.iamPath(p+".path", spec.Path)
		start, end := b.validity(p, spec.Age, spec.ExpiresIn, spec.Expired)
		if a.ServerCertificates == nil {
			a.ServerCertificates = map[string]*ServerCertificate{}
		}
		a.ServerCertificates[spec.Name] = &ServerCertificate{
			Name: spec.Name, ID: b.ids.uniqueID("ASCA"), Path: cpath,
			ARN:        "arn:aws:iam::" + a.ID + ":server-certificate" + cpath + spec.Name,
			UploadDate: start, Expiration: end,
		}
	}
}

func (b *builder) certificates(path string, a *Account, specs []ScenarioCertificate) {
	for i, spec := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		region := cmp.Or(spec.Region, "us-east-1")
		if !regionRe.MatchString(region) {
			b.problem(p+".region", "invalid region %q", region)
			continue
		}
		if !sesDomainRe.MatchString(strings.TrimPrefix(spec.Domain, "*.")) {
			b.problem(p+".domain", "invalid domain name %q", spec.Domain)
			continue
		}
		c := &Certificate{
			DomainName: spec.Domain, SANs: spec.SANs, Type: strings.ToUpper(cmp.Or(spec.Type, "AMAZON_ISSUED")),
			Status: strings.ToUpper(cmp.Or(spec.Status, "ISSUED")), KeyAlgorithm: cmp.Or(spec.KeyAlgorithm, "RSA_2048"), InUseBy: spec.InUseBy,
		}
		if !slices.Contains(acmTypes, c.Type) {
			b.problem(p+".type", "invalid certificate type %q (want %s)", spec.Type, strings.Join(acmTypes, ", "))
		}
		if !slices.Contains(acmStatuses, c.Status) {
			b.problem(p+".status", "invalid certificate status %q (want %s)", spec.Status, strings.Join(acmStatuses, ", "))
		}
		if !slices.Contains(acmKeyAlgorithms, c.KeyAlgorithm) {
			b.problem(p+".key_algorithm", "invalid key algorithm %q (want %s)", spec.KeyAlgorithm, strings.Join(acmKeyAlgorithms, ", "))
		}
		c.NotBefore, c.NotAfter = b.validity(p, spec.Age, spec.ExpiresIn, spec.Expired)
		c.CreatedAt = c.NotBefore
		h := b.ids.from("0123456789abcdef", 32)
		c.ARN = "arn:aws:acm:" + region + ":" + a.ID + ":certificate/" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		if a.Certificates == nil {
			a.Certificates = map[string]map[string]*Certificate{}
		}
		if a.Certificates[region] == nil {
			a.Certificates[region] = map[string]*Certificate{}
		}
		a.Certificates[region][c.ARN] = c
	}
}

func (b *builder) secrets(path string, a *Account, specs []ScenarioSecret) {
	for i, spec := range specs {
		p := path + "[" + strconv.Itoa(i) + "]"
		region := cmp.Or(spec.Region, "us-east-1")
		if !regionRe.MatchString(region) {
			b.problem(p+".region", "invalid region %q", region)
			continue
		}
		if spec.Name == "" || len(spec.Name) > 512 {
			b.problem(p+".name", "invalid secret name %q", spec.Name)
			continue
		}
		if a.Secrets[region] == nil {
			a.Secrets[region] = map[string]*Secret{}
		}
		if a.Secrets[region][spec.Name] != nil {
			b.problem(p+".name", "duplicate secret name %q in %s", spec.Name, region)
			continue
		}
		created := b.now.Add(-400 * day)
		if d, ok := b.age(p+".age", spec.Age); ok {
			created = b.now.Add(-d)
		}
		sec := &Secret{
			ARN:  "arn:aws:secretsmanager:" + region + ":" + a.ID + ":secret:" + spec.Name + "-" + smRandSuffix(),
			Name: spec.Name, Description: spec.Description, CreatedDate: created, LastChangedDate: created,
			Versions: map[string]*SecretVersion{},
		}
		for _, k := range sortedKeys(spec.Tags) {
			sec.Tags = append(sec.Tags, Tag{Key: k, Value: spec.Tags[k]})
		}
		if d, ok := b.age(p+".last_accessed", spec.LastAccessed); ok {
			t := b.now.Add(-d).Truncate(day) // Secrets Manager keeps the date only
			sec.LastAccessedDate = &t
		}
		value := "scenario-" + b.ids.from("abcdefghijklmnopqrstuvwxyz0123456789", 24)
		current := &SecretVersion{ID: newRequestID(), String: &value, Stages: []string{smCurrent}, CreatedDate: created}
		sec.Versions[current.ID] = current
		if rs := spec.Rotation; rs != nil {
			rp := p + ".rotation"
			sec.RotationEnabled = rs.Enabled == nil || *rs.Enabled
			sec.RotationLambdaARN = cmp.Or(rs.Lambda, "arn:aws:lambda:"+region+":"+a.ID+":function:rotate-"+strings.NewReplacer("/", "-", "+", "-", "=", "-", ".", "-", "@", "-").Replace(spec.Name))
			sec.RotationDays = 30
			if d, ok := b.age(rp+".every", rs.Every); ok {
				if d%day != 0 || d < day || d > 1000*day {
					b.problem(rp+".every", "must be whole days from 1d to 1000d (AutomaticallyAfterDays), got %s", rs.Every)
				}
				sec.RotationDays = int(d / day)
			}
			if d, ok := b.age(rp+".last_rotated", rs.LastRotated); ok {
				t := b.now.Add(-d)
				if t.Before(created) {
					b.problem(rp+".last_rotated", "before the secret was created")
				}
				sec.LastRotatedDate = &t
				current.CreatedDate = t
			}
			switch rs.Outcome {
			case "", "succeed":
				sec.SimulatedRotation = "succeed"
			case "fail":
				sec.SimulatedRotation = "fail"
			default:
				b.problem(rp+".outcome", "invalid outcome %q (want succeed or fail)", rs.Outcome)
			}
			if rs.Failed {
				pending := "scenario-pending-" + b.ids.from("abcdefghijklmnopqrstuvwxyz0123456789", 24)
				v := &SecretVersion{ID: newRequestID(), String: &pending, Stages: []string{smPending}, CreatedDate: b.now.Add(-day)}
				sec.Versions[v.ID] = v
			}
		}
		a.Secrets[region][spec.Name] = sec
	}
}
