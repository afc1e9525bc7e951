// Package secretscan recognises text shaped like AWS secret material, so
// that the places keyrot writes to (the history database, notifications)
// can refuse it as a last line of defence.
package secretscan

// secretKeyLen is the length of an AWS secret access key.
const secretKeyLen = 40

// tokenLen is the run length taken for a session token.
const tokenLen = 100

// Contains reports whether s contains something shaped like an AWS secret
// access key or session token. s is split into runs of base64 characters
// (letters, digits, '+' and '/'). A run of 100 or more is taken for a
// session token. A secret access key is 40 such characters mixing upper
// case, lower case and digits; since it may contain '/', it is looked for
// as the whole run or as a stretch of the run that starts and ends at a '/'
// or the run's ends ("keyrot/alice/<secret>"). Key IDs (20 characters),
// ARNs (split by ':' and '-'), hex digests (no upper case), "name=value"
// pairs and prose do not match; a path of exactly 40 characters that mixes
// cases and digits would.
func Contains(s string) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isBase64(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && runHasSecret(s[start:i]) {
			return true
		}
		start = -1
	}
	return false
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func runHasSecret(run string) bool {
	if len(run) >= tokenLen {
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
