package kubetest

import "syscall"

// procAttr kills the child when the test binary dies, so that no etcd or
// kube-apiserver outlives a test run that was killed.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
