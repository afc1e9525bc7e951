package collect

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseCABundle: a bundle of two PEM certificates with a comment
// before them gives both, with their subjects and validity; a bundle
// with a damaged certificate gives the good one and an error naming the
// other; text without a certificate is an error.
func TestParseCABundle(t *testing.T) {
	b, err := os.ReadFile("testdata/ca-bundle.pem")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCABundle(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 {
		t.Fatalf("%d certificates, want 2", len(certs))
	}
	if certs[0].Subject != "CN=Example Root CA 1,O=Example" || !certs[0].NotAfter.Equal(time.Date(2036, 11, 27, 0, 43, 36, 0, time.UTC)) ||
		certs[0].Serial != "10dd1bf11c255bf01dd85821a7d32d27e0877616" {
		t.Errorf("first certificate %+v", certs[0])
	}
	if certs[1].Subject != "CN=Example Root CA 2" || !certs[1].NotAfter.Equal(time.Date(2026, 12, 30, 0, 43, 36, 0, time.UTC)) {
		t.Errorf("second certificate %+v", certs[1])
	}

	// Damage the second certificate's DER (inside its base64).
	blocks := strings.SplitAfter(string(b), "-----END CERTIFICATE-----")
	second := strings.Replace(blocks[1], "MII", "MIA", 1)
	certs, err = ParseCABundle(blocks[0] + second)
	if len(certs) != 1 || err == nil || !strings.Contains(err.Error(), "certificate 2 of the bundle") {
		t.Errorf("damaged bundle: %d certificates, error %v", len(certs), err)
	}
	for _, in := range []string{"", "not a certificate", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if certs, err := ParseCABundle(in); err == nil || len(certs) != 0 {
			t.Errorf("ParseCABundle(%q) = %v, %v; want an error", in, certs, err)
		}
	}
}

// FuzzParseCABundle: any input gives certificates or an error, never a
// panic; every certificate returned has a validity period.
func FuzzParseCABundle(f *testing.F) {
	if b, err := os.ReadFile("testdata/ca-bundle.pem"); err == nil {
		f.Add(string(b))
	}
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, in string) {
		certs, err := ParseCABundle(in)
		if err == nil && len(certs) == 0 {
			t.Fatalf("no error and no certificate for %q", in)
		}
		if len(certs) > maxBundleCerts {
			t.Fatalf("%d certificates, more than %d", len(certs), maxBundleCerts)
		}
	})
}

// TestNotOffered: a host name that does not resolve (the service has no
// endpoint in the region), even wrapped by the SDK, is "not offered"; a
// refused call or another network failure is not.
func TestNotOffered(t *testing.T) {
	notFound := &net.DNSError{Err: "no such host", Name: "rolesanywhere.mx-central-1.amazonaws.com", IsNotFound: true}
	if !notOffered(fmt.Errorf("operation error RolesAnywhere: ListTrustAnchors, https response error: %w", notFound)) {
		t.Error("an unresolvable endpoint is not taken as the service not offered")
	}
	for _, err := range []error{nil, errors.New("AccessDeniedException"), &net.DNSError{Err: "server misbehaving", IsTemporary: true}} {
		if notOffered(err) {
			t.Errorf("notOffered(%v) = true", err)
		}
	}
}
