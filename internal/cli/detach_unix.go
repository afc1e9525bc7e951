//go:build unix

package cli

import "syscall"

// detachedProcess starts a process in a session of its own, so that the
// terminal's hang-up and Ctrl-C do not reach it.
func detachedProcess() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
