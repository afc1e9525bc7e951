// Package deliver pushes a newly created access key to the places that use
// it: GitHub Actions secrets, HashiCorp Vault KV v2, GitLab CI/CD variables,
// a shared credentials file profile, SSM Parameter Store parameters, Lambda
// environment variables and Kubernetes Secrets. Each backend is its own
// package (deliver/github, deliver/vault, deliver/gitlab, deliver/profile,
// deliver/ssmparam, deliver/lambdaenv, deliver/kube); this
// package holds what they share and what the rotation lifecycle needs: the
// Destination interface, destination references ("github:org/repo/NAME"),
// the deliver section of keyrot.yaml and Resolve, which matches an IAM user
// to the destinations declared for it. It imports no backend.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyrot/keyrot/internal/secretstore"
)

// Key is what a destination receives: the access key ID, its secret (a
// redacting secretstore.Secret) and whose it is. It is the value keyrot
// stores in Secrets Manager.
type Key = secretstore.Value

// Destination is one place a user's access key is delivered to.
//
// Write is idempotent: writing the same access key ID twice leaves the
// destination as one write does. Current reports the access key ID the
// destination holds now ("" when it holds none); for write-only stores
// (GitHub secrets) it is read from a companion record that Write updates
// last, so it never names a key whose secret was not written.
type Destination interface {
	// Ref is the destination's reference, safe to print.
	Ref() Ref
	// Check reports whether the destination exists and the credentials
	// may write it, without writing. Its error is a *Error.
	Check(ctx context.Context) error
	// Write delivers key.
	Write(ctx context.Context, key Key) error
	// Current returns the access key ID the destination holds.
	Current(ctx context.Context) (string, error)
}

// Sentinel errors that destinations wrap, so that the lifecycle can tell
// a missing or forbidden destination from a passing failure.
var (
	// ErrNotFound: the destination (repository, mount, project, profile
	// file) does not exist, or the credentials may not see it.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the credentials are missing, invalid or lack the
	// permission to write.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrConflict: another writer changed the destination in between
	// (Vault check-and-set, a Kubernetes resourceVersion) more times than
	// Write retries.
	ErrConflict = errors.New("concurrent change")
)

// Error is a destination's failure: which destination, doing what. Its
// message names the destination by its reference, which holds no secret.
type Error struct {
	Ref Ref
	Op  string // "open", "check", "write" or "read current key"
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Ref, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CheckKey refuses a key with no access key ID or no secret: a
// destination writes only whole keys.
func CheckKey(key Key) error {
	if key.AccessKeyID == "" || key.SecretAccessKey.Empty() {
		return errors.New("the key has no access key ID or secret")
	}
	return nil
}

// HTTPStatusError turns an HTTP status of a provider's API into an error
// that wraps ErrUnauthorized (401, 403) or ErrNotFound (404), with a hint
// at what to fix; other statuses are returned as they are.
func HTTPStatusError(status int, hint string) error {
	switch status {
	case 401:
		return fmt.Errorf("%w (HTTP 401): the token is missing, expired or invalid%s", ErrUnauthorized, suffix(hint))
	case 403:
		return fmt.Errorf("%w (HTTP 403): the token may not do this%s", ErrUnauthorized, suffix(hint))
	case 404:
		return fmt.Errorf("%w (HTTP 404): it does not exist or the token may not see it%s", ErrNotFound, suffix(hint))
	}
	return fmt.Errorf("HTTP %d%s", status, suffix(hint))
}

func suffix(hint string) string {
	if hint == "" {
		return ""
	}
	return "; " + strings.TrimSpace(hint)
}
