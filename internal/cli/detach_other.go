//go:build !unix

package cli

import "syscall"

// detachedProcess has nothing to add where sessions do not exist.
func detachedProcess() *syscall.SysProcAttr { return nil }
