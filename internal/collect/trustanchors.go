package collect

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	ratypes "github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"

	"github.com/keyrot/keyrot/internal/inventory"
)

// IAM Roles Anywhere trust anchors.
//
// # Cost
//
// One ListTrustAnchors per account and region, a page per 50 trust
// anchors. Its TrustAnchorDetail carries the source: a CERTIFICATE_BUNDLE
// source holds the CA certificates themselves (x509CertificateData, PEM),
// so no other call is needed; an account that does not use Roles Anywhere
// answers with an empty list and costs nothing more.
//
// Roles Anywhere is not offered in every region: where it is not, its
// endpoint's name does not resolve. That answer means the service is not
// in use there, as an empty list does: no error, nothing more to read.
//
// An AWS_ACM_PCA source names the private CA only. Its certificate would
// take acm-pca:GetCertificateAuthorityCertificate, one call per anchor and
// a permission on the CA; keyrot does not call it: the private CA's expiry
// is ACM Private CA's to report (and its CA certificate is renewed there),
// so such an anchor is listed with an unknown expiry and judged on nothing
// else.

// RolesAnywhereAPI lists an account's trust anchors in one region.
type RolesAnywhereAPI interface {
	ListTrustAnchors(context.Context, *rolesanywhere.ListTrustAnchorsInput, ...func(*rolesanywhere.Options)) (*rolesanywhere.ListTrustAnchorsOutput, error)
}

var _ RolesAnywhereAPI = (*rolesanywhere.Client)(nil)

// trustAnchorPageSize is ListTrustAnchors' pageSize: 50, the most a page
// holds.
const trustAnchorPageSize = 50

func listTrustAnchors(ctx context.Context, c RolesAnywhereAPI, region string) ([]inventory.TrustAnchor, error) {
	var out []inventory.TrustAnchor
	p := rolesanywhere.NewListTrustAnchorsPaginator(c, &rolesanywhere.ListTrustAnchorsInput{PageSize: aws.Int32(trustAnchorPageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, d := range page.TrustAnchors {
			out = append(out, trustAnchor(d, region))
		}
	}
	return out, nil
}

func trustAnchor(d ratypes.TrustAnchorDetail, region string) inventory.TrustAnchor {
	t := inventory.TrustAnchor{
		ARN: aws.ToString(d.TrustAnchorArn), ID: aws.ToString(d.TrustAnchorId), Name: aws.ToString(d.Name), Region: region,
		Enabled: aws.ToBool(d.Enabled), CreatedAt: aws.ToTime(d.CreatedAt), UpdatedAt: aws.ToTime(d.UpdatedAt),
	}
	if d.Source == nil {
		t.BundleError = "the trust anchor has no source"
		return t
	}
	t.SourceType = string(d.Source.SourceType)
	switch v := d.Source.SourceData.(type) {
	case *ratypes.SourceDataMemberX509CertificateData:
		certs, err := ParseCABundle(v.Value)
		if err != nil {
			t.BundleError = err.Error()
		}
		t.CACertificates = certs
	case *ratypes.SourceDataMemberAcmPcaArn:
		t.PCAARN = v.Value
	default:
		if t.SourceType == string(ratypes.TrustAnchorTypeCertificateBundle) {
			t.BundleError = "the certificate bundle is missing from the listing"
		}
	}
	return t
}

// notOffered reports whether err says the service has no endpoint in the
// region (its host name does not resolve).
func notOffered(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// maxBundleCerts bounds the certificates read from one bundle.
const maxBundleCerts = 100

// errNoCertificate is a bundle without a single CERTIFICATE block.
var errNoCertificate = errors.New("no PEM CERTIFICATE block")

// ParseCABundle reads the CA certificates of a trust anchor's bundle: PEM
// CERTIFICATE blocks, other blocks and text between them ignored. It
// returns the certificates it could read and an error naming the first
// block it could not; a bundle with no certificate at all is an error.
func ParseCABundle(data string) ([]inventory.CACertificate, error) {
	rest := []byte(strings.TrimSpace(data))
	var (
		out  []inventory.CACertificate
		errs []error
		n    int
	)
	for len(rest) > 0 && n < maxBundleCerts {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("certificate %d of the bundle: %w", n, err))
			continue
		}
		out = append(out, inventory.CACertificate{
			Subject: c.Subject.String(), Serial: hex.EncodeToString(c.SerialNumber.Bytes()),
			NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		})
	}
	if n == 0 {
		return nil, errNoCertificate
	}
	return out, errors.Join(errs...)
}
