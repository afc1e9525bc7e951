package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/serveconf"
)

// Kinds of start-up problem; the CLI maps them to exit codes.
const (
	ProblemConfig = "config" // the configuration, the credentials or TLS files
	ProblemListen = "listen" // the listen address cannot be used
	ProblemAWS    = "aws"    // keyrot's own AWS identity
	ProblemStore  = "store"  // the history store
)

// StartError is a problem found at start: where it is (a file, line and
// field, or a flag) and, in Err's text, what to do about it.
type StartError struct {
	Kind  string
	Where string
	Err   error
}

// Error implements error.
func (e *StartError) Error() string { return e.Where + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Err }

// at returns a function naming a field of the serve section with the file
// and line it is written on ("keyrot.yaml:12: serve.listen"), or the file
// alone when the field is not written.
func at(c *config.Config, file string) func(path string) string {
	return func(path string) string {
		if file == "" {
			file = "(built-in defaults)"
		}
		if line := c.Serve.Line(path); line > 0 {
			return fmt.Sprintf("%s:%d: %s", file, line, path)
		}
		return file + ": " + path
	}
}

// CheckIdentity asks STS who keyrot's AWS credentials are, so that missing
// or refused credentials stop the start, not the first run.
func CheckIdentity(ctx context.Context, cfg aws.Config) (awsaccess.Identity, error) {
	id, err := awsaccess.New(cfg, awsaccess.Role{}).Caller(ctx)
	if err != nil {
		return id, &StartError{Kind: ProblemAWS, Where: "AWS credentials",
			Err: fmt.Errorf("ask STS who keyrot is: %w: check the credentials in the environment, profile or instance role (aws sts get-caller-identity)", err)}
	}
	return id, nil
}

// credentials are the HTTP API's, as SHA-256 digests compared in constant
// time; nil fields are not configured.
type credentials struct {
	token      []byte
	user, pass []byte
}

func (c *credentials) any() bool { return c.token != nil || c.user != nil }

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// loadCredentials reads the credentials' values from the environment
// variables the auth section names. A variable named but unset or empty is
// "not configured", except for basic auth's password, which must be there
// once a username is set.
func loadCredentials(a serveconf.Auth, getenv func(string) string) (*credentials, error) {
	c := &credentials{}
	if a.BearerTokenEnv != "" {
		if v := getenv(a.BearerTokenEnv); v != "" {
			c.token = digest(v)
		}
	}
	if a.BasicUsername != "" {
		v := getenv(a.BasicPasswordEnv)
		if v == "" {
			return nil, fmt.Errorf("basic auth for %q: the environment variable %s (serve.auth.basic.password_env) is not set: set it to the password", a.BasicUsername, a.BasicPasswordEnv)
		}
		c.user, c.pass = digest(a.BasicUsername), digest(v)
	}
	return c, nil
}

// allows reports whether r carries valid credentials: a bearer token or
// basic auth. Every comparison is made in constant time on digests, so
// neither the length nor the content of a credential leaks through timing.
func (c *credentials) allows(r *http.Request) bool {
	if !c.any() {
		return true
	}
	ok := 0
	if h := r.Header.Get("Authorization"); c.token != nil && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		ok |= subtle.ConstantTimeCompare(digest(strings.TrimSpace(h[7:])), c.token)
	}
	if u, p, has := r.BasicAuth(); has && c.user != nil {
		ok |= subtle.ConstantTimeCompare(digest(u), c.user) & subtle.ConstantTimeCompare(digest(p), c.pass)
	}
	return ok == 1
}
