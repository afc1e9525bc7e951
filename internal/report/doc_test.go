package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestJSONFieldsDocumented fails when the JSON output has a field that
// docs/json-output.md does not describe in one of its tables.
func TestJSONFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "json-output.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := func(name, parent string) bool {
		return strings.Contains(string(doc), "| `"+name+"` |") ||
			(parent != "" && strings.Contains(string(doc), "| `"+parent+"."+name+"` |"))
	}
	r := fixtureReport()
	// Make every optional field appear.
	r.Result.Findings[0].Extra = map[string]string{"k": "v"}
	var v any
	if err := json.Unmarshal([]byte(render(t, "json", Options{}, r)), &v); err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	var walk func(v any, parent string)
	walk = func(v any, parent string) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				fields[k+"\x00"+parent] = true
				if k == "by_severity" || k == "extra" {
					continue // maps: their keys are data, not fields
				}
				walk(child, k)
			}
		case []any:
			for _, child := range x {
				walk(child, parent)
			}
		}
	}
	walk(v, "")
	var missing []string
	for f := range fields {
		name, parent, _ := strings.Cut(f, "\x00")
		if !documented(name, parent) {
			missing = append(missing, parent+"."+name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fields missing from docs/json-output.md: %s", strings.Join(missing, ", "))
	}
	if len(fields) < 40 {
		t.Errorf("walked only %d fields; the walk is broken", len(fields))
	}
}
