package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/keyrot/keyrot/internal/secretscan"
)

// ErrSecretMaterial means a value about to be written looks like secret
// material (an AWS secret access key or session token, or a JSON field named
// like one). The history never stores secrets, so the write is refused. The
// error never repeats the offending value.
var ErrSecretMaterial = errors.New("value looks like secret material")

// checkNoSecret refuses text that contains something shaped like an AWS
// secret access key or session token (secretscan.Contains).
func checkNoSecret(field, v string) error {
	if secretscan.Contains(v) {
		return fmt.Errorf("%s: %w", field, ErrSecretMaterial)
	}
	return nil
}

// forbiddenKeys are JSON member names (lower-cased, with everything but
// letters and digits removed) that name secret material. Names such as
// secret_arn or secretVersionId are fine.
var forbiddenKeys = []string{"secretaccesskey", "secretkey", "sessiontoken", "secretstring", "secretbinary", "password", "privatekey"}

// checkEvidence validates evidence as JSON and refuses secret-looking member
// names or values.
func checkEvidence(evidence string) error {
	if err := checkNoSecret("evidence", evidence); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal([]byte(evidence), &v); err != nil {
		return fmt.Errorf("evidence is not valid JSON: %w", ErrInvalid)
	}
	return walkKeys(v)
}

func walkKeys(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			norm := normalizeKey(k)
			for _, f := range forbiddenKeys {
				if strings.Contains(norm, f) {
					return fmt.Errorf("evidence member %q: %w", k, ErrSecretMaterial)
				}
			}
			if err := walkKeys(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := walkKeys(child); err != nil {
				return err
			}
		}
	}
	return nil
}

func normalizeKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
