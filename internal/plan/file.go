package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FileVersion is the schema version of saved plans.
const FileVersion = 1

// File is a saved plan, as `keyrot plan -o json` writes it and
// `keyrot apply --plan-file` reads it.
type File struct {
	SchemaVersion int   `json:"schema_version"`
	Plan          *Plan `json:"plan"`
}

// ErrBadFile marks a saved plan that cannot be used: not a plan file, the
// wrong version, too old, or no longer matching the organization.
var ErrBadFile = errors.New("unusable plan file")

// fileError is an ErrBadFile with its own words, written to follow the
// file's name: "plan.json is not a keyrot plan file".
type fileError string

func (e fileError) Error() string      { return string(e) }
func (fileError) Is(target error) bool { return target == ErrBadFile }

func badFile(format string, args ...any) error { return fileError(fmt.Sprintf(format, args...)) }

// Encode returns the saved-plan form of p, indented, ending in a newline.
func Encode(p *Plan) ([]byte, error) {
	b, err := json.MarshalIndent(File{SchemaVersion: FileVersion, Plan: p}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a saved plan. Errors wrap ErrBadFile.
func Decode(b []byte) (*Plan, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, badFile("is not a keyrot plan file (keyrot plan -o json --out-file): %v", err)
	}
	if f.Plan == nil {
		return nil, badFile("is not a keyrot plan file (keyrot plan -o json --out-file): it holds no plan")
	}
	if f.SchemaVersion != FileVersion {
		return nil, badFile("has plan schema version %d, this keyrot reads %d", f.SchemaVersion, FileVersion)
	}
	return f.Plan, nil
}

// CheckSaved checks that a saved plan may still be run at now: it is no
// older than maxAge (when positive) and every account it covered is
// readable in current, the plan computed now for the same scope. Errors
// wrap ErrBadFile.
func CheckSaved(saved, current *Plan, now time.Time, maxAge time.Duration) error {
	if age := now.Sub(saved.GeneratedAt); maxAge > 0 && age > maxAge {
		return badFile("was made %s ago, more than the allowed %s: make a new plan", age.Round(time.Minute), maxAge)
	}
	readable := map[string]bool{}
	for _, a := range current.Accounts {
		readable[a] = true
	}
	for _, a := range saved.Accounts {
		if !readable[a] {
			return badFile("no longer matches the organization: account %s is not readable now; make a new plan", a)
		}
	}
	return nil
}
