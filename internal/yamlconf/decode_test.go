package yamlconf

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// settings exercises every kind the decoder handles.
type settings struct {
	Name     string            `yaml:"name"`
	Count    int               `yaml:"count"`
	Small    int8              `yaml:"small"`
	Size     uint16            `yaml:"size"`
	Ratio    float64           `yaml:"ratio"`
	Enabled  bool              `yaml:"enabled"`
	Every    Duration          `yaml:"every"`
	Until    time.Time         `yaml:"until"`
	Tags     []string          `yaml:"tags"`
	Labels   map[string]string `yaml:"labels"`
	Inner    inner             `yaml:"inner"`
	Optional *inner            `yaml:"optional"`
	Items    []inner           `yaml:"items"`
	Switch   onOff             `yaml:"switch"`
	Level    level             `yaml:"level"`
	Raw      yaml.Node         `yaml:"raw"`
	Untagged string
	Skipped  string `yaml:"-"`
	hidden   string //nolint:unused // unexported fields are never decoded
}

type inner struct {
	Key   string `yaml:"key"`
	Value int    `yaml:"value,omitempty"`
}

// onOff is a yaml.Unmarshaler.
type onOff bool

func (o *onOff) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "on":
		*o = true
	case "off":
		*o = false
	default:
		return errors.New("must be on or off")
	}
	return nil
}

// level is an encoding.TextUnmarshaler.
type level int

func (l *level) UnmarshalText(b []byte) error {
	i := strings.Index("lmh", string(b))
	if len(b) != 1 || i < 0 {
		return fmt.Errorf("must be l, m or h (got %q)", b)
	}
	*l = level(i)
	return nil
}

// secretive explains its unknown keys.
type secretive struct {
	Type        string `yaml:"type"`
	PasswordEnv string `yaml:"password_env"`
}

func (s *secretive) UnknownKey(key string) string {
	if key == "password" {
		return "secrets do not belong here; name a variable in password_env"
	}
	if s.Type != "" {
		return "a " + s.Type + " has no " + key
	}
	return ""
}

func decode(t *testing.T, src string, v any) *Decoder {
	t.Helper()
	root, err := Parse([]byte(src), "f.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d := NewDecoder("f.yaml")
	d.Decode(root, v, "")
	return d
}

func problemStrings(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestDecodeEveryKind(t *testing.T) {
	src := `name: svc
count: 0x10
small: -5
size: 1_000
ratio: 2.5
enabled: true
every: 2w
until: 2027-03-31
tags: [a, "b"]
labels: {team: data, "n": 1}
inner: {key: k, value: 3}
optional: {key: o}
items:
  - key: i0
  - {key: i1, value: 1}
switch: on
level: h
raw: {anything: [goes]}
untagged: u
`
	var s settings
	d := decode(t, src, &s)
	if len(d.Problems) > 0 {
		t.Fatalf("problems: %v", d.Problems)
	}
	want := settings{
		Name: "svc", Count: 16, Small: -5, Size: 1000, Ratio: 2.5, Enabled: true,
		Every: Duration(14 * 24 * time.Hour), Until: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC),
		Tags: []string{"a", "b"}, Labels: map[string]string{"team": "data", "n": "1"},
		Inner: inner{Key: "k", Value: 3}, Optional: &inner{Key: "o"},
		Items: []inner{{Key: "i0"}, {Key: "i1", Value: 1}}, Switch: true, Level: 2, Untagged: "u",
	}
	if d := cmp.Diff(want, s, cmp.AllowUnexported(settings{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Raw" }, cmp.Ignore())); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
	if s.Raw.Kind != yaml.MappingNode || s.Raw.Line != 18 {
		t.Errorf("raw node kept as %v at line %d", s.Raw.Kind, s.Raw.Line)
	}
	for path, line := range map[string]int{"": 1, "name": 1, "items": 13, "items[1]": 15, "items[1].value": 15, "labels.team": 10, "inner.key": 11} {
		if got := d.Lines[path]; got != line {
			t.Errorf("Lines[%q] = %d, want %d", path, got, line)
		}
	}
}

func TestDecodeKeepsDefaults(t *testing.T) {
	s := settings{Name: "default", Tags: []string{"x"}, Labels: map[string]string{"a": "b"}, Count: 7}
	d := decode(t, "name:\ncount: ~\ntags: []\nlabels: {}\n", &s)
	if len(d.Problems) > 0 {
		t.Fatalf("problems: %v", d.Problems)
	}
	// A key with no value keeps the default; [] and {} mean none.
	if s.Name != "default" || s.Count != 7 || s.Tags != nil || s.Labels != nil {
		t.Errorf("got name %q count %d tags %v labels %v", s.Name, s.Count, s.Tags, s.Labels)
	}
	var empty settings
	if d := decode(t, "# nothing\n", &empty); len(d.Problems) > 0 || empty.Name != "" {
		t.Errorf("empty document: %v %+v", d.Problems, empty)
	}
}

// TestDecodeProblems: each problem has its line and path, and decoding goes
// on after it so that every problem is reported.
func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown keys", "nmae: x\ncolour: blue\n", []string{
			`f.yaml:1: nmae: unknown key "nmae" in top level; did you mean "name"? (known keys: count, enabled, every, inner, items, labels, level, name, optional, ratio, raw, size, small, switch, tags, untagged, until)`,
			`f.yaml:2: colour: unknown key "colour" in top level (known keys: count, enabled, every, inner, items, labels, level, name, optional, ratio, raw, size, small, switch, tags, untagged, until)`,
		}},
		{"nested unknown key", "items:\n  - {key: a, vlaue: 1}\n", []string{
			`f.yaml:2: items[0].vlaue: unknown key "vlaue" in items[0]; did you mean "value"? (known keys: key, value)`,
		}},
		{"wrong kinds", "name: [a]\ncount: many\nenabled: yes\ntags: a\ninner: 5\nlabels: [a]\nratio: x\n", []string{
			`f.yaml:1: name: must be a string (got a list)`,
			`f.yaml:2: count: must be a whole number (got "many")`,
			`f.yaml:3: enabled: must be true or false (got "yes")`,
			`f.yaml:4: tags: must be a list (got "a"); write [] for an empty list`,
			`f.yaml:5: inner: must be a mapping of keys to values (got "5")`,
			`f.yaml:6: labels: must be a mapping of keys to values (got a list)`,
			`f.yaml:7: ratio: must be a number (got "x")`,
		}},
		{"out of range", "small: 200\nsize: -1\ncount: 99999999999\n", []string{
			`f.yaml:1: small: must be a whole number from -128 to 127 (got "200")`,
			`f.yaml:2: size: must be a whole number from 0 to 65535 (got "-1")`,
			`f.yaml:3: count: must be a whole number from -2147483648 to 2147483647 (got "99999999999")`,
		}},
		{"bad scalars", "every: ninety\nuntil: soon\nswitch: maybe\nlevel: x\nevery: [1d]\n", []string{
			`f.yaml:1: every: invalid duration "ninety" (write e.g. 90d or 2160h)`,
			`f.yaml:2: until: must be a date such as 2027-03-31 (got "soon")`,
			`f.yaml:3: switch: must be on or off`,
			`f.yaml:4: level: must be l, m or h (got "x")`,
			`f.yaml:5: every: duplicate key "every": it is also on line 1, and only one value can be kept; remove one`,
		}},
		{"duplicate keys", "name: a\ninner:\n  key: x\n  key: y\nlabels:\n  a: 1\n  b: 2\n  a: 3\nname: b\n", []string{
			`f.yaml:4: inner.key: duplicate key "key": it is also on line 3, and only one value can be kept; remove one`,
			`f.yaml:8: labels.a: duplicate key "a": it is also on line 6, and only one value can be kept; remove one`,
			`f.yaml:9: name: duplicate key "name": it is also on line 1, and only one value can be kept; remove one`,
		}},
		{"merge keys", "defaults: &b {key: k}\ninner:\n  <<: *b\n", []string{
			`f.yaml:1: defaults: unknown key "defaults" in top level (known keys: count, enabled, every, inner, items, labels, level, name, optional, ratio, raw, size, small, switch, tags, untagged, until)`,
			`f.yaml:3: inner.<<: merge keys (<<) are not supported; write the keys out`,
		}},
		{"aliases are reported where used", "tags: &t [a]\nname: *t\n", []string{
			`f.yaml:2: name: must be a string (got a list)`,
		}},
		{"keys must be names", "? [a]\n: 1\nlabels: {~: x, \"null\": y}\n", []string{
			`f.yaml:1: keys must be plain names (got a list)`,
			`f.yaml:3: labels: keys must be plain names (got an empty or null key); quote it if you mean the word, as in "null"`,
		}},
		{"not a mapping", "- a\n", []string{
			`f.yaml:1: must be a mapping of keys to values (got a list)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s settings
			d := decode(t, tt.src, &s)
			d.Problems.Sort()
			if diff := cmp.Diff(tt.want, problemStrings(d.Problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeAfterProblem: a bad value does not stop the rest from decoding.
func TestDecodeAfterProblem(t *testing.T) {
	var s settings
	d := decode(t, "count: x\nname: after\nitems: [{key: a}, 5, {key: c}]\n", &s)
	if len(d.Problems) != 2 || s.Name != "after" || len(s.Items) != 3 || s.Items[2].Key != "c" {
		t.Errorf("problems %v, decoded %+v", d.Problems, s)
	}
	if !d.Failed("items") || !d.Failed("items[1]") || d.Failed("items[2]") || d.Failed("name") {
		t.Errorf("Failed does not follow the problems: %v", d.Problems)
	}
}

func TestUnknownKeyer(t *testing.T) {
	var list []secretive
	d := decode(t, "- {type: smtp, password: hunter2}\n- {colour: red, type: relay}\n- {colour: red}\n", &list)
	want := []string{
		`f.yaml:1: [0].password: secrets do not belong here; name a variable in password_env`,
		`f.yaml:2: [1].colour: a relay has no colour`,
		`f.yaml:3: [2].colour: unknown key "colour" in [2] (known keys: password_env, type)`,
	}
	if diff := cmp.Diff(want, problemStrings(d.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if strings.Contains(d.Problems.Error(), "hunter2") {
		t.Error("a problem repeats the secret")
	}
}

func TestDecodeUnderPath(t *testing.T) {
	root, err := Parse([]byte("notify:\n  key: a\n  colour: b\n"), "keyrot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var in inner
	d := NewDecoder("keyrot.yaml")
	d.Decode(root.Content[1], &in, "notify")
	want := []string{`keyrot.yaml:3: notify.colour: unknown key "colour" in notify (known keys: key, value)`}
	if diff := cmp.Diff(want, problemStrings(d.Problems)); diff != "" || in.Key != "a" || d.Lines["notify.key"] != 2 {
		t.Errorf("decoded %+v, lines %v; problems (-want +got):\n%s", in, d.Lines, diff)
	}
}

// TestAliasBomb: a few lines of aliases that expand to billions of values
// are refused quickly, not walked.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("tags: *a9\n")
	var v struct {
		Tags [][][][][][][][][][]string `yaml:"tags"`
	}
	start := time.Now()
	root, err := Parse([]byte(b.String()), "bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder("bomb.yaml")
	d.Decode(root, &v, "")
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if !strings.Contains(d.Problems.Error(), "too large once its aliases are expanded") {
		t.Errorf("problems: %v", d.Problems)
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse([]byte("a: b\n  c: d\n"), "bad.yaml")
	want := "bad.yaml:2: invalid YAML: mapping values are not allowed in this context"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	var ps Problems
	if !errors.As(err, &ps) || ps[0].Line != 2 {
		t.Errorf("err %T is not Problems with the line", err)
	}
	if root, err := Parse([]byte("---\n"), "empty.yaml"); root != nil || err != nil {
		t.Errorf("empty document: %v, %v", root, err)
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Decode into a non-pointer did not panic")
		}
	}()
	NewDecoder("f").Decode(&yaml.Node{}, settings{}, "")
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "k.yaml", Line: 3, Path: "a.b", Message: "bad"}, "k.yaml:3: a.b: bad"},
		{Problem{File: "k.yaml", Path: "a.b", Message: "bad"}, "k.yaml: a.b: bad"},
		{Problem{Line: 3, Path: "a", Message: "bad"}, "line 3: a: bad"},
		{Problem{File: "k.yaml", Line: 1, Message: "bad"}, "k.yaml:1: bad"},
		{Problem{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestProblemsSortAndCovers(t *testing.T) {
	ps := Problems{{Line: 5, Path: "b"}, {Line: 2, Path: "z"}, {Line: 5, Path: "a"}, {Line: 0, Path: "d"}}
	ps.Sort()
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprint(p.Line, p.Path))
	}
	if diff := cmp.Diff([]string{"0d", "2z", "5a", "5b"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	ps = Problems{{Path: "access_keys.rotate_after"}, {Path: "exemptions[1].match"}}
	for path, want := range map[string]bool{
		"access_keys": true, "access_keys.rotate_after": true, "access_keys.rotate": false,
		"exemptions": true, "exemptions[1]": true, "exemptions[10]": false, "": true, "rotation": false,
	} {
		if got := ps.Covers(path); got != want {
			t.Errorf("Covers(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestLinesNearest(t *testing.T) {
	l := Lines{"": 1, "a": 2, "a.b": 3, "a.b[1]": 5}
	for path, want := range map[string]int{"a.b[1]": 5, "a.b[1].c": 5, "a.b[2]": 3, "a.x.y": 2, "z": 1} {
		if got := l.Nearest(path); got != want {
			t.Errorf("Nearest(%q) = %d, want %d", path, got, want)
		}
	}
	if got := (Lines{}).Nearest("a"); got != 0 {
		t.Errorf("Nearest in nothing = %d", got)
	}
}
