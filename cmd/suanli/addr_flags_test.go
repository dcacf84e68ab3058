package main

import (
	"strings"
	"testing"
)

// TestBadAddressFlagsExit2: addresses the agent and the server would dial
// (--servers, the agent's --join, the server's --join and --gossip-join)
// without a port, with a port out of range, or not an address at all are
// bad input: exit code 2 before anything starts, naming the flag and the
// address.
func TestBadAddressFlagsExit2(t *testing.T) {
	agent := []string{"agent", "--id", "a1", "--site", "x-jn", "--city", "JN", "--dev"}
	server := []string{"server", "--id", "s1", "--data-dir", t.TempDir(), "--dev",
		"--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1:0"}
	for _, tc := range []struct {
		base, args []string
		want       string
	}{
		{agent, []string{"--servers", "nohost.invalid"}, `--servers "nohost.invalid": no port`},
		{agent, []string{"--servers", "127.0.0.1:7070,127.0.0.1:99999"}, `--servers "127.0.0.1:99999": port "99999": want 1-65535`},
		{agent, []string{"--servers", "127.0.0.1:7070", "--join", "127.0.0.1"}, `--join "127.0.0.1": no port`},
		{agent, []string{"--servers", "127.0.0.1:7070", "--join", "127.0.0.1:0"}, `--join "127.0.0.1:0": port "0": want 1-65535`},
		{server, []string{"--join", "nohost.invalid"}, `--join "nohost.invalid": no port`},
		{server, []string{"--join", "127.0.0.1:70000"}, `--join "127.0.0.1:70000": port "70000"`},
		{server, []string{"--bootstrap", "--gossip-join", "127.0.0.1"}, `--gossip-join "127.0.0.1": no port`},
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
