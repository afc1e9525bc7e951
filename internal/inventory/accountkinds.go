package inventory

import "time"

// The account's and regions' long-term credentials besides its users':
// IAM server certificates, ACM certificates, Secrets Manager secrets,
// IAM Roles Anywhere trust anchors. They live on Account
// (ServerCertificates, Certificates, Secrets, TrustAnchors).

// ServerCertificate is an IAM server certificate (ListServerCertificates).
type ServerCertificate struct {
	Name       string    `json:"name"`
	ID         string    `json:"id,omitempty"`
	ARN        string    `json:"arn,omitempty"`
	Path       string    `json:"path,omitempty"`
	UploadDate time.Time `json:"upload_date"`
	Expiration time.Time `json:"expiration"`
}

// Certificate is an ACM certificate as ListCertificates summarizes it.
type Certificate struct {
	ARN        string `json:"arn"`
	Region     string `json:"region"`
	DomainName string `json:"domain_name"`
	// Type is AMAZON_ISSUED, IMPORTED or PRIVATE.
	Type string `json:"type"`
	// Status is ISSUED, EXPIRED, PENDING_VALIDATION, ...
	Status       string `json:"status"`
	KeyAlgorithm string `json:"key_algorithm,omitempty"`
	InUse        bool   `json:"in_use"`
	// RenewalEligibility is ELIGIBLE or INELIGIBLE.
	RenewalEligibility string    `json:"renewal_eligibility,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	NotAfter           time.Time `json:"not_after"`
}

// Imported reports whether the certificate was imported (ACM never renews those).
func (c Certificate) Imported() bool { return c.Type == "IMPORTED" }

// Secret is a Secrets Manager secret as ListSecrets describes it. It holds
// no secret value.
type Secret struct {
	ARN    string            `json:"arn"`
	Name   string            `json:"name"`
	Region string            `json:"region"`
	Tags   map[string]string `json:"tags,omitempty"`
	// OwningService is set for secrets another AWS service manages (RDS, ...).
	OwningService    string     `json:"owning_service,omitempty"`
	CreatedDate      time.Time  `json:"created_date"`
	LastChangedDate  *time.Time `json:"last_changed_date,omitempty"`
	LastAccessedDate *time.Time `json:"last_accessed_date,omitempty"`
	RotationEnabled  bool       `json:"rotation_enabled"`
	// RotationLambdaARN is the rotation function; empty when none was ever set.
	RotationLambdaARN string `json:"rotation_lambda_arn,omitempty"`
	// RotationDays is RotationRules.AutomaticallyAfterDays (0: none or a schedule expression).
	RotationDays     int        `json:"rotation_days,omitempty"`
	LastRotatedDate  *time.Time `json:"last_rotated_date,omitempty"`
	NextRotationDate *time.Time `json:"next_rotation_date,omitempty"`
	// PendingVersion is true when a version holds AWSPENDING without
	// AWSCURRENT: a rotation started and did not finish.
	PendingVersion bool `json:"pending_version,omitempty"`
	// KeyrotStore is true for a secret keyrot wrote to hold an IAM user's
	// access key (tagged keyrot:user): its lifecycle is the key's.
	KeyrotStore bool `json:"keyrot_store,omitempty"`
	// DeletedDate is set when the secret is scheduled for deletion.
	DeletedDate *time.Time `json:"deleted_date,omitempty"`
}

// RotationConfigured reports whether the secret has a rotation function
// (RotateSecret can start a rotation).
func (s Secret) RotationConfigured() bool { return s.RotationLambdaARN != "" || s.OwningService != "" }

// KindsCollected records which account kinds were read, so a missing list
// is told apart from an empty one.
type KindsCollected struct {
	ServerCertificates bool     `json:"server_certificates,omitempty"`
	Certificates       bool     `json:"certificates,omitempty"`
	Secrets            bool     `json:"secrets,omitempty"`
	TrustAnchors       bool     `json:"trust_anchors,omitempty"`
	Regions            []string `json:"regions,omitempty"`
	// SecretRegions are the regions whose secrets were all listed.
	SecretRegions []string `json:"secret_regions,omitempty"`
}

// TrustAnchor is an IAM Roles Anywhere trust anchor as ListTrustAnchors
// describes it: the certificate authority that workloads outside AWS
// present certificates from to obtain temporary credentials.
type TrustAnchor struct {
	ARN     string `json:"arn"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Region  string `json:"region"`
	Enabled bool   `json:"enabled"`
	// SourceType is CERTIFICATE_BUNDLE, AWS_ACM_PCA or SELF_SIGNED_REPOSITORY.
	SourceType string `json:"source_type"`
	// PCAARN is the private CA of an AWS_ACM_PCA source. Its certificate
	// is not in the listing (it takes acm-pca:GetCertificateAuthorityCertificate),
	// so CACertificates is empty and the expiry is unknown.
	PCAARN string `json:"pca_arn,omitempty"`
	// CACertificates are the certificates of a CERTIFICATE_BUNDLE source.
	CACertificates []CACertificate `json:"ca_certificates,omitempty"`
	// BundleError says why the bundle could not be read; empty when it could.
	BundleError string    `json:"bundle_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CACertificate is one certificate of a trust anchor's bundle.
type CACertificate struct {
	Subject   string    `json:"subject"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// Expiry returns when the anchor's last CA certificate expires (after
// that no certificate chains to the anchor); ok is false when no
// certificate is known.
func (t TrustAnchor) Expiry() (last time.Time, ok bool) {
	for _, c := range t.CACertificates {
		if !ok || c.NotAfter.After(last) {
			last, ok = c.NotAfter, true
		}
	}
	return last, ok
}

// FirstExpiry returns the earliest NotAfter of the anchor's CA
// certificates and that certificate; ok is false when none is known.
func (t TrustAnchor) FirstExpiry() (c CACertificate, ok bool) {
	for _, x := range t.CACertificates {
		if !ok || x.NotAfter.Before(c.NotAfter) {
			c, ok = x, true
		}
	}
	return c, ok
}
