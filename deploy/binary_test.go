package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository's root directory (this package is deploy/).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// The release facts the test build is stamped with.
const (
	testVersion = "v0.0.0-deploytest"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testDate    = "2026-01-02T03:04:05Z"
)

var (
	relOnce sync.Once
	relDir  string
	relErr  error
	relOut  []byte
)

// releaseBinary builds keyrot for this machine's platform with
// scripts/release.sh, the build the container image runs, once per test
// binary, and returns the directory holding keyrot-GOOS-GOARCH and SHA256SUMS.
func releaseBinary(t *testing.T) (dir, bin string) {
	t.Helper()
	root := repoRoot(t)
	relOnce.Do(func() {
		relDir, relErr = os.MkdirTemp("", "keyrot-release-")
		if relErr != nil {
			return
		}
		cmd := exec.Command(filepath.Join(root, "scripts", "release.sh"), "-o", relDir, runtime.GOOS+"/"+runtime.GOARCH)
		cmd.Env = append(os.Environ(), "VERSION="+testVersion, "COMMIT="+testCommit, "DATE="+testDate)
		relOut, relErr = cmd.CombinedOutput()
	})
	if relErr != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", relErr, relOut)
	}
	return relDir, filepath.Join(relDir, "keyrot-"+runtime.GOOS+"-"+runtime.GOARCH)
}

// TestReleaseScript checks the release build: SHA256SUMS lists the binary
// with its real digest, the binary is static, and keyrot version reports the
// version, commit and date the script was given.
func TestReleaseScript(t *testing.T) {
	dir, bin := releaseBinary(t)
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(bin) + "\n"
	if string(sums) != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}
	// A static binary has no program interpreter (PT_INTERP): "go version -m"
	// shows CGO_ENABLED=0 and the file has no dynamic loader path.
	if bytes.Contains(data, []byte("/lib64/ld-linux")) || bytes.Contains(data, []byte("/lib/ld-linux")) {
		t.Errorf("%s names a dynamic loader: not static", bin)
	}
	mod, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, w := range []string{"CGO_ENABLED=0", "-trimpath=true"} {
		if !bytes.Contains(mod, []byte(w)) {
			t.Errorf("go version -m %s lacks %s:\n%s", bin, w, mod)
		}
	}

	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("keyrot version -o json: %v", err)
	}
	var v struct {
		SchemaVersion int    `json:"schema_version"`
		Version       string `json:"version"`
		Commit        string `json:"commit"`
		Date          string `json:"date"`
		Platform      string `json:"platform"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("keyrot version -o json: %v\n%s", err, out)
	}
	if v.SchemaVersion != 1 || v.Version != testVersion || v.Commit != testCommit || v.Date != testDate || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("keyrot version -o json = %+v, want %s %s %s %s/%s", v, testVersion, testCommit, testDate, runtime.GOOS, runtime.GOARCH)
	}
	short, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("keyrot --version: %v", err)
	}
	long, _ := exec.Command(bin, "version").Output()
	first, _, _ := strings.Cut(string(long), "\n")
	if strings.TrimSpace(string(short)) != first {
		t.Errorf("keyrot --version = %q, but keyrot version starts %q", short, first)
	}
	if !strings.HasPrefix(first, "keyrot "+testVersion+" (commit "+testCommit[:12]+", "+testDate) {
		t.Errorf("keyrot version's first line = %q", first)
	}
}

// flagRE finds long flags in cobra's help text.
var flagRE = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)

// commandFlags runs "keyrot CMD --help" and returns its long flags, or nil
// when the command does not exist in this build.
func commandFlags(t *testing.T, bin, command string) map[string]bool {
	t.Helper()
	out, err := exec.Command(bin, command, "--help").CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("unknown command")) {
			return nil
		}
		t.Fatalf("keyrot %s --help: %v\n%s", command, err, out)
	}
	if !bytes.Contains(out, []byte("keyrot "+command)) {
		// cobra prints the root's help for an unknown subcommand given --help.
		return nil
	}
	flags := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	return flags
}

// checkArgs fails t unless every --flag in args is a flag of the command
// args[0] in the real binary.
func checkArgs(t *testing.T, bin string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("no command line")
	}
	flags := commandFlags(t, bin, args[0])
	if flags == nil {
		t.Fatalf("keyrot has no command %q", args[0])
	}
	var unknown []string
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !flags[name] {
			unknown = append(unknown, a)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("keyrot %s has no flag %v (its flags: %v)", args[0], unknown, keys(flags))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
