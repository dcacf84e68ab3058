package devcluster

import (
	"slices"
	"strings"
	"testing"
)

// TestGossipKeyOptions: a cluster gossips with a key unless it runs in dev
// mode, where "none" leaves the pool unencrypted and the agents get --dev
// too (servers and agents outside --dev refuse to start without a key).
func TestGossipKeyOptions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        Options
		wantErr     string
		wantKey     bool
		wantDevArgs bool
	}{
		{name: "generated key", opts: Options{}, wantKey: true},
		{name: "dev, generated key", opts: Options{Dev: true}, wantKey: true, wantDevArgs: true},
		{name: "dev, no key", opts: Options{Dev: true, GossipKey: "none"}, wantDevArgs: true},
		{name: "no key outside dev", opts: Options{GossipKey: "none"}, wantErr: `GossipKey "none" needs Dev`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Binary, o.Dir = "suanli", t.TempDir()
			err := o.setDefaults()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := &Cluster{opts: o, Servers: []*Server{{ID: "s1", HTTPAddr: "127.0.0.1:1", GossipAddr: "127.0.0.1:2"}}}
			env := strings.Join(c.env(), " ")
			if got := strings.Contains(env, "SUANLI_GOSSIP_KEY="); got != tc.wantKey {
				t.Errorf("environment %q: gossip key passed %v, want %v", env, got, tc.wantKey)
			}
			for what, args := range map[string][]string{"server": c.serverArgs(c.Servers[0], true), "agent": c.agentArgs(AgentSpec{ID: "a1"})} {
				if got := slices.Contains(args, "--dev"); got != tc.wantDevArgs {
					t.Errorf("%s args %v: --dev %v, want %v", what, args, got, tc.wantDevArgs)
				}
			}
		})
	}
}
