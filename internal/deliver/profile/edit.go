package profile

import (
	"bytes"
	"errors"
	"strings"
)

// section returns the name of a section header line ("[name]", with an
// optional comment after it), or false.
func section(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", false
	}
	if rest := strings.TrimSpace(t[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", false
	}
	return strings.TrimSpace(t[1:end]), true
}

// property returns the lower-cased key of a "key = value" line at the top
// level of a section (not indented, not a comment), or "".
func property(line string) string {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return ""
	}
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return ""
	}
	k, _, ok := strings.Cut(t, "=")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(k))
}

// Profiles lists the section names of a credentials file, in order.
func Profiles(data []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if n, ok := section(strings.TrimRight(l, "\r")); ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// SetProfile returns data with the profile's aws_access_key_id and
// aws_secret_access_key set (its session token lines removed), everything
// else byte for byte as it was. A profile that does not exist is added at
// the end. When the profile appears more than once, every occurrence is
// edited, as readers merge them.
func SetProfile(data []byte, profile, id, secret string) ([]byte, error) {
	if strings.ContainsAny(id+secret, "\r\n") || strings.TrimSpace(id) != id || strings.TrimSpace(secret) != secret {
		return nil, errors.New("the key holds a line break or surrounding spaces")
	}
	nl := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		nl = "\r\n"
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	finalNL := strings.HasSuffix(text, "\n")
	if finalNL {
		lines = lines[:len(lines)-1]
	}
	want := map[string]string{"aws_access_key_id": id, "aws_secret_access_key": secret}
	var out []string
	in, found := false, false
	var done map[string]bool
	// flush adds the properties the section lacked after its last
	// non-blank line.
	flush := func() {
		if !in {
			return
		}
		at := len(out)
		for at > 0 && strings.TrimSpace(out[at-1]) == "" {
			at--
		}
		var add []string
		for _, k := range []string{"aws_access_key_id", "aws_secret_access_key"} {
			if !done[k] {
				add = append(add, k+" = "+want[k])
			}
		}
		out = append(out[:at], append(add, out[at:]...)...)
	}
	for _, l := range lines {
		if name, ok := section(l); ok {
			flush()
			in = name == profile
			if in {
				found = true
				done = map[string]bool{}
			}
			out = append(out, l)
			continue
		}
		if in {
			switch k := property(l); k {
			case "aws_access_key_id", "aws_secret_access_key":
				if done[k] {
					continue // a duplicate: drop it
				}
				done[k] = true
				indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
				origKey := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
				out = append(out, indent+origKey+" = "+want[k])
				continue
			case "aws_session_token", "aws_security_token":
				continue
			}
		}
		out = append(out, l)
	}
	flush()
	if !found {
		if len(out) > 0 && strings.TrimSpace(out[len(out)-1]) != "" {
			out = append(out, "")
		}
		out = append(out, "["+profile+"]", "aws_access_key_id = "+id, "aws_secret_access_key = "+secret)
		finalNL = true
	}
	res := strings.Join(out, nl)
	if finalNL {
		res += nl
	}
	return []byte(res), nil
}
