package notify

import (
	"errors"
	"fmt"
)

// ErrSecretMaterial means a rendered payload contains something shaped like
// an AWS secret access key or session token. Such a payload is never sent;
// the error does not repeat the value.
var ErrSecretMaterial = errors.New("payload looks like it contains secret material")

// secretKeyLen is the length of an AWS secret access key.
const secretKeyLen = 40

// screen returns ErrSecretMaterial (naming what) if any part contains a run
// of base64 characters shaped like a secret access key (40 characters mixing
// upper case, lower case and digits, alone or between '/') or a session
// token (100 or more). Key IDs, ARNs, hex digests and prose do not match.
func screen(what string, parts ...string) error {
	for _, v := range parts {
		start := -1
		for i := 0; i <= len(v); i++ {
			if i < len(v) && isBase64(v[i]) {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 && runHasSecret(v[start:i]) {
				return fmt.Errorf("%s: %w", what, ErrSecretMaterial)
			}
			start = -1
		}
	}
	return nil
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func runHasSecret(run string) bool {
	if len(run) >= 100 {
		return true
	}
	for i := 0; i+secretKeyLen <= len(run); i++ {
		if i > 0 && run[i-1] != '/' {
			continue
		}
		end := i + secretKeyLen
		if end < len(run) && run[end] != '/' {
			continue
		}
		var upper, lower, digit bool
		for _, c := range []byte(run[i:end]) {
			switch {
			case c >= 'A' && c <= 'Z':
				upper = true
			case c >= 'a' && c <= 'z':
				lower = true
			case c >= '0' && c <= '9':
				digit = true
			}
		}
		if upper && lower && digit {
			return true
		}
	}
	return false
}
