package sandbox

import (
	"sort"
	"strings"
	"time"
)

// IAM server certificates. They come from the scenario
// (ScenarioAccount.ServerCertificates); ListServerCertificates lists their
// metadata as the IAM API reference documents
// (ServerCertificateMetadataList: Path, ServerCertificateName,
// ServerCertificateId, Arn, UploadDate, Expiration; IsTruncated, Marker).

// ServerCertificate is an IAM server certificate (its metadata; the
// sandbox keeps no certificate body).
type ServerCertificate struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Path       string    `json:"path"`
	ARN        string    `json:"arn"`
	UploadDate time.Time `json:"upload_date"`
	Expiration time.Time `json:"expiration"`
}

func iamServerCertActions() map[string]handler {
	return map[string]handler{"ListServerCertificates": iamListServerCertificates}
}

type xmlServerCertMetadata struct {
	Path                  string `xml:"Path"`
	ServerCertificateName string `xml:"ServerCertificateName"`
	ServerCertificateID   string `xml:"ServerCertificateId"`
	Arn                   string `xml:"Arn"`
	UploadDate            string `xml:"UploadDate"`
	Expiration            string `xml:"Expiration"`
}

type iamListServerCertsResult struct {
	List        []xmlServerCertMetadata `xml:"ServerCertificateMetadataList>member"`
	IsTruncated bool                    `xml:"IsTruncated"`
	Marker      string                  `xml:"Marker,omitempty"`
}

func iamListServerCertificates(r *request) (any, error) {
	prefix, err := r.pathPrefixParam()
	if err != nil {
		return nil, err
	}
	var certs []*ServerCertificate
	for _, c := range r.acct.ServerCertificates {
		if strings.HasPrefix(c.Path, prefix) {
			certs = append(certs, c)
		}
	}
	sort.Slice(certs, func(i, j int) bool { return certs[i].Name < certs[j].Name })
	start, end, next, err := r.pageParams(len(certs))
	if err != nil {
		return nil, err
	}
	out := iamListServerCertsResult{List: []xmlServerCertMetadata{}, IsTruncated: next != "", Marker: next}
	for _, c := range certs[start:end] {
		out.List = append(out.List, xmlServerCertMetadata{
			Path: c.Path, ServerCertificateName: c.Name, ServerCertificateID: c.ID, Arn: c.ARN,
			UploadDate: xmlTime(c.UploadDate), Expiration: xmlTime(c.Expiration),
		})
	}
	return out, nil
}
