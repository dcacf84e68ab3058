//go:build linux

package devcluster

import "syscall"

// sysProcAttr puts the child in its own process group (signals reach all
// it starts; a terminal's Ctrl-C reaches only the supervisor, which stops
// the children in order) and has the kernel kill it if the supervisor
// dies, so no child outlives a crashed supervisor or test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
