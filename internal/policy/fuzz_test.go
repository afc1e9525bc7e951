package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input panics and that whatever Parse accepts
// also passes Validate. The seed corpus is testdata/fuzz/FuzzParse plus
// every fixture.
func FuzzParse(f *testing.F) {
	f.Add(Init())
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted a policy that Validate rejects: %v\ninput:\n%s", err, data)
		}
	})
}
