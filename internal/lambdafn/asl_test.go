package lambdafn_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// aslValidator returns testdata/asl-validator's asl-validator (npm
// asl-validator, pinned with its lockfile). It skips the test when node or
// the package is missing, unless KEYROT_REQUIRE_ASL_VALIDATOR=1 (set by CI,
// which runs npm ci there).
func aslValidator(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "asl-validator")
	bin, err := filepath.Abs(filepath.Join(dir, "node_modules", ".bin", "asl-validator"))
	if err == nil {
		_, err = exec.LookPath("node")
	}
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		if os.Getenv("KEYROT_REQUIRE_ASL_VALIDATOR") == "1" {
			t.Fatalf("asl-validator is required (KEYROT_REQUIRE_ASL_VALIDATOR=1): %v; run npm ci --prefix internal/lambdafn/%s", err, dir)
		}
		t.Skipf("asl-validator not installed (%v); run npm ci --prefix internal/lambdafn/%s", err, dir)
	}
	return bin
}

// validate runs asl-validator on the definition def.
func validate(t *testing.T, bin, def string) (bool, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keyrot.asl.json")
	if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--json-path", file).CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("asl-validator: %v", err)
	}
	return err == nil, string(out)
}

// TestStateMachineDefinitionValid: asl-validator accepts
// deploy/stepfunctions/keyrot.asl.json as committed (CloudFormation's
// ${...} substitutions are all inside strings, so the file is JSON) and as
// deployed, with the substitutions made; and it rejects the definition
// with a state taken out, so its verdict means something.
func TestStateMachineDefinitionValid(t *testing.T) {
	bin := aslValidator(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "stepfunctions", "keyrot.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range map[string]string{"as committed": string(raw), "as deployed": definition(t, subs)} {
		if ok, out := validate(t, bin, def); !ok {
			t.Errorf("%s: invalid:\n%s", name, out)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["States"].(map[string]any), "Reporter")
	broken, _ := json.Marshal(doc)
	if ok, out := validate(t, bin, string(broken)); ok || !strings.Contains(out, "Reporter") {
		t.Errorf("without its Reporter state the definition passes:\n%s", out)
	}
}

// TestStateMachineRetries: every Lambda task retries Lambda's own transient
// errors and keyrot's throttling error with backoff, and the worker loop
// has a way out on failure, read from the definition itself.
func TestStateMachineRetries(t *testing.T) {
	var doc struct {
		States map[string]struct {
			Type  string
			Retry []struct {
				ErrorEquals []string
				BackoffRate float64
				MaxAttempts int
			}
			ItemProcessor struct {
				ProcessorConfig struct{ Mode string }
				States          map[string]struct {
					Type  string
					Retry []struct {
						ErrorEquals []string
						BackoffRate float64
						MaxAttempts int
					}
					Catch []struct {
						ErrorEquals []string
						Next        string
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(definition(t, subs)), &doc); err != nil {
		t.Fatal(err)
	}
	type retry = []struct {
		ErrorEquals []string
		BackoffRate float64
		MaxAttempts int
	}
	tasks := map[string]retry{
		"Coordinator": doc.States["Coordinator"].Retry,
		"Reporter":    doc.States["Reporter"].Retry,
		"Worker":      doc.States["Batches"].ItemProcessor.States["Worker"].Retry,
	}
	for name, rs := range tasks {
		for _, want := range []string{"Lambda.TooManyRequestsException", "Lambda.ServiceException", "keyrot.Throttled"} {
			found := false
			for _, r := range rs {
				if strings.Contains(strings.Join(r.ErrorEquals, ","), want) && r.BackoffRate > 1 && r.MaxAttempts > 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s does not retry %s with backoff", name, want)
			}
		}
	}
	if m := doc.States["Batches"]; m.Type != "Map" || m.ItemProcessor.ProcessorConfig.Mode != "DISTRIBUTED" {
		t.Errorf("Batches is not a Distributed Map: %+v", m)
	}
	if c := doc.States["Batches"].ItemProcessor.States["Worker"].Catch; len(c) == 0 || c[0].Next != "BatchFailed" {
		t.Errorf("the worker has no Catch ending its batch with the error: %+v", c)
	}
}
