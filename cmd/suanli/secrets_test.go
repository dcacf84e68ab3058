package main

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler/server/gossip"
)

// freeAddr returns a 127.0.0.1 address nothing listens on (for flags that
// must look real; none of these tests gets as far as using them).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// TestMissingSecretsExit2: outside --dev, server and agent refuse to start
// without a gossip key (and the server without a token), as bad input
// (exit code 2) naming the flag, the environment variable and --dev.
func TestMissingSecretsExit2(t *testing.T) {
	t.Setenv("SUANLI_TOKEN", "")
	t.Setenv("SUANLI_GOSSIP_KEY", "")
	dir := t.TempDir()
	addrs := []string{"--http-addr", freeAddr(t), "--raft-addr", freeAddr(t), "--gossip-addr", freeAddr(t)}
	server := func(more ...string) []string {
		return slices.Concat([]string{"server", "--id", "s1", "--data-dir", dir, "--bootstrap"}, addrs, more)
	}
	agent := []string{"agent", "--id", "a1", "--servers", freeAddr(t), "--join", freeAddr(t), "--site", "x-jn", "--city", "JN"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"server without gossip key", server("--token", "t"), []string{"no gossip key", "--gossip-key", "SUANLI_GOSSIP_KEY", "suanli keygen", "--dev"}},
		{"server without token", server("--gossip-key", gossip.NewKey()), []string{"no API token", "--token"}},
		{"server with a bad key", server("--token", "t", "--gossip-key", "c2hvcnQ="), []string{"--gossip-key", "5 bytes, want 16, 24 or 32"}},
		{"agent without gossip key", agent, []string{"no gossip key", "--gossip-key", "SUANLI_GOSSIP_KEY", "--dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exit code %d (%v), want 2", got, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestKeygen(t *testing.T) {
	a, err := runCLI(t, "keygen")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := runCLI(t, "keygen")
	k, err := gossip.ParseKey(strings.TrimSpace(a))
	if err != nil || len(k) != 32 {
		t.Fatalf("keygen printed %q: %d bytes, %v; want a base64 32-byte key", a, len(k), err)
	}
	if a == b {
		t.Errorf("two keys are equal: %q", a)
	}
}
