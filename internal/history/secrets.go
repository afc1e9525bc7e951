package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrSecretMaterial means a value about to be written looks like secret
// material (an AWS secret access key or session token, or a JSON field named
// like one). The history never stores secrets, so the write is refused. The
// error never repeats the offending value.
var ErrSecretMaterial = errors.New("value looks like secret material")

// checkNoSecret refuses text that contains something shaped like an AWS
// secret access key or session token. Text is split into runs of base64
// characters (letters, digits, '+' and '/'). A run of 100 or more is taken
// for a session token. A secret access key is 40 such characters mixing
// upper case, lower case and digits; since it may contain '/', it is looked
// for as the whole run or as a stretch of the run that starts and ends at a
// '/' or the run's ends ("keyrot/alice/<secret>"). Key IDs (20 characters),
// ARNs (split by ':' and '-'), hex digests (no upper case), "name=value"
// pairs and prose do not match; a path of exactly 40 characters that mixes
// cases and digits would, and is refused too.
func checkNoSecret(field, v string) error {
	start := -1
	for i := 0; i <= len(v); i++ {
		if i < len(v) && isBase64(v[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if runHasSecret(v[start:i]) {
				return fmt.Errorf("%s: %w", field, ErrSecretMaterial)
			}
			start = -1
		}
	}
	return nil
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

const secretKeyLen = 40

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
		if mixesClasses(run[i:end]) {
			return true
		}
	}
	return false
}

func mixesClasses(s string) bool {
	var upper, lower, digit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	return upper && lower && digit
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
