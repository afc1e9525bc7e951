package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestApplyProgressPhases: an unattended apply (stderr not a terminal,
// --progress auto) logs every phase and every step as structured lines.
func TestApplyProgressPhases(t *testing.T) {
	e := startLifecycle(t, "")
	withPolicy(t, e, notifyPolicy)
	e.Server.Clock().Advance(5 * day) // day 90
	flags := append([]string{"apply", "--yes"}, e.flags...)
	flags = append(flags, "--progress", "auto") // the last one wins over e.flags' none
	code, _, stderr := runCLI(t, flags...)
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"msg=phase phase=collect", "msg=progress phase=collect done=1 total=1",
		"msg=phase phase=gather",
		"msg=phase phase=execute", "msg=progress phase=execute done=1 total=1",
		"msg=phase phase=notify", "msg=progress phase=notify done=1 total=1",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, "elapsed=") {
		t.Errorf("progress lines carry no elapsed time:\n%s", stderr)
	}
}

// TestLiveProgress: on a terminal each phase gets a redrawn status line
// with its count and its timers, and a new phase ends the previous line.
func TestLiveProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newLiveProgress(&buf)
	p.ticker.Stop()
	p.Phase("collect")
	p.Step("collect", 1, 2, "111122223333")
	p.Phase("execute")
	p.Step("execute", 3, 4, "111122223333/app create-key: succeeded")
	out := buf.String()
	for _, want := range []string{"\r\033[Kcollect  [############            ] 1/2  111122223333  0s (total 0s)", "\n", "\r\033[Kexecute  [##################      ] 3/4  111122223333/app create-key: succeeded  0s (total 0s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("live progress lacks %q:\n%q", want, out)
		}
	}
}
