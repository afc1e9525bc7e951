// Package deploygen writes keyrot's deployment templates (deploy/cloudformation,
// deploy/terraform) from one source of truth: the IAM policy documents of
// internal/permissions and the state machine definition in
// deploy/stepfunctions. `go generate ./deploy` runs it; a test regenerates
// into a temporary directory and compares with the committed files.
package deploygen

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// ASLPath is the state machine definition, relative to the repository root.
const ASLPath = "deploy/stepfunctions/keyrot.asl.json"

// Files returns the generated files by path relative to the repository
// root, reading the state machine definition under root.
func Files(root string) (map[string][]byte, error) {
	asl, err := os.ReadFile(filepath.Join(root, ASLPath))
	if err != nil {
		return nil, fmt.Errorf("read state machine definition: %w", err)
	}
	out := map[string][]byte{}
	central, err := Central(asl)
	if err != nil {
		return nil, fmt.Errorf("central template: %w", err)
	}
	out["deploy/cloudformation/central.yaml"] = central
	member, err := MemberStackSet()
	if err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	out["deploy/cloudformation/member-stackset.yaml"] = member
	mgmt, err := Management()
	if err != nil {
		return nil, fmt.Errorf("management template: %w", err)
	}
	out["deploy/cloudformation/management.yaml"] = mgmt
	tf, err := Terraform(asl)
	if err != nil {
		return nil, fmt.Errorf("terraform policies: %w", err)
	}
	for p, b := range tf {
		out[p] = b
	}
	return out, nil
}

// Write writes Files(root) under dir (root itself for go generate).
func Write(root, dir string) error {
	files, err := Files(root)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
