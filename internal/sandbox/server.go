// Package sandbox is a local, wire-compatible stand-in for the parts of AWS
// keyrot uses: IAM, STS, Organizations, Secrets Manager, KMS, SES v2, SNS, SSM
// Parameter Store, Lambda and DynamoDB. It speaks the services' own protocols
// (Query/XML, JSON 1.0 and 1.1, REST-JSON), checks SigV4 signatures against
// the credentials it issued, records access-key use the way IAM does, and
// exposes a control API under /_sandbox/ for scenarios, the clock, fault
// injection and inspection.
//
// The package deliberately imports no AWS SDK code: it implements the wire
// formats from AWS's documentation so that tests using the SDK check the SDK
// against an independent implementation.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes bounds request bodies; AWS rejects larger requests too.
const maxBodyBytes = 10 << 20

// Options configure a Server.
type Options struct {
	// AdminKeyID and AdminSecret are the management account's sandbox admin
	// credentials. Random when empty.
	AdminKeyID  string
	AdminSecret string
	// ManagementAccountID defaults to a random 12-digit ID.
	ManagementAccountID string
	Logger              *slog.Logger
	// Seed makes fault-injection randomness reproducible when non-zero.
	Seed uint64
	// Wall is the real-time clock STS session lifetimes follow (AWS's
	// temporary credentials expire in real time, whatever the sandbox
	// clock says); time.Now when nil. Tests set it to expire a session
	// without waiting.
	Wall func() time.Time
	// Permissive turns authorization off: every request is allowed (its
	// decision is still logged when the decision log is on).
	Permissive bool
}

// Server is the sandbox. It is safe for concurrent use.
type Server struct {
	log   *slog.Logger
	clock *Clock
	wall  func() time.Time // real time, for STS session expiry

	mu       sync.Mutex
	st       *State
	adminKey string
	adminSec string
	sessions map[string]*session // by temporary access key ID
	keyIdx   map[string]keyRef   // long-term keys by ID; see findKeyLocked
	counts   map[string]map[string]int
	// faulted counts the calls of counts that a fault answered.
	faulted map[string]map[string]int
	// spans are each account's first and last counted call (wall clock).
	spans  map[string]*CallSpan
	faults *faultSet

	routes map[string]map[string]handler // service -> action -> handler
	ses    []restRoute

	smRot smRotations // Secrets Manager rotation handlers (secrets_rotation.go)

	permissive bool        // authorization off (authz.go)
	policies   policyCache // parsed policy documents
	authz      authzLog    // the decision log
}

// session is a set of STS temporary credentials.
type session struct {
	AccessKeyID string `json:"access_key_id"`
	Secret      string `json:"-"`
	Token       string `json:"-"`
	AccountID   string `json:"account_id"`
	RoleName    string `json:"role_name"`
	SessionName string `json:"session_name"`
	ARN         string `json:"arn"`
	RoleID      string `json:"role_id"`
	// ExpiresWall is the real time the credentials expire: the issuing
	// response's Date plus the duration. The sandbox clock does not move it.
	ExpiresWall time.Time `json:"expires"`
	// SourceKey is the long-term key that assumed the role, if any.
	SourceKey string `json:"source_key,omitempty"`
}

// principal is who signed a request.
type principal struct {
	Kind      string // admin, user, root, session
	AccountID string
	UserName  string
	UserID    string
	ARN       string
	Key       *AccessKey
	Session   *session
}

// request is what a handler sees. The server's lock is held while a handler runs.
type request struct {
	http      *http.Request
	st        *State
	srv       *Server
	now       time.Time
	service   string
	action    string
	region    string
	caller    *principal
	acct      *Account // the caller's account
	form      url.Values
	body      []byte
	requestID string
	// authorized is set once the request passed authorization.
	authorized bool
	// pathParams are a REST route's {Name} path segments; status, when
	// set, replaces a REST operation's 200 (Lambda's CreateFunction: 201).
	pathParams map[string]string
	status     int
}

// handler serves one operation. It returns a value to encode (for Query
// services, the inside of <ActionResult>; nil for none) or an *apiError.
type handler func(*request) (any, error)

// restRoute is a REST-JSON (SES v2) operation.
type restRoute struct {
	Method, Path, Action string
	H                    handler
}

// New returns a Server with an empty organization that has only a
// management account.
func New(opts Options) *Server {
	s := &Server{
		log:        opts.Logger,
		clock:      NewClock(),
		adminKey:   opts.AdminKeyID,
		adminSec:   opts.AdminSecret,
		sessions:   map[string]*session{},
		counts:     map[string]map[string]int{},
		faults:     newFaultSet(opts.Seed),
		permissive: opts.Permissive,
		wall:       opts.Wall,
	}
	if s.wall == nil {
		s.wall = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.adminKey == "" {
		s.adminKey = newAccessKeyID("AKIA")
	}
	if s.adminSec == "" {
		s.adminSec = newSecretAccessKey()
	}
	mgmt := opts.ManagementAccountID
	if mgmt == "" {
		mgmt = newAccountID()
	}
	s.st = newState(mgmt, s.clock.Now())
	s.routes = map[string]map[string]handler{
		"iam":            iamActions(),
		"sts":            stsActions(),
		"sns":            snsActions(),
		"organizations":  orgActions(),
		"secretsmanager": secretsActions(),
		"kms":            kmsActions(),
		"dynamodb":       dynamoActions(),
		"acm":            acmActions(),
	}
	s.routes["ssm"] = ssmActions()
	s.ses = slices.Concat(sesRoutes(), lambdaRoutes(), rolesAnywhereRoutes(), accountRoutes())
	return s
}

// Clock returns the sandbox clock.
func (s *Server) Clock() *Clock { return s.clock }

// AdminCredentials returns the management account's sandbox admin key.
func (s *Server) AdminCredentials() (keyID, secret string) { return s.adminKey, s.adminSec }

// ManagementAccountID returns the management account's ID.
func (s *Server) ManagementAccountID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.ManagementAccountID
}

// Serve listens on addr and serves until ctx is cancelled, then shuts down
// gracefully. ready, if not nil, receives the bound address once listening.
func (s *Server) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(shutCtx)
		if errors.Is(err, context.DeadlineExceeded) {
			// Requests in flight had their grace period; what is left is
			// typically a client's spare connection that never carried a
			// request (net/http counts it busy for 5 s). Close it.
			err = hs.Close()
		}
		if err != nil {
			return fmt.Errorf("shut down: %w", err)
		}
		return nil
	}
}

// ServeHTTP routes a request to the control API or to an AWS service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("sandbox handler panic", "panic", v, "path", r.URL.Path)
			writeError(w, protoFor(r, ""), "", &apiError{Status: 500, Code: "InternalFailure", Message: "internal error"})
		}
	}()
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, protoFor(r, ""), "", errf(400, "MalformedInput", "could not read request body: %v", err))
		return
	}
	if len(body) > maxBodyBytes {
		writeError(w, protoFor(r, ""), "", errf(413, "RequestEntityTooLarge", "request body exceeds %d bytes", maxBodyBytes))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.serveAWS(w, r, body)
}

// protocol is how a service encodes requests and responses.
type protocol int

const (
	protoQuery protocol = iota
	protoJSON
	protoREST
)

func protoFor(r *http.Request, service string) protocol {
	switch service {
	case "iam", "sts", "sns":
		return protoQuery
	case "organizations", "secretsmanager", "kms", "dynamodb", "acm":
		return protoJSON
	case "ses", "email":
		return protoREST
	case "ssm":
		return protoJSON
	case "lambda", "rolesanywhere", "account":
		return protoREST
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return protoJSON
	}
	if strings.HasPrefix(r.URL.Path, "/v2/") || strings.HasPrefix(r.URL.Path, lambdaAPIPrefix) {
		return protoREST
	}
	return protoQuery
}

var jsonTargetPrefix = map[string]string{
	"organizations":  "AWSOrganizationsV20161128.",
	"secretsmanager": "secretsmanager.",
	"kms":            "TrentService.",
	"ssm":            "AmazonSSM.",
	"dynamodb":       "DynamoDB_20120810.",
	"acm":            "CertificateManager.",
}

var queryNamespace = map[string]string{
	"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
	"sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}

func (s *Server) serveAWS(w http.ResponseWriter, r *http.Request, body []byte) {
	reqID := newRequestID()
	auth, authErr := parseSigV4(r)
	service := ""
	if auth != nil {
		service = auth.Service
		if service == "email" {
			service = "ses"
		}
	}
	proto := protoFor(r, service)
	w = serviceWriter{ResponseWriter: w, service: service}

	// Work out the action before authenticating, so errors name it.
	var (
		action     string
		form       url.Values
		h          handler
		pathParams map[string]string
	)
	switch proto {
	case protoQuery:
		form = r.URL.Query()
		if r.Method == http.MethodPost {
			pf, err := url.ParseQuery(string(body))
			if err != nil {
				writeError(w, proto, reqID, errf(400, "MalformedQueryString", "could not parse form body: %v", err))
				return
			}
			for k, v := range pf {
				form[k] = append(form[k], v...)
			}
		}
		action = form.Get("Action")
	case protoJSON:
		target := r.Header.Get("X-Amz-Target")
		_, action, _ = strings.Cut(target, ".")
		if service == "" {
			for svc, pfx := range jsonTargetPrefix {
				if strings.HasPrefix(target, pfx) {
					service = svc
				}
			}
		} else if pfx := jsonTargetPrefix[service]; pfx != "" && !strings.HasPrefix(target, pfx) {
			writeError(w, proto, reqID, errf(400, "UnknownOperationException", "unknown operation %q", target))
			return
		}
	case protoREST:
		for _, rt := range s.ses {
			if ps, ok := rt.match(r.Method, r.URL.Path); ok {
				action, h, pathParams = rt.Action, rt.H, ps
			}
		}
	}

	if authErr != nil {
		if errors.Is(authErr, errMissingAuth) {
			writeError(w, proto, reqID, authError(proto, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		} else {
			writeError(w, proto, reqID, authError(proto, "IncompleteSignature", authErr.Error()))
		}
		return
	}
	if proto != protoREST {
		h = s.routes[service][action]
	}
	if action == "" {
		writeError(w, proto, reqID, errf(400, "MissingAction", "Missing Action"))
		return
	}
	if h == nil {
		code := "InvalidAction"
		if proto != protoQuery {
			code = "UnknownOperationException"
		}
		writeError(w, proto, reqID, errf(400, code, "Could not find operation %s for %s", action, service))
		return
	}

	if err := auth.checkDate(time.Now(), r.URL.Query().Get("X-Amz-Expires")); err != nil {
		writeError(w, proto, reqID, authError(proto, "SignatureDoesNotMatch", err.Error()))
		return
	}
	if err := checkScope(auth, proto); err != nil {
		writeError(w, proto, reqID, err)
		return
	}
	caller, aerr := s.authenticate(r, body, auth, proto)
	if aerr != nil {
		writeError(w, proto, reqID, aerr)
		return
	}

	if ferr := s.faults.apply(r.Context(), service, action, caller.AccountID); ferr != nil {
		s.mu.Lock()
		s.countLocked(caller.AccountID, service, action)
		bump(&s.faulted, caller.AccountID, service+":"+action)
		s.mu.Unlock()
		writeError(w, proto, reqID, ferr.forProtocol(proto, service))
		return
	}

	s.mu.Lock()
	s.countLocked(caller.AccountID, service, action)
	acct := s.st.Accounts[caller.AccountID]
	req := &request{
		http: r, st: s.st, srv: s, now: s.clock.Now(), service: service, action: action,
		region: auth.Region, caller: caller, acct: acct, form: form, body: body, requestID: reqID,
		pathParams: pathParams,
	}
	var (
		out any
		err error
	)
	if acct == nil {
		err = errf(403, "AccessDenied", "account %s no longer exists", caller.AccountID)
	} else if err = checkRegionLocked(req); err != nil {
	} else if err = s.authorizeLocked(req); err == nil {
		req.authorized = true
		out, err = h(req)
	}
	s.mu.Unlock()

	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Status: 500, Code: "InternalFailure", Message: err.Error()}
		}
		writeError(w, proto, reqID, ae)
		return
	}
	if req.status != 0 && proto == protoREST {
		writeRESTStatus(w, reqID, req.status, out)
		return
	}
	writeResult(w, proto, service, action, reqID, out)
}

// writeRESTStatus writes a REST-JSON result with a status other than 200
// (201 Created; 204 No Content has no body).
func writeRESTStatus(w http.ResponseWriter, reqID string, status int, out any) {
	w.Header().Set("X-Amzn-Requestid", reqID)
	if status == http.StatusNoContent || out == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, protoREST, reqID, errf(500, "InternalFailure", "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authenticate finds the credentials a request was signed with, checks the
// signature and records the use of a long-term key.
func (s *Server) authenticate(r *http.Request, body []byte, auth *sigV4Auth, proto protocol) (*principal, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	invalid := authError(proto, "InvalidClientTokenId", "The security token included in the request is invalid.")
	var (
		p      *principal
		secret string
	)
	switch {
	case auth.AccessKeyID == s.adminKey:
		if auth.SessionToken != "" {
			return nil, invalid
		}
		mg := s.st.ManagementAccountID
		p = &principal{Kind: "admin", AccountID: mg, UserName: "sandbox-admin", UserID: "AIDASANDBOXADMIN00000", ARN: "arn:aws:iam::" + mg + ":user/sandbox-admin"}
		secret = s.adminSec
	case s.sessions[auth.AccessKeyID] != nil:
		ss := s.sessions[auth.AccessKeyID]
		if auth.SessionToken != ss.Token {
			return nil, invalid
		}
		p = &principal{Kind: "session", AccountID: ss.AccountID, ARN: ss.ARN, UserID: ss.RoleID + ":" + ss.SessionName, Session: ss}
		secret = ss.Secret
	default:
		acct, u, k := s.findKeyLocked(auth.AccessKeyID)
		// A long-term key sent with a session token is refused: AWS looks
		// the token up and finds none for the key.
		if k == nil || auth.SessionToken != "" || k.Status != "Active" || (!k.UsableAt.IsZero() && time.Now().Before(k.UsableAt)) {
			return nil, invalid
		}
		if u == nil {
			p = &principal{Kind: "root", AccountID: acct.ID, UserName: "<root_account>", UserID: acct.ID, ARN: "arn:aws:iam::" + acct.ID + ":root", Key: k}
		} else {
			p = &principal{Kind: "user", AccountID: acct.ID, UserName: u.Name, UserID: u.ID, ARN: u.ARN, Key: k}
		}
		secret = k.Secret
	}
	if err := auth.verify(r, body, secret); err != nil {
		if errors.Is(err, errSignatureMismatch) {
			return nil, authError(proto, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
		}
		return nil, authError(proto, "IncompleteSignature", err.Error())
	}
	if ss := p.Session; ss != nil {
		if !s.wall().Before(ss.ExpiresWall) {
			return nil, authError(proto, "ExpiredToken", "The security token included in the request is expired")
		}
	}
	if p.Key != nil {
		recordKeyUse(p.Key, s.clock.Now(), auth.Service, auth.Region)
	}
	return p, nil
}

// keyRef locates a long-term access key; user is nil for a root key.
type keyRef struct {
	acct *Account
	user *User
	key  *AccessKey
}

// findKeyLocked finds a long-term access key in any account. u is nil for a
// root key. It answers from an index of every key, checking that the entry
// still holds (the key was not deleted, the user or the whole state not
// replaced); a miss or a stale entry rebuilds the index, so keys created
// since, and scenarios loaded since, are found without any bookkeeping
// elsewhere.
func (s *Server) findKeyLocked(id string) (*Account, *User, *AccessKey) {
	if ref, ok := s.keyIdx[id]; ok && s.refValidLocked(ref, id) {
		return ref.acct, ref.user, ref.key
	}
	s.rebuildKeyIndexLocked()
	if ref, ok := s.keyIdx[id]; ok {
		return ref.acct, ref.user, ref.key
	}
	return nil, nil, nil
}

// refValidLocked reports whether ref still points at key id in the state.
func (s *Server) refValidLocked(ref keyRef, id string) bool {
	if s.st.Accounts[ref.acct.ID] != ref.acct || ref.key.ID != id {
		return false
	}
	keys := ref.acct.Root.Keys
	if ref.user != nil {
		if ref.acct.Users[strings.ToLower(ref.user.Name)] != ref.user {
			return false
		}
		keys = ref.user.Keys
	}
	for _, k := range keys {
		if k == ref.key {
			return true
		}
	}
	return false
}

func (s *Server) rebuildKeyIndexLocked() {
	idx := make(map[string]keyRef, len(s.keyIdx))
	for _, a := range s.st.Accounts {
		for _, k := range a.Root.Keys {
			idx[k.ID] = keyRef{acct: a, key: k}
		}
		for _, u := range a.Users {
			for _, k := range u.Keys {
				idx[k.ID] = keyRef{acct: a, user: u, key: k}
			}
		}
	}
	s.keyIdx = idx
}

func (s *Server) countLocked(account, service, action string) {
	now := time.Now()
	if s.spans == nil {
		s.spans = map[string]*CallSpan{}
	}
	if sp := s.spans[account]; sp == nil {
		s.spans[account] = &CallSpan{First: now, Last: now}
	} else {
		sp.Last = now
	}
	bump(&s.counts, account, service+":"+action)
}

// bump adds one to (*counts)[account][op], making the maps as needed.
func bump(counts *map[string]map[string]int, account, op string) {
	if *counts == nil {
		*counts = map[string]map[string]int{}
	}
	m := (*counts)[account]
	if m == nil {
		m = map[string]int{}
		(*counts)[account] = m
	}
	m[op]++
}

// apiError is an AWS error response.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Fields are the error shape's other members, sent by JSON services
	// (Organizations' InvalidInputException has a Reason).
	Fields map[string]string
	// Detail are members that are not strings (DynamoDB's
	// CancellationReasons, a failed condition's Item).
	Detail map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errf builds an apiError with a formatted message.
func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// authError maps a Query-protocol authentication error code to the form a
// JSON-protocol service uses.
func authError(proto protocol, code, msg string) *apiError {
	if proto == protoQuery {
		status := 403
		if code == "IncompleteSignature" {
			status = 400
		}
		return &apiError{Status: status, Code: code, Message: msg}
	}
	jsonCodes := map[string]string{
		"InvalidClientTokenId":       "UnrecognizedClientException",
		"SignatureDoesNotMatch":      "InvalidSignatureException",
		"ExpiredToken":               "ExpiredTokenException",
		"MissingAuthenticationToken": "MissingAuthenticationTokenException",
		"IncompleteSignature":        "IncompleteSignatureException",
	}
	c := jsonCodes[code]
	if c == "" {
		c = code
	}
	status := 400
	if proto == protoREST {
		status = 403
	}
	return &apiError{Status: status, Code: c, Message: msg}
}

// xmlTime formats a time as the Query protocol's ISO 8601 timestamp.
func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// epoch is a time that JSON-encodes as epoch seconds, as JSON 1.1 and
// REST-JSON services send timestamps.
type epoch time.Time

// MarshalJSON encodes the time as fractional epoch seconds.
func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000)), nil
}

func writeResult(w http.ResponseWriter, proto protocol, service, action, reqID string, out any) {
	w.Header().Set("X-Amzn-Requestid", reqID)
	switch proto {
	case protoQuery:
		w.Header().Set("Content-Type", "text/xml")
		var b bytes.Buffer
		fmt.Fprintf(&b, "<%sResponse xmlns=\"%s\">\n", action, queryNamespace[service])
		if out != nil {
			enc := xml.NewEncoder(&b)
			if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
				writeError(w, proto, reqID, errf(500, "InternalFailure", "encode response: %v", err))
				return
			}
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>\n</%sResponse>\n", reqID, action)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes())
	default:
		switch {
		case service == "dynamodb":
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		case proto == protoJSON:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		default:
			w.Header().Set("Content-Type", "application/json")
		}
		if out == nil {
			out = struct{}{}
		}
		b, err := json.Marshal(out)
		if err != nil {
			writeError(w, proto, reqID, errf(500, "InternalFailure", "encode response: %v", err))
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

func writeError(w http.ResponseWriter, proto protocol, reqID string, e *apiError) {
	if reqID == "" {
		reqID = newRequestID()
	}
	if e.Status == 0 {
		e.Status = 400
	}
	w.Header().Set("X-Amzn-Requestid", reqID)
	switch proto {
	case protoQuery:
		kind := "Sender"
		if e.Status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		var msg bytes.Buffer
		_ = xml.EscapeText(&msg, []byte(e.Message))
		fmt.Fprintf(w, "<ErrorResponse xmlns=\"%s\">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n", errorNamespace(w), kind, e.Code, msg.String(), reqID)
	default:
		typ := e.Code
		switch sw, _ := w.(serviceWriter); {
		case sw.service == "dynamodb":
			// DynamoDB names its errors with their namespace.
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			typ = ddbErrorPrefix + e.Code
		case proto == protoJSON:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		default:
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("X-Amzn-Errortype", e.Code)
		w.WriteHeader(e.Status)
		body := map[string]any{"__type": typ, "message": e.Message}
		for k, v := range e.Fields {
			body[k] = v
		}
		for k, v := range e.Detail {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		_, _ = w.Write(b)
	}
}

// serviceWriter is the response writer of a request to an AWS service: it
// carries the service's name, so that error responses written on it use
// the service's XML namespace.
type serviceWriter struct {
	http.ResponseWriter
	service string
}

// errorNamespace is the XML namespace of an error response written on w:
// each Query service has its own (IAM's, STS's, SNS's); IAM's when the
// service is not known.
func errorNamespace(w http.ResponseWriter) string {
	if sw, ok := w.(serviceWriter); ok {
		if ns := queryNamespace[sw.service]; ns != "" {
			return ns
		}
	}
	return queryNamespace["iam"]
}
