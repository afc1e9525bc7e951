package app

import (
	"os"
	"os/exec"
	"testing"
)

// TestLiveness: this process is alive; a process that has exited is not;
// a live PID with another start time is a reused PID, not the run's; a
// run of another host cannot be judged.
func TestLiveness(t *testing.T) {
	a := &App{Host: "here"}
	self := os.Getpid()
	start := processStart(self)
	if start == 0 {
		t.Fatal("cannot read this process's start time")
	}
	if alive, known := a.liveness("here", self, start); !alive || !known {
		t.Errorf("this process: alive=%v known=%v", alive, known)
	}
	if alive, known := a.liveness("here", self, start+1); alive || !known {
		t.Errorf("a reused PID: alive=%v known=%v", alive, known)
	}
	if _, known := a.liveness("elsewhere", self, start); known {
		t.Error("a run of another host was judged")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if alive, known := a.liveness("here", cmd.Process.Pid, 0); alive || !known {
		t.Errorf("an exited process: alive=%v known=%v", alive, known)
	}
}
