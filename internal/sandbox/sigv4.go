package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4Auth is a parsed SigV4 Authorization header (or presigned query).
type sigV4Auth struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
	AmzDate       string // X-Amz-Date
	SessionToken  string
	Presigned     bool
}

var errMissingAuth = errors.New("missing authentication")

// parseSigV4 extracts the SigV4 parameters from a request. It returns
// errMissingAuth when the request carries no signature at all.
func parseSigV4(r *http.Request) (*sigV4Auth, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		q := r.URL.Query()
		if q.Get("X-Amz-Algorithm") == "" {
			return nil, errMissingAuth
		}
		a := &sigV4Auth{Presigned: true, Signature: q.Get("X-Amz-Signature"), AmzDate: q.Get("X-Amz-Date"), SessionToken: q.Get("X-Amz-Security-Token")}
		if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
			return nil, fmt.Errorf("unsupported algorithm %q", q.Get("X-Amz-Algorithm"))
		}
		if err := a.setCredential(q.Get("X-Amz-Credential")); err != nil {
			return nil, err
		}
		a.SignedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		return a, nil
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, algo) {
		return nil, fmt.Errorf("unsupported authorization scheme")
	}
	a := &sigV4Auth{AmzDate: r.Header.Get("X-Amz-Date"), SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if a.AmzDate == "" {
		a.AmzDate = r.Header.Get("Date")
	}
	for _, part := range strings.Split(h[len(algo):], ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("malformed authorization header")
		}
		switch k {
		case "Credential":
			if err := a.setCredential(v); err != nil {
				return nil, err
			}
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKeyID == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return nil, fmt.Errorf("authorization header requires Credential, SignedHeaders and Signature")
	}
	return a, nil
}

func (a *sigV4Auth) setCredential(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return fmt.Errorf("credential should be scoped to a valid region and service: %q", v)
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// verify checks the signature with the given secret. body is the request
// payload already read from r.
func (a *sigV4Auth) verify(r *http.Request, body []byte, secret string) error {
	payloadHash := hashHex(body)
	if a.Presigned {
		// A presigned URL is signed over the payload hash its signer chose:
		// the SDKs' presigners use the empty body's hash for every service
		// but S3, which uses UNSIGNED-PAYLOAD; either is accepted, as AWS
		// does, and an X-Amz-Content-Sha256 query parameter names it.
		candidates := []string{payloadHash, "UNSIGNED-PAYLOAD"}
		if hv := r.URL.Query().Get("X-Amz-Content-Sha256"); hv != "" {
			candidates = []string{hv}
		}
		for _, h := range candidates {
			if a.signatureMatches(r, h, secret) {
				return nil
			}
		}
		return errSignatureMismatch
	}
	if hv := r.Header.Get("X-Amz-Content-Sha256"); hv != "" && hv != "UNSIGNED-PAYLOAD" {
		if hv != payloadHash {
			return fmt.Errorf("the provided x-amz-content-sha256 header does not match what was computed")
		}
	}
	if !a.signatureMatches(r, payloadHash, secret) {
		return errSignatureMismatch
	}
	return nil
}

// signatureMatches reports whether the request's signature is the one
// computed over payloadHash with secret.
func (a *sigV4Auth) signatureMatches(r *http.Request, payloadHash, secret string) bool {
	creq := canonicalRequest(r, a.SignedHeaders, payloadHash, a.Presigned)
	scope := strings.Join([]string{a.Date, a.Region, a.Service, "aws4_request"}, "/")
	sts := "AWS4-HMAC-SHA256\n" + a.AmzDate + "\n" + scope + "\n" + hashHex([]byte(creq))
	key := hmacSHA256([]byte("AWS4"+secret), a.Date)
	key = hmacSHA256(key, a.Region)
	key = hmacSHA256(key, a.Service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, sts))
	return hmac.Equal([]byte(want), []byte(strings.ToLower(a.Signature)))
}

var errSignatureMismatch = errors.New("signature mismatch")

// maxSkew is how far a request's signing time may be from the server's
// clock: AWS's 15 minutes.
const maxSkew = 15 * time.Minute

// maxPresignExpiry is the longest X-Amz-Expires SigV4 allows: seven days.
const maxPresignExpiry = 7 * 24 * time.Hour

// checkDate enforces AWS's 15-minute skew limit against the wall clock
// (for a presigned URL, the window is X-Amz-Expires after its date) and
// that the scope date matches the request date. Its messages are AWS's:
// "Signature expired: … is now earlier than …" and "Signature not yet
// current: … is still later than …". The caller answers them as
// SignatureDoesNotMatch (Query services) or InvalidSignatureException (JSON
// services), the codes the SDKs' clock-skew correction recognises.
func (a *sigV4Auth) checkDate(wall time.Time, expires string) error {
	t, err := time.Parse("20060102T150405Z", a.AmzDate)
	if err != nil {
		return fmt.Errorf("invalid X-Amz-Date %q", a.AmzDate)
	}
	if !strings.HasPrefix(a.AmzDate, a.Date) {
		return fmt.Errorf("credential scope date %s does not match request date %s", a.Date, a.AmzDate)
	}
	const layout = "20060102T150405Z"
	past := maxSkew
	if a.Presigned {
		secs, err := strconv.Atoi(expires)
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
			return fmt.Errorf("X-Amz-Expires must be between 1 and %d seconds", int(maxPresignExpiry/time.Second))
		}
		past = time.Duration(secs) * time.Second
	}
	wall = wall.UTC()
	switch d := wall.Sub(t); {
	case d > past:
		return fmt.Errorf("Signature expired: %s is now earlier than %s (%s - %s)", a.AmzDate, wall.Add(-past).Format(layout), wall.Format(layout), skewText(past))
	case d < -maxSkew:
		return fmt.Errorf("Signature not yet current: %s is still later than %s (%s + 15 min.)", a.AmzDate, wall.Add(maxSkew).Format(layout), wall.Format(layout))
	}
	return nil
}

// skewText writes a window as AWS's messages do: "15 min." for the skew.
func skewText(d time.Duration) string {
	if d == maxSkew {
		return "15 min."
	}
	return strconv.Itoa(int(d/time.Second)) + " sec."
}

func canonicalRequest(r *http.Request, signed []string, payloadHash string, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query(), presigned))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			vals = v
		} else {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vals = r.Header.Values(http.CanonicalHeaderKey(name))
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalURI URI-encodes the path a second time, as SigV4 requires for
// every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = awsEscape(s)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(q url.Values, presigned bool) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{awsEscape(k), awsEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes everything but RFC 3986 unreserved characters.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// globalServiceRegion is the region a global service's requests must be
// signed for in the aws partition: IAM's endpoint is global and accepts
// only credentials scoped to us-east-1, and so does Account Management's.
var globalServiceRegion = map[string]string{"iam": "us-east-1", "account": "us-east-1"}

// checkScope refuses a request to a global service signed for another
// region, with IAM's answer: SignatureDoesNotMatch, "Credential should be
// scoped to a valid region, not 'eu-west-1'. ".
func checkScope(a *sigV4Auth, proto protocol) *apiError {
	if want, ok := globalServiceRegion[a.Service]; ok && a.Region != want {
		return authError(proto, "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", a.Region))
	}
	return nil
}
