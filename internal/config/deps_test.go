package config

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/keyrot/keyrot"

// forbiddenInCore reports whether the pure core and the sandbox must not
// link dep: the AWS SDK, SQLite, the history store, the notifiers.
func forbiddenInCore(dep string) bool {
	for _, p := range []string{"github.com/aws/", "modernc.org/sqlite", module + "/internal/history", module + "/internal/notify"} {
		if dep == strings.TrimSuffix(p, "/") || strings.HasPrefix(dep, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// TestCoreDependencies keeps the layering: the decision core (plan, audit),
// the policy and the sandbox link neither the AWS SDK nor SQLite, nor the
// packages that do (history, notify). keyrot.yaml as a whole is decoded
// here, at the composition root, instead. Each violation is shown with the
// import chain that brings it in.
func TestCoreDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	for _, pkg := range []string{"internal/plan", "internal/audit", "internal/policy", "internal/sandbox"} {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/"+pkg).Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
			}
			imports := map[string][]string{}
			var deps []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) == 0 {
					continue
				}
				imports[f[0]] = f[1:]
				deps = append(deps, f[0])
			}
			chains := importChains(module+"/"+pkg, imports)
			for _, dep := range deps {
				if !forbiddenInCore(dep) {
					continue
				}
				// Name only where the forbidden part starts, not all it drags in.
				chain := chains[dep]
				if len(chain) > 1 && forbiddenInCore(chain[len(chain)-2]) {
					continue
				}
				t.Errorf("%s depends on %s: %s", pkg, dep, strings.Join(chain, " -> "))
			}
		})
	}
}

// importChains returns, for every package reachable from root, a shortest
// import chain from root to it.
func importChains(root string, imports map[string][]string) map[string][]string {
	chains := map[string][]string{root: {root}}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := chains[q]; seen {
				continue
			}
			chains[q] = append(append([]string(nil), chains[p]...), q)
			queue = append(queue, q)
		}
	}
	return chains
}
