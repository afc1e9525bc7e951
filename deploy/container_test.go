package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stateDir is where the image keeps its history database: the one
// directory it writes.
const stateDir = "/var/lib/keyrot"

// parseDockerfile parses deploy/container/Dockerfile with BuildKit's own
// parser, the one docker build uses.
func parseDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "container", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return stages
}

// TestDockerfile checks the image definition as BuildKit reads it:
// multi-stage, a distroless final stage that runs no command at build time
// (it has no shell), a numeric non-root user, no ADD of remote sources, the
// binary as the entry point in exec form, the state volume, and a default
// command whose flags the real binary has.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a runtime stage", len(stages))
	}
	names := map[string]bool{}
	for _, s := range stages[:len(stages)-1] {
		names[s.Name] = true
	}
	final := stages[len(stages)-1]
	if names[final.BaseName] {
		t.Errorf("final stage is FROM the build stage %q: it would carry the toolchain", final.BaseName)
	}
	if !strings.Contains(final.BaseName, "distroless/static") {
		t.Errorf("final stage FROM %s, want a distroless static base (no shell, no package manager)", final.BaseName)
	}

	// The build stage uses the Go of go.mod and builds with scripts/release.sh.
	gomod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	build := stages[0]
	if goLine == nil || !strings.HasPrefix(build.BaseName, "golang:"+string(goLine[1])) {
		t.Errorf("build stage FROM %s, want golang:%s (go.mod's go line)", build.BaseName, goLine[1])
	}
	var usesRelease bool
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "scripts/release.sh") {
			usesRelease = true
		}
	}
	if !usesRelease {
		t.Error("build stage does not build with scripts/release.sh, so the tested build is not the image's")
	}

	for _, s := range stages {
		for _, c := range s.Commands {
			if a, ok := c.(*instructions.AddCommand); ok {
				for _, src := range a.SourcePaths {
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
						t.Errorf("stage %q: ADD of a remote source %s (fetch in a RUN with a checksum, or COPY)", s.Name, src)
					}
				}
			}
		}
	}

	var user string
	var entry, cmd []string
	var entryShell bool
	env := map[string]string{}
	var volumes []string
	var copiedTo []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.RunCommand:
			t.Errorf("final stage runs %q at build time: a distroless base has no shell", c.String())
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entry, entryShell = c.CmdLine, c.PrependShell
		case *instructions.CmdCommand:
			cmd = c.CmdLine
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.VolumeCommand:
			volumes = append(volumes, c.Volumes...)
		case *instructions.CopyCommand:
			copiedTo = append(copiedTo, c.DestPath)
		}
	}
	uid, gid, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root UID (runAsNonRoot can only verify a number)", user)
	}
	if n, err := strconv.Atoi(gid); gid != "" && (err != nil || n == 0) {
		t.Errorf("USER %q: want a numeric non-root GID", user)
	}
	if entryShell || len(entry) != 1 || entry[0] != "/usr/local/bin/keyrot" {
		t.Errorf("ENTRYPOINT %q (shell form %v), want exec form [/usr/local/bin/keyrot]", entry, entryShell)
	}
	if !contains(copiedTo, "/usr/local/bin/keyrot") {
		t.Errorf("final stage copies to %v, not the entry point /usr/local/bin/keyrot", copiedTo)
	}
	if !contains(copiedTo, stateDir) {
		t.Errorf("final stage does not create %s owned by the runtime user (copies to %v)", stateDir, copiedTo)
	}
	if !contains(volumes, stateDir) {
		t.Errorf("VOLUME %v, want %s", volumes, stateDir)
	}
	for _, k := range []string{"KEYROT_STATE_DIR", "TMPDIR", "HOME"} {
		if v := env[k]; v != stateDir && !strings.HasPrefix(v, stateDir+"/") {
			t.Errorf("ENV %s=%q: want it on the state volume %s (the root filesystem is read-only)", k, v, stateDir)
		}
	}

	// The default command's flags exist in the real binary (serve once it
	// is built in; until then the entry point's apply form is checked by
	// the chart's test).
	_, bin := releaseBinary(t)
	if len(cmd) == 0 {
		t.Fatal("no CMD")
	}
	if commandFlags(t, bin, cmd[0]) == nil {
		t.Logf("CMD %q: this build has no %q command yet; its flags are not checked", cmd, cmd[0])
	} else {
		checkArgs(t, bin, cmd)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBinaryRunsOnReadOnlyRoot runs the image's binary (the same release
// build) as the image's non-root user with the whole root filesystem
// mounted read-only, as in a pod with readOnlyRootFilesystem, and only the
// state directory writable: --help, keyrot version, apply --help, and
// keyrot history, which creates the history database in the state
// directory, all work, so nothing is written anywhere else.
func TestBinaryRunsOnReadOnlyRoot(t *testing.T) {
	_, bin := releaseBinary(t)
	const uid = 65532 // the Dockerfile's USER
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a mount namespace with a read-only root and to switch to the image's UID")
	}
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (util-linux) not found: %v", tool, err)
		}
	}
	// The binary in a root-owned directory, mode 0555, and a state
	// directory owned by the image's user.
	// t.TempDir's parent is private to root: the image's user could not
	// reach the binary through it.
	dir, err := os.MkdirTemp("", "keyrot-rootfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "keyrot"), data, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(binDir, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, uid, uid); err != nil {
		t.Fatal(err)
	}
	// Inside a private mount namespace: the state directory becomes its
	// own writable mount, then the root mount is made read-only.
	run := func(args ...string) (string, error) {
		script := `set -e
mount --bind "$STATE" "$STATE"
mount -o remount,bind,ro /
if touch /keyrot-rootfs-probe 2>/dev/null; then echo "root filesystem still writable" >&2; exit 99; fi
cd /
exec setpriv --reuid ` + strconv.Itoa(uid) + ` --regid ` + strconv.Itoa(uid) + ` --clear-groups --no-new-privs \
  env -i PATH=/nonexistent HOME="$STATE" TMPDIR="$STATE" KEYROT_STATE_DIR="$STATE" "$BIN" "$@"`
		c := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"}, args...)...)
		c.Env = append(os.Environ(), "STATE="+state, "BIN="+filepath.Join(binDir, "keyrot"))
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run("--help")
	if err != nil {
		if strings.Contains(out, "unshare failed") || strings.Contains(out, "Operation not permitted") {
			t.Skipf("cannot make a mount namespace here: %s", out)
		}
		t.Fatalf("keyrot --help on a read-only root: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Usage:") {
		t.Errorf("keyrot --help printed %q", out)
	}
	out, err = run("version", "-o", "json")
	if err != nil {
		t.Fatalf("keyrot version on a read-only root: %v\n%s", err, out)
	}
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version != testVersion {
		t.Errorf("keyrot version -o json = %q (%v), want version %s", out, err, testVersion)
	}
	if out, err := run("apply", "--help"); err != nil || !strings.Contains(out, "--state-dir") {
		t.Errorf("keyrot apply --help on a read-only root: %v\n%s", err, out)
	}
	if out, err := run("history"); err != nil {
		t.Errorf("keyrot history on a read-only root with a writable state directory: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(state, "history.db"))
	if err != nil {
		t.Fatalf("keyrot history made no database in the state directory: %v", err)
	}
	if st, ok := statOwner(fi); ok && st != uid {
		t.Errorf("history.db owned by UID %d, want %d", st, uid)
	}
}
