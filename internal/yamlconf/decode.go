// Package yamlconf is keyrot's one strict YAML decoder and its one duration
// grammar, shared by keyrot.yaml (the policy and its notify section) and
// the sandbox's scenario files. It depends on nothing but the standard
// library and gopkg.in/yaml.v3.
//
// A Decoder walks a yaml.Node tree into a Go value by reflection. Unknown
// keys, duplicated keys, wrong kinds and bad scalars are Problems with the
// file, line and key path, and decoding goes on after each, so that every
// problem is reported at once. Keys absent from the file, and keys with no
// value, keep what the value held before (its defaults).
package yamlconf

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Parse parses data as YAML and returns the root node of its first
// document, or nil when the document is empty (nothing, only comments,
// "---" or a null). A syntax error is returned as Problems holding one
// Problem with the error's line.
func Parse(data []byte, file string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(file, err)}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
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

// UnknownKeyer is implemented (with a pointer receiver) by struct types
// that can explain a key they have no field for better than the decoder's
// list of known keys, such as a secret written where only the name of an
// environment variable belongs. The decoder calls UnknownKey after the
// struct's other keys are decoded; "" keeps the decoder's message.
type UnknownKeyer interface {
	UnknownKey(key string) string
}

// A Decoder decodes YAML nodes strictly into Go values. Struct fields are
// named by their yaml tag (the part before any comma; "-" skips the field),
// else by their lower-cased Go name. Besides strings, booleans, numbers,
// structs, pointers, slices and maps with string keys, it decodes Duration
// (its grammar), time.Time (a date such as 2027-03-31, or RFC 3339),
// yaml.Node (kept as written), yaml.Unmarshaler and encoding.TextUnmarshaler
// values. YAML merge keys (<<) are not supported.
type Decoder struct {
	// File names the source in problems.
	File string
	// Lines records the line of every path decoded.
	Lines Lines
	// Problems are the defects found so far, in the order found.
	Problems Problems

	budget    int  // values left to decode; bounds alias expansion
	exhausted bool // the budget ran out and was reported
}

// NewDecoder returns a Decoder whose problems name file.
func NewDecoder(file string) *Decoder {
	return &Decoder{File: file, Lines: Lines{}}
}

// Decode decodes n into the value v points to, on top of what it holds.
// path is where n sits in the file ("" for the document root, "notify" for
// a section); it prefixes every path in Lines and Problems. A nil n leaves
// v as it is. Decode panics if v is not a non-nil pointer.
func (d *Decoder) Decode(n *yaml.Node, v any, path string) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("yamlconf: Decode needs a non-nil pointer, not %T", v))
	}
	if n == nil {
		return
	}
	if d.Lines == nil {
		d.Lines = Lines{}
	}
	// Aliases can make a small document expand exponentially ("billion
	// laughs"); allow generous reuse and no more.
	d.budget += 16*countNodes(n) + 100_000
	d.value(n, n.Line, rv.Elem(), path)
}

// Failed reports whether the decoder reported a problem about path or
// something under it.
func (d *Decoder) Failed(path string) bool { return d.Problems.Covers(path) }

// addf records a problem at line and path.
func (d *Decoder) addf(line int, path, format string, args ...any) {
	d.Problems = append(d.Problems, Problem{File: d.File, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// countNodes counts the nodes of the tree under n without following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// Join appends key to path: Join("", "a") is "a", Join("a", "b") is "a.b".
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a list index to path: Index("a", 2) is "a[2]".
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

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

// resolve returns the node an alias stands for.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

var (
	durationType     = reflect.TypeOf(Duration(0))
	timeType         = reflect.TypeOf(time.Time{})
	nodeType         = reflect.TypeOf(yaml.Node{})
	unmarshalerType  = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textType         = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	unknownKeyerType = reflect.TypeOf((*UnknownKeyer)(nil)).Elem()
)

// value decodes n into v. line is where the value is said to be: the line
// of its key in a mapping, of the item in a list.
func (d *Decoder) value(n *yaml.Node, line int, v reflect.Value, path string) {
	if d.budget <= 0 {
		if !d.exhausted {
			d.exhausted = true
			d.addf(line, path, "the document is too large once its aliases are expanded; use fewer aliases (*name)")
		}
		return
	}
	d.budget--
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	d.Lines[path] = line
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
			d.addf(line, path, "must be a duration such as 90d or 2160h (got %s)", kindName(n))
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.addf(line, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == timeType:
		tm, err := parseDate(n)
		if err != nil {
			d.addf(line, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType):
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.addf(line, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textType):
		if n.Kind != yaml.ScalarNode {
			d.addf(line, path, "must be a single value (got %s)", kindName(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.addf(line, path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.value(n, line, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.structValue(n, line, v, path)
	case reflect.Map:
		d.mapValue(n, line, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.addf(line, path, "must be a list (got %s); write [] for an empty list", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(t)) // [] and an absent key mean the same: nil
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, c.Line, s.Index(i), Index(path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.addf(line, path, "must be a string (got %s)", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		if t.Kind() == reflect.Int {
			bits = 32 // the same limit on every platform
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.addf(line, path, "must be a whole number (got %s)", kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, bits)
		if err != nil {
			d.addf(line, path, "must be a whole number from %d to %d (got %q)", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1, n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		if t.Kind() == reflect.Uint {
			bits = 32
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.addf(line, path, "must be a whole number (got %s)", kindName(n))
			return
		}
		i, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, bits)
		if err != nil {
			d.addf(line, path, "must be a whole number from 0 to %d (got %q)", uint64(1)<<bits-1, n.Value)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil {
			d.addf(line, path, "must be a number (got %s)", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.addf(line, path, "must be true or false (got %s)", kindName(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.addf(line, path, "must be true or false (got %q)", n.Value)
			return
		}
		v.SetBool(b)
	default:
		d.addf(line, path, "cannot decode into %s", t)
	}
}

// FieldKey returns the key that names struct field f in YAML: its yaml tag
// before any comma, else its lower-cased name. ok is false for unexported
// fields and fields tagged "-".
func FieldKey(f reflect.StructField) (key string, ok bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return strings.ToLower(f.Name), true
	}
	return name, true
}

type structFields struct {
	index map[string]int
	names []string // sorted
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{index: map[string]int{}}
	for i := range t.NumField() {
		if key, ok := FieldKey(t.Field(i)); ok {
			sf.index[key] = i
			sf.names = append(sf.names, key)
		}
	}
	sort.Strings(sf.names)
	fieldCache.Store(t, sf)
	return sf
}

// key checks a mapping key and reports a duplicate, naming both lines.
// seen maps the keys met so far to their lines.
func (d *Decoder) key(k *yaml.Node, path string, seen map[string]int) bool {
	if k.Kind != yaml.ScalarNode {
		d.addf(k.Line, path, "keys must be plain names (got %s)", kindName(k))
		return false
	}
	if isNull(k) {
		d.addf(k.Line, path, "keys must be plain names (got an empty or null key); quote it if you mean the word, as in \"null\"")
		return false
	}
	if first, dup := seen[k.Value]; dup {
		d.addf(k.Line, Join(path, k.Value), "duplicate key %q: it is also on line %d, and only one value can be kept; remove one", k.Value, first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

func (d *Decoder) structValue(n *yaml.Node, line int, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addf(line, path, "must be a mapping of keys to values (got %s)", kindName(n))
		return
	}
	sf := fieldsOf(v.Type())
	seen := map[string]int{}
	var unknown []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if !d.key(k, path, seen) {
			continue
		}
		fi, ok := sf.index[k.Value]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		d.value(val, k.Line, v.Field(fi), Join(path, k.Value))
	}
	for _, k := range unknown {
		d.addf(k.Line, Join(path, k.Value), "%s", d.unknownKey(v, k, path, sf.names))
	}
}

const mergeMessage = "merge keys (<<) are not supported; write the keys out"

func (d *Decoder) unknownKey(v reflect.Value, k *yaml.Node, path string, names []string) string {
	key := k.Value
	if v.CanAddr() && v.Addr().Type().Implements(unknownKeyerType) {
		if msg := v.Addr().Interface().(UnknownKeyer).UnknownKey(key); msg != "" {
			return msg
		}
	}
	if k.Tag == "!!merge" {
		return mergeMessage
	}
	where := path
	if where == "" {
		where = "top level"
	}
	known := strings.Join(names, ", ")
	if s := closest(key, names); s != "" {
		return fmt.Sprintf("unknown key %q in %s; did you mean %q? (known keys: %s)", key, where, s, known)
	}
	return fmt.Sprintf("unknown key %q in %s (known keys: %s)", key, where, known)
}

func (d *Decoder) mapValue(n *yaml.Node, line int, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.addf(line, path, "cannot decode into %s", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(line, path, "must be a mapping of keys to values (got %s)", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		v.Set(reflect.Zero(t)) // {} and an absent key mean the same: nil
		return
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if !d.key(k, path, seen) {
			continue
		}
		key := k.Value
		if k.Tag == "!!merge" {
			d.addf(k.Line, Join(path, key), mergeMessage)
			continue
		}
		e := reflect.New(t.Elem()).Elem()
		d.value(val, k.Line, e, Join(path, key))
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
	}
	v.Set(m)
}

// closest returns the name within edit distance 2 of s, if any: the
// "did you mean" of an unknown key.
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
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 3 // far enough: no suggestion for huge keys
	}
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
