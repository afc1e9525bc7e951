package collect

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// selfSigned returns a PEM certificate and key for domain valid until notAfter.
func selfSigned(t *testing.T, domain string, notAfter time.Time, ec bool) (certPEM, keyPEM []byte) {
	t.Helper()
	var pub, priv any
	if ec {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// TestMotoAccountKinds: the collector reads IAM server certificates, ACM
// certificates of every key type and secrets' rotation facts from moto,
// an independent implementation of the same APIs as the sandbox.
func TestMotoAccountKinds(t *testing.T) {
	ctx := context.Background()
	cfg := motoConfig(startMoto(t))
	expires := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	cert, key := selfSigned(t, "legacy.example.com", expires, false)
	if _, err := iam.NewFromConfig(cfg).UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String("legacy"), CertificateBody: aws.String(string(cert)), PrivateKey: aws.String(string(key))}); err != nil {
		t.Fatal(err)
	}
	ac := acm.NewFromConfig(cfg)
	for _, c := range []struct {
		domain string
		ec     bool
	}{{"rsa.example.com", false}, {"ec.example.com", true}} {
		cert, key := selfSigned(t, c.domain, expires, c.ec)
		if _, err := ac.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key}); err != nil {
			t.Fatalf("import %s: %v", c.domain, err)
		}
	}
	sm := secretsmanager.NewFromConfig(cfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/db"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}

	certs, err := listServerCertificates(ctx, iam.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	// moto 5 answers ListServerCertificates with fixed dates (UploadDate
	// 2010-05-08, Expiration 2012-05-08) whatever was uploaded, so only the
	// names are compared; the sandbox's dates are checked against the IAM
	// API reference in internal/sandbox.
	if len(certs) != 1 || certs[0].Name != "legacy" || certs[0].ARN != "arn:aws:iam::123456789012:server-certificate/legacy" || certs[0].Expiration.IsZero() {
		t.Errorf("server certificates from moto: %+v", certs)
	}
	acmCerts, err := listCertificates(ctx, ac, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range acmCerts {
		got[c.DomainName] = c.Type + " " + c.KeyAlgorithm + " " + c.NotAfter.UTC().Format(time.RFC3339)
	}
	want := map[string]string{
		"rsa.example.com": "IMPORTED RSA_2048 " + expires.UTC().Format(time.RFC3339),
		"ec.example.com":  "IMPORTED EC_secp384r1 " + expires.UTC().Format(time.RFC3339),
	}
	if !maps.Equal(got, want) {
		t.Errorf("ACM certificates from moto with every key type: %v, want %v", got, want)
	}
	// moto 5 does not apply ACM's documented default filter (RSA_1024 and
	// RSA_2048 only without Includes.keyTypes): it lists every key type
	// either way. The sandbox follows the ACM API reference
	// (TestACMListCertificates); keyrot names every key type, so both agree.
	secs, err := listSecrets(ctx, sm, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 1 || secs[0].Name != "app/db" || secs[0].RotationEnabled || secs[0].PendingVersion || secs[0].CreatedDate.IsZero() {
		t.Errorf("secrets from moto: %+v", secs)
	}
}
