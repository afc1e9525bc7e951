package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/buildinfo"
)

// TestVersionCommand checks keyrot version in both formats against the
// binary's build information, and that --version and -v print its first line.
func TestVersionCommand(t *testing.T) {
	in := buildinfo.Get()
	code, out, stderr := runCLI(t, "version", "-o", "json")
	if code != ExitOK {
		t.Fatalf("version -o json: exit %d, stderr %q", code, stderr)
	}
	var got versionJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if diff := cmp.Diff(versionJSON{SchemaVersion: VersionSchemaVersion, Info: in}, got); diff != "" {
		t.Errorf("version -o json (-want +got):\n%s", diff)
	}
	if Version != in.Version {
		t.Errorf("cli.Version = %q, buildinfo says %q", Version, in.Version)
	}

	code, text, stderr := runCLI(t, "version")
	if code != ExitOK {
		t.Fatalf("version: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != "keyrot "+in.String() {
		t.Errorf("first line %q, want %q", lines[0], "keyrot "+in.String())
	}
	for _, want := range []string{"version:", "commit:", "modified:", "date:", "go:", "platform:", "module:"} {
		if !strings.Contains(text, "\n"+want+" ") {
			t.Errorf("keyrot version lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, in.GoVersion) || !strings.Contains(text, in.Module.Path) {
		t.Errorf("keyrot version does not show Go %s and module %s:\n%s", in.GoVersion, in.Module.Path, text)
	}

	for _, flag := range []string{"--version", "-v"} {
		code, out, _ := runCLI(t, flag)
		if code != ExitOK || out != lines[0]+"\n" {
			t.Errorf("keyrot %s: exit %d, %q; want %q", flag, code, out, lines[0]+"\n")
		}
	}

	code, _, stderr = runCLI(t, "version", "-o", "yaml")
	if code != ExitUsage || !strings.Contains(stderr, "--output must be text or json") {
		t.Errorf("version -o yaml: exit %d, stderr %q; want %d and the accepted formats", code, stderr, ExitUsage)
	}
}

// TestVersionText checks the text form of a release build's facts.
func TestVersionText(t *testing.T) {
	in := buildinfo.Info{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-01-02T03:04:05Z",
		GoVersion: "go1.26.8", Platform: "linux/arm64", Module: buildinfo.Module{Path: "github.com/keyrot/keyrot", Version: "v1.2.3", Sum: "h1:x="}}
	var b bytes.Buffer
	if err := runVersion(&b, &versionOptions{Output: "text"}, in); err != nil {
		t.Fatal(err)
	}
	want := `keyrot v1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, go1.26.8 linux/arm64)
version:   v1.2.3
commit:    0123456789abcdef0123456789abcdef01234567
modified:  no
date:      2026-01-02T03:04:05Z
go:        go1.26.8
platform:  linux/arm64
module:    github.com/keyrot/keyrot v1.2.3 h1:x=
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("keyrot version (-want +got):\n%s", diff)
	}
}
