package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// schemaCheck is a tiny JSON Schema checker covering the keywords
// schema.json uses: $ref, type, properties, additionalProperties, required,
// minProperties, items, enum, pattern, minimum, maximum, minLength, maxLength.
type schemaCheck struct {
	root map[string]any
	errs []string
}

func (c *schemaCheck) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

func (c *schemaCheck) check(s map[string]any, v any, path string) {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		c.check(c.root["$defs"].(map[string]any)[name].(map[string]any), v, path)
	}
	if types, ok := s["type"].([]any); ok { // "type": ["string", "integer"]: the one v is
		one := map[string]any{}
		for k, x := range s {
			one[k] = x
		}
		one["type"] = types[0]
		for _, t := range types {
			if t == jsonType(v) {
				one["type"] = t
			}
		}
		s = one
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			c.errorf(path, "want object, got %T", v)
			return
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					c.errorf(path, "unexpected property %q", k)
				}
				continue
			}
			c.check(ps, val, path+"."+k)
		}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := m[r.(string)]; !ok {
					c.errorf(path, "missing required %q", r)
				}
			}
		}
		if mp, ok := s["minProperties"].(float64); ok && len(m) < int(mp) {
			c.errorf(path, "fewer than %v properties", mp)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			c.errorf(path, "want array, got %T", v)
			return
		}
		if is, ok := s["items"].(map[string]any); ok {
			for i, e := range a {
				c.check(is, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			c.errorf(path, "want string, got %T", v)
			return
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			c.errorf(path, "%q does not match %s", str, p)
		}
		if n, ok := s["minLength"].(float64); ok && len(str) < int(n) {
			c.errorf(path, "shorter than %v", n)
		}
		if n, ok := s["maxLength"].(float64); ok && len(str) > int(n) {
			c.errorf(path, "longer than %v", n)
		}
	case "integer":
		n, ok := v.(int)
		if !ok {
			c.errorf(path, "want integer, got %T", v)
			return
		}
		if m, ok := s["minimum"].(float64); ok && float64(n) < m {
			c.errorf(path, "%d below minimum %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && float64(n) > m {
			c.errorf(path, "%d above maximum %v", n, m)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.errorf(path, "want boolean, got %T", v)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			c.errorf(path, "%v not in %v", v, enum)
		}
	}
}

// jsonType names v's JSON Schema type.
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case int:
		return "integer"
	case bool:
		return "boolean"
	}
	return "string"
}

// yamlValue turns a YAML node into plain Go values, keeping dates as strings.
func yamlValue(n *yaml.Node) any {
	switch n.Kind {
	case 0: // an empty file
		return map[string]any{}
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return map[string]any{}
		}
		return yamlValue(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = yamlValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		a := []any{}
		for _, c := range n.Content {
			a = append(a, yamlValue(c))
		}
		return a
	}
	switch n.Tag {
	case "!!int":
		i, _ := strconv.Atoi(n.Value)
		return i
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	}
	return n.Value
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	return s
}

func schemaErrors(t *testing.T, data []byte) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	s := loadSchema(t)
	c := &schemaCheck{root: s}
	c.check(s, yamlValue(&n), "$")
	sort.Strings(c.errs)
	return c.errs
}

func TestSchemaAcceptsDefaultAndGoodFixtures(t *testing.T) {
	if errs := schemaErrors(t, Init()); len(errs) > 0 {
		t.Errorf("default keyrot.yaml does not conform:\n%s", strings.Join(errs, "\n"))
	}
	files, _ := filepath.Glob("testdata/good/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if errs := schemaErrors(t, data); len(errs) > 0 {
			t.Errorf("%s does not conform:\n%s", f, strings.Join(errs, "\n"))
		}
	}
}

// The checker must be able to fail, or the test above proves nothing.
func TestSchemaRejects(t *testing.T) {
	tests := map[string]string{
		"unknown_key.yaml":            `$.access_keys: unexpected property "rotate_afer"`,
		"max_active_keys.yaml":        `$.access_keys.max_active_keys: 3 above maximum 2`,
		"bad_mode.yaml":               `$.rotation.mode: yolo not in [enforce audit-only]`,
		"exemption_no_reason.yaml":    `$.exemptions[0]: missing required "reason"`,
		"bad_duration.yaml":           `$.access_keys.rotate_after: "ninety" does not match ` + loadSchema(t)["$defs"].(map[string]any)["duration"].(map[string]any)["pattern"].(string),
		"exemption_unknown_rule.yaml": `$.exemptions[0].rules[1]: key-too-old not in [access-key-age access-key-unused access-key-multiple-active access-key-setup-unused access-key-inactive-lingering root-access-key root-no-mfa console-no-mfa console-unused exemption-expired key-last-used-unknown account-not-audited server-certificate-expired server-certificate-expiring certificate-expired certificate-expiring certificate-imported certificate-unused secret-rotation-disabled secret-rotation-overdue secret-rotation-failed secret-unused trust-anchor-expired trust-anchor-expiring trust-anchor-disabled-expired trust-anchor-unreadable service-credential-age service-credential-inactive-lingering bedrock-api-key-no-expiry bedrock-api-key-lifetime signing-certificate-age signing-certificate-inactive-lingering ssh-key-age ssh-key-inactive-lingering password-age password-policy-missing password-policy-weak]`,
	}
	for name, want := range tests {
		data, err := os.ReadFile(filepath.Join("testdata/bad", name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{want}, schemaErrors(t, data)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// The schema's properties must be exactly the Policy struct's yaml keys, and
// its rule enum exactly KnownRules, so the two cannot drift apart.
func TestSchemaMatchesStruct(t *testing.T) {
	s := loadSchema(t)
	var walk func(t reflect.Type, sch map[string]any, path string)
	walk = func(typ reflect.Type, sch map[string]any, path string) {
		if ref, ok := sch["$ref"].(string); ok {
			sch = s["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if it, ok := sch["items"].(map[string]any); ok {
				sch = it
			}
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(time.Time{}) || typ == reflect.TypeOf(yaml.Node{}) {
			return
		}
		props, _ := sch["properties"].(map[string]any)
		var schemaKeys []string
		for k := range props {
			schemaKeys = append(schemaKeys, k)
		}
		sort.Strings(schemaKeys)
		idx := map[string]int{}
		var names []string
		for i := range typ.NumField() {
			if key, ok := yamlconf.FieldKey(typ.Field(i)); ok {
				idx[key] = i
				names = append(names, key)
			}
		}
		sort.Strings(names)
		if diff := cmp.Diff(names, schemaKeys); diff != "" {
			t.Errorf("%s: schema properties differ from %s fields (-struct +schema):\n%s", path, typ, diff)
		}
		for _, n := range names {
			if ps, ok := props[n].(map[string]any); ok {
				walk(typ.Field(idx[n]).Type, ps, path+"."+n)
			}
		}
	}
	walk(reflect.TypeOf(Policy{}), s, "$")
	var enum []string
	for _, r := range s["$defs"].(map[string]any)["ruleId"].(map[string]any)["enum"].([]any) {
		enum = append(enum, r.(string))
	}
	if diff := cmp.Diff(KnownRules(), enum); diff != "" {
		t.Errorf("schema rule enum differs from KnownRules (-want +got):\n%s", diff)
	}
}
