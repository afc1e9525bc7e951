package deploygen

import (
	"bytes"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/permissions"
)

// kv is one entry of an ordered mapping.
type kv struct {
	k string
	v any
}

// m is a YAML mapping that keeps its keys in the order written, so that a
// template reads Parameters, Conditions, Resources, Outputs, and each
// resource Type before Properties.
type m []kv

// MarshalYAML encodes the mapping in order.
func (mm m) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range mm {
		var v yaml.Node
		if err := v.Encode(e.v); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.k}, &v)
	}
	return n, nil
}

// l is a YAML sequence.
type l = []any

// sub is Fn::Sub of s when s has a ${...} substitution, else s.
func sub(s string) any {
	if strings.Contains(s, "${") {
		return m{{"Fn::Sub", s}}
	}
	return s
}

func ref(name string) any { return m{{"Ref", name}} }

func getAtt(resource, attr string) any { return m{{"Fn::GetAtt", l{resource, attr}}} }

func ifCond(cond string, yes, no any) any { return m{{"Fn::If", l{cond, yes, no}}} }

var noValue = ref("AWS::NoValue")

// policyCFN is a policy document as a template writes it: its strings
// that name template parameters in Fn::Sub.
func policyCFN(d permissions.Document) any {
	var sts l
	for _, s := range d.Statement {
		st := m{}
		if s.Sid != "" {
			st = append(st, kv{"Sid", s.Sid})
		}
		st = append(st, kv{"Effect", s.Effect})
		if len(s.Principal) > 0 {
			p := m{}
			for _, k := range sortedKeys(s.Principal) {
				p = append(p, kv{k, subs(s.Principal[k])})
			}
			st = append(st, kv{"Principal", p})
		}
		st = append(st, kv{"Action", s.Action})
		if len(s.Resource) > 0 {
			st = append(st, kv{"Resource", subs(s.Resource)})
		}
		if len(s.Condition) > 0 {
			c := m{}
			for _, op := range sortedKeys(s.Condition) {
				keys := m{}
				for _, k := range sortedKeys(s.Condition[op]) {
					keys = append(keys, kv{k, subs(s.Condition[op][k])})
				}
				c = append(c, kv{op, keys})
			}
			st = append(st, kv{"Condition", c})
		}
		sts = append(sts, st)
	}
	return m{{"Version", d.Version}, {"Statement", sts}}
}

func subs(ss []string) l {
	out := make(l, len(ss))
	for i, s := range ss {
		out[i] = sub(s)
	}
	return out
}

func sortedKeys[V any](mp map[string]V) []string {
	ks := make([]string, 0, len(mp))
	for k := range mp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// marshal renders a template with a header comment.
func marshal(header string, v any) ([]byte, error) {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
