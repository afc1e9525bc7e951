package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"time"
)

// IAM Roles Anywhere (REST-JSON, signing name rolesanywhere): the subset
// keyrot reads. Trust anchors come from the scenario
// (ScenarioAccount.TrustAnchors); ListTrustAnchors lists an account's in
// one region, as the Roles Anywhere API reference documents it:
//
//	GET /trustanchors?nextToken=...&pageSize=... ->
//	{"nextToken": "...", "trustAnchors": [TrustAnchorDetail, ...]}
//
// TrustAnchorDetail (botocore rolesanywhere/2018-05-10/service-2.json):
// trustAnchorId (a UUID), trustAnchorArn
// (arn:aws:rolesanywhere:region:account:trust-anchor/id), name, enabled,
// createdAt and updatedAt (ISO-8601 date-time), and source: sourceType
// AWS_ACM_PCA, CERTIFICATE_BUNDLE or SELF_SIGNED_REPOSITORY, with sourceData
// a union of x509CertificateData (the PEM CA certificate) and acmPcaArn.
// The reference gives pageSize no range; the sandbox serves at most 50 a
// page. Nothing here creates, updates or deletes trust anchors.

// TrustAnchor is an IAM Roles Anywhere trust anchor.
type TrustAnchor struct {
	ID      string `json:"id"`
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// SourceType is CERTIFICATE_BUNDLE or AWS_ACM_PCA.
	SourceType string `json:"source_type"`
	// Bundle is the PEM CA certificate data of a CERTIFICATE_BUNDLE source.
	Bundle string `json:"bundle,omitempty"`
	// PCAARN is the private CA of an AWS_ACM_PCA source.
	PCAARN    string    `json:"pca_arn,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var raSourceTypes = []string{"AWS_ACM_PCA", "CERTIFICATE_BUNDLE", "SELF_SIGNED_REPOSITORY"}

// raPageMax is the most trust anchors a ListTrustAnchors page holds.
const raPageMax = 50

func rolesAnywhereRoutes() []restRoute {
	return []restRoute{
		{Method: "GET", Path: "/trustanchors", Action: "ListTrustAnchors", H: raListTrustAnchors},
	}
}

func raErr(status int, code, format string, args ...any) error {
	return errf(status, code, format, args...)
}

type raSourceData struct {
	X509CertificateData string `json:"x509CertificateData,omitempty"`
	AcmPcaArn           string `json:"acmPcaArn,omitempty"`
}

type raSource struct {
	SourceType string       `json:"sourceType"`
	SourceData raSourceData `json:"sourceData"`
}

type raNotification struct {
	Channel      string `json:"channel"`
	ConfiguredBy string `json:"configuredBy"`
	Enabled      bool   `json:"enabled"`
	Event        string `json:"event"`
	Threshold    int    `json:"threshold"`
}

type raTrustAnchorDetail struct {
	TrustAnchorID        string           `json:"trustAnchorId"`
	TrustAnchorArn       string           `json:"trustAnchorArn"`
	Name                 string           `json:"name"`
	Enabled              bool             `json:"enabled"`
	Source               raSource         `json:"source"`
	CreatedAt            string           `json:"createdAt"`
	UpdatedAt            string           `json:"updatedAt"`
	NotificationSettings []raNotification `json:"notificationSettings"`
}

// raTime is Roles Anywhere's date-time: ISO-8601 in UTC.
func raTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (t *TrustAnchor) detail() raTrustAnchorDetail {
	d := raTrustAnchorDetail{
		TrustAnchorID: t.ID, TrustAnchorArn: t.ARN, Name: t.Name, Enabled: t.Enabled,
		Source:    raSource{SourceType: t.SourceType},
		CreatedAt: raTime(t.CreatedAt), UpdatedAt: raTime(t.UpdatedAt),
		// The defaults every trust anchor starts with: a CA and an
		// end-entity certificate expiry notice 45 days ahead.
		NotificationSettings: []raNotification{
			{Channel: "ALL", ConfiguredBy: "rolesanywhere.amazonaws.com", Enabled: true, Event: "CA_CERTIFICATE_EXPIRY", Threshold: 45},
			{Channel: "ALL", ConfiguredBy: "rolesanywhere.amazonaws.com", Enabled: true, Event: "END_ENTITY_CERTIFICATE_EXPIRY", Threshold: 45},
		},
	}
	switch t.SourceType {
	case "AWS_ACM_PCA":
		d.Source.SourceData.AcmPcaArn = t.PCAARN
	default:
		d.Source.SourceData.X509CertificateData = t.Bundle
	}
	return d
}

func raListTrustAnchors(r *request) (any, error) {
	q := r.http.URL.Query()
	size := raPageMax
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, raErr(400, "ValidationException", "Invalid pageSize: %s", v)
		}
		size = min(n, raPageMax)
	}
	var list []*TrustAnchor
	for _, t := range r.acct.TrustAnchors[r.region] {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	start, end, next, err := page(len(list), q.Get("nextToken"), size, raPageMax, raPageMax)
	if err != nil {
		return nil, raErr(400, "ValidationException", "Invalid nextToken")
	}
	out := struct {
		NextToken    string                `json:"nextToken,omitempty"`
		TrustAnchors []raTrustAnchorDetail `json:"trustAnchors"`
	}{NextToken: next, TrustAnchors: []raTrustAnchorDetail{}}
	for _, t := range list[start:end] {
		out.TrustAnchors = append(out.TrustAnchors, t.detail())
	}
	return out, nil
}

// caCertificatePEM makes a self-signed CA certificate valid from
// notBefore to notAfter, PEM-encoded (its key is thrown away).
func caCertificatePEM(subject string, serial int64, notBefore, notAfter time.Time) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate CA key: %w", err)
	}
	// X.509 times are whole seconds: round the end up, so that a
	// certificate made to expire in 25 days does not expire in 24.99.
	end := notAfter.UTC().Truncate(time.Second)
	if end.Before(notAfter) {
		end = end.Add(time.Second)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: subject},
		NotBefore: notBefore.UTC().Truncate(time.Second), NotAfter: end,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", fmt.Errorf("create CA certificate: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}
