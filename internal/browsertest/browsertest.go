// Package browsertest runs headless Chromium for layout tests: a page
// rendered at a window size, its DOM after scripts ran (whose title a test's
// probe script sets), screenshots and PDFs.
package browsertest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// Chromium returns a headless Chromium's path, or skips the test (fails it
// when KEYROT_REQUIRE_CHROMIUM=1, as in CI).
func Chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KEYROT_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("Chromium is required (KEYROT_REQUIRE_CHROMIUM=1) and was not found")
	}
	t.Skip("no Chromium for the layout test")
	return ""
}

// Run runs Chromium headless with args, in a fresh profile and without
// the background traffic a closed network refuses, and returns its
// standard output.
func Run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// ArtifactDir returns the folder for a test's pages, screenshots and
// PDFs: the one the environment variable env names, to keep them, else a
// temporary one.
func ArtifactDir(t *testing.T, env string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	return t.TempDir()
}

// WriteFile writes text to name in dir and returns the file's URL.
func WriteFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

// Title returns the title of a DOM dump (--dump-dom), or "".
func Title(dom []byte) string {
	m := titleRE.FindSubmatch(dom)
	if m == nil {
		return ""
	}
	return string(m[1])
}
