//go:build unix

package devcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether a process exists (and is not a zombie we could
// still signal).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// Field 3 is the state; Z is a zombie (exited, not yet reaped).
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// shellProc starts a shell that leaves a grandchild sleeping in its
// process group and writes the grandchild's PID to a file.
func shellProc(t *testing.T, trapTerm bool) (*Proc, int) {
	t.Helper()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	script := ""
	if trapTerm {
		script = "trap '' TERM; "
	}
	script += "sleep 60 & echo $! > " + pidFile + "; wait"
	p := &Proc{Name: "sh", bin: "/bin/sh", Args: []string{"-c", script}, LogPath: filepath.Join(dir, "sh.log")}
	if err := p.start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = signalGroup(p.Pid(), syscall.SIGKILL) })
	var gc int
	deadline := time.Now().Add(5 * time.Second)
	for gc == 0 {
		if time.Now().After(deadline) {
			t.Fatal("grandchild never started")
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			gc, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p, gc
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStopLeavesNothingBehind(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	t.Run("graceful", func(t *testing.T) {
		p, gc := shellProc(t, false)
		if err := p.Stop(5 * time.Second); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if p.Running() {
			t.Error("child still running")
		}
		waitGone(t, gc)
		if p.unexpectedExit() {
			t.Error("a stopped child counts as an unexpected exit")
		}
	})
	t.Run("ignores SIGTERM", func(t *testing.T) {
		p, gc := shellProc(t, true)
		start := time.Now()
		err := p.Stop(300 * time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Stop: got %v, want a 'did not stop … killed' error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Stop took %v", d)
		}
		waitGone(t, gc)
	})
	t.Run("kill", func(t *testing.T) {
		p, gc := shellProc(t, true)
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		waitGone(t, gc)
		if ee := p.ExitErr(); ee == nil || !strings.Contains(ee.Error(), "killed") {
			t.Errorf("exit: got %v, want signal: killed", ee)
		}
	})
	t.Run("crash is unexpected, restart works", func(t *testing.T) {
		p, _ := shellProc(t, false)
		if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		if !p.unexpectedExit() {
			t.Error("a child killed from outside is not reported as exited")
		}
		if err := p.start(nil); err != nil {
			t.Fatalf("restart: %v", err)
		}
		if !p.Running() || p.Starts() != 2 || p.unexpectedExit() {
			t.Errorf("after restart: running %v, starts %d", p.Running(), p.Starts())
		}
		if err := p.start(nil); err == nil {
			t.Error("starting a running child: got nil error")
		}
		_ = p.Stop(time.Second)
	})
}

func TestPauseResume(t *testing.T) {
	p, _ := shellProc(t, false)
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		state := ""
		deadline := time.Now().Add(2 * time.Second)
		for state != "T" && time.Now().Before(deadline) {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/stat")
			if f := strings.Fields(string(b)); len(f) > 2 {
				state = f[2]
			}
			time.Sleep(5 * time.Millisecond)
		}
		if state != "T" {
			t.Errorf("state after SIGSTOP: got %q, want T (stopped)", state)
		}
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	_ = p.Stop(time.Second)
}
