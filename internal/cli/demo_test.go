package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDemo runs `keyrot demo` end to end: an in-process sandbox with the
// demo organization, summarized through the real SDK.
func TestDemo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^keyrot demo: sandbox at http://127\.0\.0\.1:\d+ with scenario "demo"\n$`).MatchString(stderr) {
		t.Errorf("stderr %q", stderr)
	}
	golden := filepath.Join("testdata", "demo.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), stdout); diff != "" {
		t.Errorf("demo output (-want +got):\n%s", diff)
	}
}

func TestDemoBadScenario(t *testing.T) {
	code, _, stderr := runCLI(t, "demo", "--scenario", "nope")
	if code != ExitUsage || !regexp.MustCompile(`unknown scenario "nope"`).MatchString(stderr) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
