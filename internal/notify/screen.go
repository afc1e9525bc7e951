package notify

import (
	"errors"
	"fmt"

	"github.com/keyrot/keyrot/internal/secretscan"
)

// ErrSecretMaterial means a rendered payload contains something shaped like
// an AWS secret access key or session token. Such a payload is never sent;
// the error does not repeat the value.
var ErrSecretMaterial = errors.New("payload looks like it contains secret material")

// screen returns ErrSecretMaterial (naming what) if any part contains
// something shaped like a secret access key or session token
// (secretscan.Contains).
func screen(what string, parts ...string) error {
	for _, v := range parts {
		if secretscan.Contains(v) {
			return fmt.Errorf("%s: %w", what, ErrSecretMaterial)
		}
	}
	return nil
}
