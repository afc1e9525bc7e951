//go:build !linux

package kubetest

import "syscall"

// procAttr: elsewhere the processes are stopped by Stop only.
func procAttr() *syscall.SysProcAttr { return nil }
