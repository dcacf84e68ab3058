//go:build unix

package devcluster

import "syscall"

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return errNotSupported
	}
	err := syscall.Kill(-pid, sig)
	if err == syscall.ESRCH {
		return nil // already gone
	}
	return err
}

// Pause stops the process group with SIGSTOP (a hung process: its sockets
// stay open, nothing answers); Resume continues it.
func (p *Proc) Pause() error { return p.Signal(syscall.SIGSTOP) }

// Resume continues a paused process group (SIGCONT).
func (p *Proc) Resume() error { return p.Signal(syscall.SIGCONT) }
