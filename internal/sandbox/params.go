package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
)

// param returns a Query-protocol parameter.
func (r *request) param(name string) string { return r.form.Get(name) }

// requireParam returns a required Query parameter or AWS's ValidationError.
func (r *request) requireParam(name string) (string, error) {
	v := r.form.Get(name)
	if v == "" {
		return "", errf(400, "ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

// memberList reads a Query list such as Tags.member.1.Key ... returning the
// values of prefix.member.N[.suffix] in order.
func (r *request) memberList(prefix, suffix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := prefix + ".member." + strconv.Itoa(i)
		if suffix != "" {
			k += "." + suffix
		}
		v, ok := r.form[k]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// decodeJSON decodes a JSON-protocol body into v.
func (r *request) decodeJSON(v any) error {
	if len(r.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return errf(400, "SerializationException", "could not parse request body: %v", err)
	}
	return nil
}

// page slices n items by an opaque marker (the start index) and a maximum;
// it returns the range and the next marker ("" when done).
func page(n int, marker string, max, defaultMax, limit int) (start, end int, next string, err error) {
	if max == 0 {
		max = defaultMax
	}
	if max < 1 || max > limit {
		return 0, 0, "", errf(400, "ValidationError", "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and %d", max, limit)
	}
	if marker != "" {
		i, perr := strconv.Atoi(strings.TrimPrefix(marker, "m"))
		if perr != nil || i < 0 || i > n || !strings.HasPrefix(marker, "m") {
			return 0, 0, "", errf(400, "ValidationError", "Invalid Marker")
		}
		start = i
	}
	end = start + max
	if end >= n {
		return start, n, "", nil
	}
	return start, end, "m" + strconv.Itoa(end), nil
}

// intParam parses an optional integer Query parameter.
func (r *request) intParam(name string) (int, error) {
	v := r.form.Get(name)
	if v == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0, errf(400, "ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a number", v, lowerFirst(name))
	}
	return i, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// isAdmin reports whether the request passed authorization (authz.go),
// which evaluated the caller's policies for the action on the resource the
// request names; handlers keep their checks in its terms.
func (r *request) isAdmin() bool { return r.authorized }

// accessDenied is the error a non-admin caller gets.
func (r *request) accessDenied(resource string) error {
	return errf(403, "AccessDenied", "User: %s is not authorized to perform: %s:%s on resource: %s", r.caller.ARN, r.service, r.action, resource)
}
