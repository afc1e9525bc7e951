package sandbox

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	scenarioType    = reflect.TypeOf(Scenario{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// checkKnownFields walks a YAML node against the Go type it decodes into
// and reports every mapping key that names no field, with its line and
// path. yaml.v3's KnownFields only applies to a Decoder, and its messages
// name Go types; this names the scenario's own fields.
func checkKnownFields(n *yaml.Node, t reflect.Type, path string) []Problem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	var probs []Problem
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return nil
			}
			return []Problem{{Line: n.Line, Path: path, Message: "want a mapping"}}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				probs = append(probs, Problem{Line: k.Line, Path: join(path, k.Value), Message: "unknown field (known: " + strings.Join(sortedKeys(fields), ", ") + ")"})
				continue
			}
			probs = append(probs, checkKnownFields(v, f.Type, join(path, k.Value))...)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Tag == "!!null" {
				return nil
			}
			return []Problem{{Line: n.Line, Path: path, Message: "want a list"}}
		}
		for i, c := range n.Content {
			probs = append(probs, checkKnownFields(c, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return nil
			}
			return []Problem{{Line: n.Line, Path: path, Message: "want a mapping"}}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			probs = append(probs, checkKnownFields(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return []Problem{{Line: n.Line, Path: path, Message: "want a single value"}}
		}
	}
	return probs
}

// yamlFields maps a struct's YAML keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// lineOf finds the line of a path such as accounts[2].users[0].keys[1].age
// in a decoded document. When the path does not exist (a missing field),
// it returns the line of the deepest node that does.
func lineOf(root *yaml.Node, path string) int {
	if root == nil {
		return 0
	}
	n, line := root, root.Line
	for _, tok := range splitPath(path) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		if idx, err := strconv.Atoi(tok); err == nil && n.Kind == yaml.SequenceNode {
			if idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		} else if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// splitPath splits a.b[2].c into a, b, 2, c.
func splitPath(p string) []string {
	var out []string
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, part)
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				out = append(out, part[i+1:])
				break
			}
			out = append(out, part[i+1:i+j])
			part = part[i+j+1:]
		}
	}
	return out
}
