package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// runBounded runs the CLI like runCLI but fails the test if the command
// has not returned within 10 s (a bad flag accepted would start an agent
// or a server that runs until stopped).
func runBounded(t *testing.T, args ...string) (string, error) {
	t.Helper()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := runCLI(t, args...)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("suanli %s did not return: the bad value was accepted", strings.Join(args, " "))
		return "", nil
	}
}

// TestNumericFlagsExit2: zero, negative, NaN or out-of-range values of the
// agent's, server's and dev's numeric flags (and their enumerated ones)
// are bad input: exit code 2, a message naming the flag and the allowed
// values, before anything starts.
func TestNumericFlagsExit2(t *testing.T) {
	agent := []string{"agent", "--id", "a1", "--servers", "127.0.0.1:1", "--site", "x-jn", "--city", "JN"}
	server := []string{"server", "--id", "s1", "--data-dir", t.TempDir(), "--dev",
		"--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1:0"}
	dev := []string{"dev", "--servers", "3", "--agents", "0", "--synthetic", "28"}
	for _, tc := range []struct {
		base []string
		args []string
		want string
	}{
		{agent, []string{"--speed", "0"}, "--speed 0: want a number in (0, 1000000]"},
		{agent, []string{"--speed", "-1"}, "--speed -1: want a number in (0, 1000000]"},
		{agent, []string{"--speed", "NaN"}, "--speed NaN: want a number in (0, 1000000]"},
		{agent, []string{"--speed", "+Inf"}, "--speed +Inf: want a number in (0, 1000000]"},
		{agent, []string{"--speed", "2e6"}, "--speed 2e+06: want a number in (0, 1000000]"},
		{agent, []string{"--poll-wait", "0s"}, "--poll-wait 0s: want a positive duration, e.g. 30s"},
		{agent, []string{"--poll-wait", "-5s"}, "--poll-wait -5s: want a positive duration"},
		{agent, []string{"--status-interval", "-1s"}, "--status-interval -1s: want a duration >= 0 (0: never)"},
		{agent, []string{"--gossip-addr", "127.0.0.1:70000"}, `--gossip-addr "127.0.0.1:70000": port "70000" must be 0-65535`},
		{agent, []string{"--gossip-addr", "nowhere"}, `--gossip-addr "nowhere": want host:port`},
		{agent, []string{"--gossip-profile", "wan"}, `--gossip-profile "wan": want one of lan, local`},
		{agent, []string{"--gossip-probe-interval", "-1s"}, "--gossip-probe-interval -1s: want a duration >= 0 (0: the profile's)"},
		{agent, []string{"--gossip-suspicion-mult", "-2"}, "--gossip-suspicion-mult -2: want an integer >= 0 (0: the profile's)"},
		{agent, []string{"--gossip-probe-timeout", "2s"}, "probe timeout 2s must be below the probe interval 1s"},
		{agent, []string{"--speed", "0", "--gossip-probe-timeout", "2s"}, "--speed 0: want a number in (0, 1000000] (1: real time; 60: a minute of work per second)\n--gossip-probe-timeout 2s, --gossip-probe-interval 0s (profile lan): gossip: probe timeout 2s must be below the probe interval 1s"},
		{agent, []string{"--nodes", "0"}, "--nodes 0: want 1 to 100000"},
		{[]string{"agent", "--id", "a1", "--servers", "127.0.0.1:1"}, []string{"--synthetic", "0"}, "synthetic layout of 0 nodes: want 1 to 100000"},
		{[]string{"agent", "--id", "a1", "--servers", "127.0.0.1:1"}, []string{"--synthetic", "-3"}, "synthetic layout of -3 nodes"},
		{server, []string{"--http-addr", "127.0.0.1:70000"}, `--http-addr "127.0.0.1:70000": port "70000" must be 0-65535 (0: any free port)`},
		{server, []string{"--raft-addr", "127.0.0.1:-1"}, `--raft-addr "127.0.0.1:-1": port "-1" must be 0-65535`},
		{server, []string{"--gossip-addr", "127.0.0.1:http"}, `--gossip-addr "127.0.0.1:http": port "http" must be 0-65535`},
		{server, []string{"--reconcile-interval", "0"}, "--reconcile-interval 0s: want a positive duration, e.g. 5s"},
		{server, []string{"--agent-grace", "0"}, "--agent-grace 0s: want a positive duration, e.g. 30s"},
		{server, []string{"--agent-grace", "-1m"}, "--agent-grace -1m0s: want a positive duration"},
		{server, []string{"--energy-refresh", "0"}, "--energy-refresh 0s: want a positive duration, e.g. 1m0s"},
		{server, []string{"--raft-timing", "slow"}, `--raft-timing "slow": want one of default, fast`},
		{server, []string{"--raft-log-level", "loud"}, `--raft-log-level "loud": want one of trace, debug, info, warn, error`},
		{server, []string{"--gossip-profile", "wan"}, `--gossip-profile "wan": want one of lan, local`},
		{server, []string{"--gossip-probe-interval", "100ms"}, "probe timeout 500ms must be below the probe interval 100ms"},
		{dev, []string{"--http-port", "70000"}, "--http-port 70000: want 0 (any free ports) or 1-65533 (3 servers use ports 70000 to 70002)"},
		{dev, []string{"--http-port", "-1"}, "--http-port -1: want 0 (any free ports) or 1-65533"},
		{dev, []string{"--raft-port", "65534"}, "--raft-port 65534: want 0 (any free ports) or 1-65533 (3 servers use ports 65534 to 65536)"},
		{dev, []string{"--gossip-port", "65536"}, "--gossip-port 65536: want 0 (any free ports) or 1-65533"},
		{dev, []string{"--speed", "0"}, "--speed 0: want a number in (0, 1000000]"},
		{dev, []string{"--speed", "NaN"}, "--speed NaN: want a number in (0, 1000000]"},
		{dev, []string{"--raft-timing", "slow"}, `--raft-timing "slow": want one of fast, default`},
		{dev, []string{"--policy", "fastest"}, `--policy: scheduler: unknown policy "fastest" (allowed: balanced,`},
		{dev, []string{"--servers", "0"}, "--servers 0: want 1 to 9"},
		{[]string{"cluster", "transfer-leader", "--addr", "127.0.0.1:1"}, []string{"--to", "bad id"}, `--to: "bad id" is not a valid server id`},
	} {
		args := append(append([]string(nil), tc.base...), tc.args...)
		t.Run(strings.Join(append(tc.base[:1:1], tc.args...), " "), func(t *testing.T) {
			_, err := runBounded(t, args...)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (exit %d), want exit code 2 and an error containing %q", err, exitCodeOf(err), tc.want)
			}
		})
	}
}

// TestDevRefusesTakenPort: suanli dev with a fixed port another process
// holds exits with code 2, naming the port and the server that wanted it,
// before it starts any child.
func TestDevRefusesTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	free := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	_, err = runBounded(t, "dev", "--servers", "1", "--agents", "0", "--synthetic", "28", "--data-dir", t.TempDir(),
		"--http-port", fmt.Sprint(free()), "--raft-port", fmt.Sprint(taken), "--gossip-port", fmt.Sprint(free()))
	want := fmt.Sprintf("port %d (s1's Raft port): already in use", taken)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was started") {
		t.Fatalf("got %v (exit %d), want exit code 2 and %q", err, exitCodeOf(err), want)
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	return exitCode(err)
}
