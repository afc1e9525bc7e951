package sandbox

import (
	"errors"
	"os"
	"testing"
)

// FuzzCredentialBodies feeds arbitrary bodies to the parsers of uploaded
// SSH public keys and signing certificates: they never panic, and they
// refuse with one of IAM's documented error codes.
func FuzzCredentialBodies(f *testing.F) {
	for _, name := range []string{"rsa.pub", "cert1.pem"} {
		b, err := os.ReadFile("testdata/kinds/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA comment")
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, body string) {
		if fp, err := parseSSHPublicKey(body); err != nil {
			wantCode(t, err, "InvalidPublicKey", "UnrecognizedPublicKeyEncoding")
		} else if len(fp) != 47 {
			t.Fatalf("fingerprint %q", fp)
		}
		if err := parseCertificate(body); err != nil {
			wantCode(t, err, "MalformedCertificate")
		}
	})
}

func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	for _, c := range codes {
		if ae.Code == c {
			return
		}
	}
	t.Fatalf("code %s, want one of %v", ae.Code, codes)
}
