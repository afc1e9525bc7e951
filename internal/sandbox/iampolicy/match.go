package iampolicy

import "strings"

// Literal wildcard characters: the policy variables ${*} and ${?}, and
// wildcard characters in substituted values, match themselves only.
const (
	litStar     = '\x00'
	litQuestion = '\x01'
)

// glob matches s against pattern, where '*' matches any run of characters
// (including none) and '?' any one character; matching is case-sensitive.
// It runs in linear time, remembering only the last star.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			c := pattern[p]
			switch {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '?' || c == s[i] || c == litStar && s[i] == '*' || c == litQuestion && s[i] == '?':
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		p = star + 1
		mark++
		i = mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchAction matches a lower-cased action pattern against a lower-cased
// action: actions are case-insensitive ("iam:listusers" matches
// "iam:ListUsers"), with * and ? wildcards.
func matchAction(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	return glob(pattern, action)
}

// matchARN matches an ARN pattern against an ARN field by field: the six
// colon-separated fields (arn:partition:service:region:account:resource)
// are matched separately, so a wildcard never spans a colon before the
// resource field, which may itself hold colons. A bare "*" matches
// anything, including resources that are not ARNs.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
// and ArnLike in reference_policies_elements_condition_operators.html.
func matchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	for field := 0; field < 5; field++ {
		pi := strings.IndexByte(pattern, ':')
		ai := strings.IndexByte(arn, ':')
		if pi < 0 || ai < 0 {
			return false
		}
		if !glob(pattern[:pi], arn[:ai]) {
			return false
		}
		pattern, arn = pattern[pi+1:], arn[ai+1:]
	}
	return glob(pattern, arn)
}

// substitute replaces the policy variables in s (${aws:username},
// ${aws:PrincipalTag/team}, ${key, 'default'}, ${*}, ${?}, ${$}) with their
// values from the request context. It reports false when a variable names
// a key the request does not have (and no default), or one with several
// values: the element then matches nothing.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
func substitute(s string, e *evaluation) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		inner := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+1:]
		switch inner {
		case "*":
			b.WriteByte(litStar)
			continue
		case "?":
			b.WriteByte(litQuestion)
			continue
		case "$":
			b.WriteByte('$')
			continue
		}
		key, def, hasDef := strings.Cut(inner, ",")
		key = strings.TrimSpace(key)
		vals := e.context(key)
		var v string
		switch {
		case len(vals) == 1:
			v = vals[0]
		case len(vals) == 0 && hasDef:
			d := strings.TrimSpace(def)
			if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
				return "", false
			}
			v = d[1 : len(d)-1]
		default:
			return "", false
		}
		for k := 0; k < len(v); k++ {
			switch v[k] {
			case '*':
				b.WriteByte(litStar)
			case '?':
				b.WriteByte(litQuestion)
			default:
				b.WriteByte(v[k])
			}
		}
	}
}

// unliteral turns the literal-wildcard markers back into the characters.
func unliteral(s string) string {
	if !strings.ContainsAny(s, "\x00\x01") {
		return s
	}
	return strings.NewReplacer("\x00", "*", "\x01", "?").Replace(s)
}
