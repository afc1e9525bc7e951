package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeCommand is one command of the README's "Using it" block.
type readmeCommand struct {
	line     int    // in README.md
	text     string // as written
	wantExit int    // from its comment, "exits N"; else 0
}

var exitsComment = regexp.MustCompile(`#.*\bexits (\d+)`)

// readmeCommands extracts the shell block under "## Using it".
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataAbs, "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var cmds []readmeCommand
	section, block := false, false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "## "):
			section = l == "## Using it"
		case section && strings.HasPrefix(l, "```"):
			block = !block && strings.HasPrefix(l, "```sh")
		case section && block && l != "" && !strings.HasPrefix(l, "#"):
			c := readmeCommand{line: i + 1, text: l}
			if m := exitsComment.FindStringSubmatch(l); m != nil {
				c.wantExit, _ = strconv.Atoi(m[1])
			}
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in README.md's Using it block", len(cmds))
	}
	return cmds
}

// TestREADMECommands runs every command of the README's "Using it" block,
// verbatim and in order, in bash: ./keyrot is this test binary acting as
// keyrot (TestMain), so the sandbox really detaches and the commands
// really talk to it over HTTP. Each must exit as its comment says (0 when
// it says nothing). Only two things differ from a reader's shell: go build
// is skipped, and the sandbox listens on a free port rather than 4566.
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README against a detached sandbox")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "keyrot")); err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t)
	var script strings.Builder
	script.WriteString("trap 'kill ${KEYROT_SANDBOX_PID:-} 2>/dev/null' EXIT\n")
	var run []readmeCommand
	for _, c := range cmds {
		text := c.text
		switch {
		case strings.HasPrefix(text, "go build "):
			continue
		case strings.Contains(text, "./keyrot sandbox --detach"):
			text = strings.Replace(text, "./keyrot sandbox --detach", "./keyrot sandbox --detach --addr 127.0.0.1:0", 1)
		}
		run = append(run, c)
		fmt.Fprintf(&script, "echo '>>> README.md:%d' >&2\n%s\necho \"README.md:%d exit $?\" >&3\n", c.line, text, c.line)
	}
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir = dir
	state := t.TempDir()
	sh.Env = append(os.Environ(), asKeyrot+"=1", "HOME="+state, "KEYROT_STATE_DIR="+filepath.Join(state, "keyrot"),
		"AWS_CONFIG_FILE="+filepath.Join(state, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(state, "none"),
		"AWS_PROFILE=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "NO_COLOR=1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sh.ExtraFiles = []*os.File{w}
	var out bytes.Buffer
	sh.Stdout, sh.Stderr = &out, &out
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var status bytes.Buffer
	_, _ = status.ReadFrom(r)
	if err := sh.Wait(); err != nil {
		t.Logf("bash: %v", err)
	}
	got := strings.Split(strings.TrimSpace(status.String()), "\n")
	if len(got) != len(run) {
		t.Fatalf("%d of %d commands ran; output:\n%s", len(got), len(run), out.String())
	}
	for i, c := range run {
		want := fmt.Sprintf("README.md:%d exit %d", c.line, c.wantExit)
		if got[i] != want {
			t.Errorf("%s\n  %s, want %s", c.text, got[i], want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "keyrot.sarif")); err != nil || !bytes.Contains(b, []byte(`"version": "2.1.0"`)) {
		t.Errorf("keyrot.sarif: %v\n%.300s", err, b)
	}
}
