package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// goreleaserConfig is the part of .goreleaser.yaml the test compares.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Builds  []struct {
		Main    string   `yaml:"main"`
		Env     []string `yaml:"env"`
		GOOS    []string `yaml:"goos"`
		GOARCH  []string `yaml:"goarch"`
		Flags   []string `yaml:"flags"`
		LDFlags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Checksum struct {
		Algorithm string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

var xFlagRE = regexp.MustCompile(`-X (\S+?)=`)

// TestGoreleaserMatchesReleaseScript: .goreleaser.yaml builds the same
// targets as scripts/release.sh, static and with -trimpath, and sets the
// same version variables that keyrot version reads.
func TestGoreleaserMatchesReleaseScript(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaserConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 {
		t.Fatalf(".goreleaser.yaml: version %d with %d builds, want version 2 and one build", cfg.Version, len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/keyrot" || !contains(b.Env, "CGO_ENABLED=0") || !contains(b.Flags, "-trimpath") {
		t.Errorf("build main %q env %v flags %v: want ./cmd/keyrot, CGO_ENABLED=0, -trimpath", b.Main, b.Env, b.Flags)
	}
	var targets []string
	for _, os := range b.GOOS {
		for _, arch := range b.GOARCH {
			targets = append(targets, os+"/"+arch)
		}
	}
	sort.Strings(targets)
	out, err := exec.Command(filepath.Join(root, "scripts", "release.sh"), "--targets").Output()
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Fields(string(out))
	sort.Strings(script)
	if diff := cmp.Diff(script, targets); diff != "" {
		t.Errorf("targets (-release.sh +goreleaser):\n%s", diff)
	}
	if cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm %q", cfg.Checksum.Algorithm)
	}

	out, err = exec.Command(filepath.Join(root, "scripts", "release.sh"), "--ldflags").Output()
	if err != nil {
		t.Fatal(err)
	}
	xs := func(s string) []string {
		var vars []string
		for _, m := range xFlagRE.FindAllStringSubmatch(s, -1) {
			vars = append(vars, m[1])
		}
		sort.Strings(vars)
		return vars
	}
	want := []string{
		"github.com/keyrot/keyrot/internal/buildinfo.commit",
		"github.com/keyrot/keyrot/internal/buildinfo.date",
		"github.com/keyrot/keyrot/internal/buildinfo.version",
	}
	if diff := cmp.Diff(want, xs(string(out))); diff != "" {
		t.Errorf("release.sh -X variables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, xs(strings.Join(b.LDFlags, " "))); diff != "" {
		t.Errorf(".goreleaser.yaml -X variables (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), "-s -w") || !strings.Contains(strings.Join(b.LDFlags, " "), "-s -w") {
		t.Error("release.sh and .goreleaser.yaml must both strip (-s -w)")
	}

	// goreleaser's own check, where goreleaser is installed.
	bin := os.Getenv("KEYROT_GORELEASER")
	if bin == "" {
		bin, _ = exec.LookPath("goreleaser")
	}
	if bin == "" {
		if os.Getenv("KEYROT_REQUIRE_GORELEASER") != "" {
			t.Fatal("goreleaser not found and KEYROT_REQUIRE_GORELEASER is set (go install github.com/goreleaser/goreleaser/v2@v2.15.1)")
		}
		t.Log("goreleaser not found (KEYROT_GORELEASER): goreleaser check not run")
		return
	}
	cmd := exec.Command(bin, "check", "-f", filepath.Join(root, ".goreleaser.yaml"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("goreleaser check: %v\n%s", err, out)
	}
}
