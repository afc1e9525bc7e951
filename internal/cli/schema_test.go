package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// jsonSchema checks a JSON document against a schema of docs/schemas/,
// with the keywords they use: $ref, type, const, enum, properties,
// required, additionalProperties, items, minimum, pattern.
type jsonSchema struct {
	root map[string]any
	errs []string
}

func loadJSONSchema(t *testing.T, name string) *jsonSchema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataAbs, "..", "..", "..", "docs", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &jsonSchema{root: root}
}

// validate returns every way doc breaks the schema.
func (s *jsonSchema) validate(t *testing.T, doc string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	s.errs = nil
	s.check(s.root, v, "$")
	sort.Strings(s.errs)
	return s.errs
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func (s *jsonSchema) check(sc map[string]any, v any, path string) {
	if ref, ok := sc["$ref"].(string); ok {
		s.check(s.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any), v, path)
	}
	if c, ok := sc["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		s.errs = append(s.errs, fmt.Sprintf("%s: %v, want %v", path, v, c))
	}
	if enum, ok := sc["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		s.errs = append(s.errs, fmt.Sprintf("%s: %v not in %v", path, v, enum))
	}
	if ty, ok := sc["type"]; ok {
		kinds := []string{}
		switch x := ty.(type) {
		case string:
			kinds = append(kinds, x)
		case []any:
			for _, k := range x {
				kinds = append(kinds, k.(string))
			}
		}
		got := jsonKind(v)
		okType := false
		for _, k := range kinds {
			if k == got || (k == "number" && got == "integer") {
				okType = true
			}
		}
		if !okType {
			s.errs = append(s.errs, fmt.Sprintf("%s: %s, want %v", path, got, kinds))
			return
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := sc["properties"].(map[string]any)
		for k, val := range x {
			if ps, ok := props[k].(map[string]any); ok {
				s.check(ps, val, path+"."+k)
				continue
			}
			switch ap := sc["additionalProperties"].(type) {
			case bool:
				if !ap {
					s.errs = append(s.errs, fmt.Sprintf("%s: member %q is not in the schema", path, k))
				}
			case map[string]any:
				s.check(ap, val, path+"."+k)
			}
		}
		req, _ := sc["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				s.errs = append(s.errs, fmt.Sprintf("%s: missing %q", path, r))
			}
		}
	case []any:
		if is, ok := sc["items"].(map[string]any); ok {
			for i, e := range x {
				s.check(is, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case float64:
		if m, ok := sc["minimum"].(float64); ok && x < m {
			s.errs = append(s.errs, fmt.Sprintf("%s: %v below %v", path, x, m))
		}
	case string:
		if p, ok := sc["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			s.errs = append(s.errs, fmt.Sprintf("%s: %q does not match %s", path, x, p))
		}
	}
}

// TestJSONSchemas: the JSON of audit, plan, apply, history, rules and version conforms to
// its schema in docs/schemas/, which lists every member (a member the
// schema does not know fails the test), on the demo organization.
func TestJSONSchemas(t *testing.T) {
	e := startRotationEnv(t, "demo")
	_, planJSON, _ := e.run(t, "plan", "-o", "json") // exit 5 (one account unreadable), the plan written
	_, applyJSON, stderr := e.run(t, "apply", "--yes", "--allow-partial", "-o", "json")
	_, dryJSON, _ := e.run(t, "apply", "--yes", "--allow-partial", "--dry-run", "-o", "json")
	_, runsJSON, _ := runCLI(t, "history", "--state-dir", e.stateDir, "-o", "json")
	_, storyJSON, _ := runCLI(t, "history", "--state-dir", e.stateDir, "-o", "json", "--account", "345678901234", "--user", "ci-deploy")
	_, rulesJSON, _ := runCLI(t, "rules", "-o", "json")
	_, auditJSON, _ := e.audit(t, "-o", "json")
	_, versionJSON, _ := runCLI(t, "version", "-o", "json")
	for _, tt := range []struct{ schema, doc string }{
		{"plan.schema.json", planJSON},
		{"outcomes.schema.json", applyJSON},
		{"outcomes.schema.json", dryJSON},
		{"history-runs.schema.json", runsJSON},
		{"history-story.schema.json", storyJSON},
		{"rules.schema.json", rulesJSON},
		{"audit.schema.json", auditJSON},
		{"version.schema.json", versionJSON},
	} {
		if errs := loadJSONSchema(t, tt.schema).validate(t, tt.doc); len(errs) > 0 {
			t.Errorf("%s:\n%s\n(stderr of apply: %s)", tt.schema, strings.Join(errs, "\n"), stderr)
		}
	}
	// The checker must be able to fail.
	if errs := loadJSONSchema(t, "rules.schema.json").validate(t, `{"schema_version": 1, "rules": [{"id": 3}], "extra": true}`); len(errs) < 3 {
		t.Errorf("a bad document passed: %v", errs)
	}
}
