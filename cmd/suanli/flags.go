package main

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scheduler/server/gossip"
)

// flagChecks collects bad flag values, each error naming the flag, the
// value and what is allowed; err reports them all at once as bad input
// (exit code 2). The commands run these checks before they start
// anything, so a zero or negative interval never silently becomes a
// default and a port out of range never reaches a listener.
type flagChecks struct {
	cmd  *cobra.Command
	errs []error
}

func checkFlags(cmd *cobra.Command) *flagChecks { return &flagChecks{cmd: cmd} }

func (c *flagChecks) add(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// err is nil or every problem found, as bad input.
func (c *flagChecks) err() error { return badInput(errors.Join(c.errs...)) }

// floatIn requires lo < v <= hi (NaN and infinities fail).
func (c *flagChecks) floatIn(flag string, v, lo, hi float64, hint string) {
	if !(v > lo && v <= hi) {
		num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
		c.add("--%s %g: want a number in (%s, %s]%s", flag, v, num(lo), num(hi), hint)
	}
}

// positive requires a duration above zero.
func (c *flagChecks) positive(flag string, d time.Duration) {
	if d <= 0 {
		c.add("--%s %v: want a positive duration, e.g. %v", flag, d, c.defaultOf(flag, "30s"))
	}
}

// notNegative requires a duration of zero or more; zeroMeans says what 0 does.
func (c *flagChecks) notNegative(flag string, d time.Duration, zeroMeans string) {
	if d < 0 {
		c.add("--%s %v: want a duration >= 0 (0: %s)", flag, d, zeroMeans)
	}
}

// intAtLeast requires n >= lo; zeroMeans (if any) says what 0 does.
func (c *flagChecks) intAtLeast(flag string, n, lo int, zeroMeans string) {
	if n < lo {
		hint := ""
		if zeroMeans != "" {
			hint = " (0: " + zeroMeans + ")"
		}
		c.add("--%s %d: want an integer >= %d%s", flag, n, lo, hint)
	}
}

// oneOf requires v to be one of allowed.
func (c *flagChecks) oneOf(flag, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.add("--%s %q: want one of %s", flag, v, strings.Join(allowed, ", "))
	}
}

// hostPort requires host:port with a port in 0-65535 (0: any free port).
func (c *flagChecks) hostPort(flag, addr string) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		c.add("--%s %q: want host:port, e.g. 127.0.0.1:%s: %v", flag, addr, c.defaultPort(flag), err)
		return
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		c.add("--%s %q: port %q must be 0-65535 (0: any free port)", flag, addr, p)
	}
}

// portRange requires a first port such that port … port+count-1 all exist
// (0: any free ports).
func (c *flagChecks) portRange(flag string, port, count int) {
	if port == 0 {
		return
	}
	if hi := 65535 - (count - 1); port < 1 || port > hi {
		c.add("--%s %d: want 0 (any free ports) or 1-%d (%d servers use ports %d to %d)", flag, port, hi, count, port, port+count-1)
	}
}

// gossipTiming checks the gossip profile and timing flags of servers and
// agents as the gossip pool will (the probe timeout must stay below the
// interval, the profile's or the flag's).
func (c *flagChecks) gossipTiming(profile string, interval, timeout time.Duration, mult int) {
	before := len(c.errs)
	c.oneOf("gossip-profile", profile, "lan", "local")
	c.notNegative("gossip-probe-interval", interval, "the profile's")
	c.notNegative("gossip-probe-timeout", timeout, "the profile's")
	c.intAtLeast("gossip-suspicion-mult", mult, 0, "the profile's")
	if len(c.errs) > before {
		return
	}
	if _, _, err := gossip.DetectionTime(gossip.Config{Profile: profile, ProbeInterval: interval, ProbeTimeout: timeout, SuspicionMult: mult}, 1); err != nil {
		c.add("--gossip-probe-timeout %v, --gossip-probe-interval %v (profile %s): %v", timeout, interval, profile, err)
	}
}

func (c *flagChecks) defaultOf(flag, fallback string) string {
	if f := c.cmd.Flags().Lookup(flag); f != nil && f.DefValue != "0s" && f.DefValue != "" {
		return f.DefValue
	}
	return fallback
}

func (c *flagChecks) defaultPort(flag string) string {
	if f := c.cmd.Flags().Lookup(flag); f != nil {
		if _, p, err := net.SplitHostPort(f.DefValue); err == nil {
			return p
		}
	}
	return "0"
}
