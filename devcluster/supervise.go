package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// Supervise restarts children that exit on their own (a crash, or a
// kill -9 from outside) after delay, like a service manager would, and
// reports what it does. A child that exits more than 5 times within a
// minute is left down, and so is one that exits with status 2
// (ExitRefused: suanli's exit code for bad input or a refusal a restart
// cannot get past, such as a data directory of another cluster), as
// systemd's RestartPreventExitStatus=2 would. It returns when ctx ends.
func (c *Cluster) Supervise(ctx context.Context, delay time.Duration, report func(string)) {
	recent := map[*Proc][]time.Time{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	given := map[*Proc]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, p := range c.Exited() {
			if given[p] {
				continue
			}
			if exitCode(p) == ExitRefused {
				given[p] = true
				report(fmt.Sprintf("%s exited with status %d (bad input or a refusal a restart cannot get past); leaving it down (log: %s)", p.Name, ExitRefused, p.LogPath))
				continue
			}
			now := time.Now()
			var keep []time.Time
			for _, t := range recent[p] {
				if now.Sub(t) < time.Minute {
					keep = append(keep, t)
				}
			}
			recent[p] = append(keep, now)
			if len(recent[p]) > 5 {
				given[p] = true
				report(fmt.Sprintf("%s exited %d times within a minute (last: %v); leaving it down (log: %s)", p.Name, len(recent[p]), exitText(p), p.LogPath))
				continue
			}
			report(fmt.Sprintf("%s (pid %d) exited: %v; restarting in %v", p.Name, p.Pid(), exitText(p), delay))
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := c.Restart(rctx, p)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				report(fmt.Sprintf("%s: restart failed: %v", p.Name, err))
				continue
			}
			report(fmt.Sprintf("%s restarted (pid %d)", p.Name, p.Pid()))
		}
	}
}

// ExitRefused is the exit status suanli commands use for bad input and
// for refusals that retrying cannot change.
const ExitRefused = 2

// exitCode is p's exit status, or -1 if it did not exit normally.
func exitCode(p *Proc) int {
	var ee *exec.ExitError
	if errors.As(p.ExitErr(), &ee) {
		return ee.ExitCode()
	}
	return -1
}

func exitText(p *Proc) string {
	if err := p.ExitErr(); err != nil {
		return err.Error()
	}
	return "exit status 0"
}
