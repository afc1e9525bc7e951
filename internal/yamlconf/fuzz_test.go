package yamlconf

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// plain has only kinds yaml.v3 decodes the same way, so the two decoders
// can be compared.
type plain struct {
	S string            `yaml:"s"`
	I int               `yaml:"i"`
	J int64             `yaml:"j"`
	B bool              `yaml:"b"`
	L []string          `yaml:"l"`
	M map[string]string `yaml:"m"`
	P *plainInner       `yaml:"p"`
	N []plainInner      `yaml:"n"`
}

type plainInner struct {
	A string   `yaml:"a"`
	K int      `yaml:"k"`
	L []string `yaml:"l"`
}

// FuzzDecode checks that the decoder never panics, that every problem has
// a message, a line within the input and the file's name, that decoding
// is deterministic, and that what it accepts without a problem yaml.v3's
// own strict decoder (KnownFields) decodes to the same value. The seed
// corpus is testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"s: x\ni: 1\nb: true\nl: [a, b]\nm: {k: v}\np: {a: x, k: 2}\nn: [{a: y}]\n",
		"s: &a x\nl: [*a, *a]\n",
		"i: 0x1F\nj: -9_000\n",
		"s:\nl: []\nm: {}\n",
		"m: {a: 1, a: 2}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		lines := 1 // at most: YAML breaks lines at \r, NEL, LS and PS too
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(br))
		}
		decodeOnce := func() (plain, *Decoder) {
			var v plain
			d := NewDecoder("fuzz.yaml")
			d.Decode(root, &v, "")
			return v, d
		}
		v, d := decodeOnce()
		for _, p := range d.Problems {
			if p.Message == "" || p.File != "fuzz.yaml" || p.Line < 0 || p.Line > lines {
				t.Fatalf("bad problem %+v in %d lines", p, lines)
			}
		}
		v2, d2 := decodeOnce()
		if !reflect.DeepEqual(v, v2) || d.Problems.Error() != d2.Problems.Error() {
			t.Fatal("decoding twice gives different results")
		}
		if len(d.Problems) > 0 || bytes.ContainsAny(data, "!") || hasNullItem(root) {
			// Differences on purpose: explicit tags such as !!binary are
			// not decoded, and a null list item is kept as "" (reported
			// by validators) where yaml.v3 drops it.
			return
		}
		var want plain
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&want); err != nil && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("yamlconf accepts what yaml.v3 refuses (%v):\n%s", err, data)
		}
		if diff := cmp.Diff(want, v, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("yamlconf and yaml.v3 disagree (-yaml.v3 +yamlconf):\n%s\ninput:\n%s", diff, data)
		}
	})
}

// hasNullItem reports whether a list under n has a null item. Aliases need
// not be followed: what they stand for is in the tree, under its anchor.
func hasNullItem(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	for _, c := range n.Content {
		if n.Kind == yaml.SequenceNode && isNull(resolve(c)) {
			return true
		}
		if hasNullItem(c) {
			return true
		}
	}
	return false
}
