//go:build !unix

package devcluster

import (
	"os"
	"syscall"
)

// sysProcAttr: no process groups here; children are signalled one by one.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the process (other signals cannot be delivered here).
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if sig != syscall.SIGKILL {
		return errNotSupported
	}
	return p.Kill()
}
