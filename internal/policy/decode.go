package policy

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree into a struct, strictly: unknown keys,
// wrong kinds and bad scalars are problems with their path and line, and
// decoding goes on so that every problem is reported.
type decoder struct {
	file  string
	lines map[string]int
	probs Problems
}

var (
	durationType = reflect.TypeOf(Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
	nodeType     = reflect.TypeOf(yaml.Node{})
)

func (d *decoder) addf(n *yaml.Node, path, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: n.Line, Path: path, Message: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// decode stores n into the value v points to (v is a pointer).
func (d *decoder) decode(n *yaml.Node, v any, path string) {
	d.value(n, reflect.ValueOf(v).Elem(), path)
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	t := v.Type()
	switch {
	case t == nodeType:
		v.Set(reflect.ValueOf(*n))
		return
	case isNull(n):
		// "key:" with nothing after it keeps the default.
		return
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			d.addf(n, path, "must be a duration such as 90d or 2160h (got %s)", kindName(n))
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.addf(n, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == timeType:
		tm, err := parseDate(n)
		if err != nil {
			d.addf(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.value(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.addf(n, path, "must be a list (got %s); write [] for an empty list", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(t)) // [] and an absent key mean the same: nil
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.addf(n, path, "must be a string (got %s)", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.addf(n, path, "must be a whole number (got %s)", kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32)
		if err != nil {
			d.addf(n, path, "must be a whole number (got %q)", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.addf(n, path, "must be true or false (got %s)", kindName(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.addf(n, path, "must be true or false (got %q)", n.Value)
			return
		}
		v.SetBool(b)
	default:
		d.addf(n, path, "cannot decode into %s", t)
	}
}

// yamlFields maps the yaml keys of struct type t to field indexes.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx[name] = i
		names = append(names, name)
	}
	sort.Strings(names)
	return idx, names
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addf(n, path, "must be a mapping of keys to values (got %s)", kindName(n))
		return
	}
	idx, names := yamlFields(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(k, path, "keys must be plain names (got %s)", kindName(k))
			continue
		}
		fi, ok := idx[k.Value]
		if !ok {
			where := path
			if where == "" {
				where = "top level"
			}
			msg := fmt.Sprintf("unknown key %q in %s (known keys: %s)", k.Value, where, strings.Join(names, ", "))
			if s := closest(k.Value, names); s != "" {
				msg = fmt.Sprintf("unknown key %q in %s; did you mean %q? (known keys: %s)", k.Value, where, s, strings.Join(names, ", "))
			}
			d.probs = append(d.probs, Problem{File: d.file, Line: k.Line, Path: join(path, k.Value), Message: msg})
			continue
		}
		d.value(val, v.Field(fi), join(path, k.Value))
	}
}

// closest returns the known name within edit distance 2 of s, if any.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if dd := editDistance(s, n); dd < bestD {
			best, bestD = n, dd
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parseDate accepts 2027-03-31 (00:00 UTC) or an RFC 3339 time.
func parseDate(n *yaml.Node) (time.Time, error) {
	if n.Kind != yaml.ScalarNode {
		return time.Time{}, fmt.Errorf("must be a date such as 2027-03-31 (got %s)", kindName(n))
	}
	s := strings.TrimSpace(n.Value)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("must be a date such as 2027-03-31 (got %q)", s)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns a YAML syntax error into a Problem with its line.
func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{File: file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
