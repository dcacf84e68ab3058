package devcluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is one child process of the cluster (a server or an agent),
// started in its own process group so a signal reaches everything it
// started, and killed with the parent if the parent dies (on Linux).
type Proc struct {
	Name string
	// Args are the arguments after the binary (e.g. "server", "--id", …).
	Args []string
	// Env is added to the parent's environment.
	Env []string
	// LogPath receives the child's stdout and stderr (appended, so a
	// restart adds to it).
	LogPath string

	bin string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	starts  int
	// stopping is set when the cluster stops the process on purpose.
	stopping bool
}

// start launches the process (again).
func (p *Proc) start(extraOut io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.done != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running (pid %d)", p.Name, p.cmd.Process.Pid)
		}
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: log file: %w", p.Name, err)
	}
	var out io.Writer = logf
	if extraOut != nil {
		out = io.MultiWriter(logf, extraOut)
	}
	fmt.Fprintf(logf, "---- %s start #%d: %s %v\n", time.Now().Format(time.RFC3339Nano), p.starts+1, p.bin, p.Args)
	cmd := exec.Command(p.bin, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr, p.stopping = cmd, done, nil, false
	p.starts++
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the process ID of the current incarnation (0 if never started).
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts is how many times the process was started.
func (p *Proc) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Done is closed when the current incarnation exits.
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// Running reports whether the current incarnation is alive.
func (p *Proc) Running() bool {
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// ExitErr is how the last incarnation ended (nil while running or after a
// clean exit).
func (p *Proc) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	pid := p.Pid()
	if pid == 0 || !p.Running() {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return signalGroup(pid, sig)
}

// Kill sends SIGKILL to the process group (a crash) and waits for it to
// exit.
func (p *Proc) Kill() error {
	p.markStopping()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	return p.wait(10 * time.Second)
}

// Stop asks the process to exit (SIGTERM), and kills its process group if
// it has not exited within grace.
func (p *Proc) Stop(grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	p.markStopping()
	_ = p.Signal(syscall.SIGTERM)
	if err := p.wait(grace); err == nil {
		// Leave nothing behind in the group.
		_ = signalGroup(p.Pid(), syscall.SIGKILL)
		return nil
	}
	_ = signalGroup(p.Pid(), syscall.SIGKILL)
	if err := p.wait(5 * time.Second); err != nil {
		return err
	}
	return fmt.Errorf("%s did not stop within %v; killed", p.Name, grace)
}

func (p *Proc) markStopping() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
}

// unexpectedExit reports whether the process exited without the cluster
// stopping it.
func (p *Proc) unexpectedExit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Proc) wait(timeout time.Duration) error {
	select {
	case <-p.Done():
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) did not exit within %v", p.Name, p.Pid(), timeout)
	}
}

// errNotSupported is returned where process groups are not available.
var errNotSupported = errors.New("devcluster: process groups are not supported on this platform")
