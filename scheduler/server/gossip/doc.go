// Package gossip is Suanli's membership layer: one hashicorp/memberlist
// pool that every server and every node agent joins. Each member carries a
// small metadata record (Meta: role server|agent, id, HTTP and Raft
// addresses, and for agents a summary of their sites, tiers and capacity).
// The leader watches the pool: when an agent is declared dead or leaves,
// its nodes are marked down through Raft and their work is placed
// elsewhere; when it comes back, its nodes come back up.
//
// Servers (package scheduler/server) and agents (package nodes/agent) use
// the same code:
//
//	p, err := gossip.Start(gossip.Config{
//		BindAddr: "127.0.0.1:0",
//		Key:      key, // from gossip.ParseKey(base64)
//		Meta:     gossip.Meta{Role: gossip.RoleAgent, ID: "a1", HTTPAddr: ""},
//		OnEvent:  func(e gossip.Event) { ... },
//	})
//	_, err = p.Join([]string{"127.0.0.1:7946"})
//	defer p.Shutdown()
//
// # Encryption
//
// With Config.Key set (16, 24 or 32 bytes: AES-128/192/256-GCM), every
// gossip packet and stream is encrypted and authenticated; a member with a
// different key (or none) cannot join: its messages fail to decrypt.
//
// # What a member sees
//
// Pool.Stats summarises the pool as this member sees it: whether it is
// encrypted and joined (sees another live member), how many members are
// alive, suspect (this member's own probe got no ack; memberlist v0.6.0
// reports suspicion only in its log, which the pool watches) and dead or
// gone within Config.DeadRetention, and the last failed Join with the
// addresses tried (JoinError). Servers publish it in GET /v1/health.
//
// # Failure detection timing
//
// Profile "lan" (default) is memberlist's DefaultLANConfig: a member is
// probed every second (ProbeInterval) with a 500 ms ProbeTimeout; a member
// that fails a probe becomes suspect, and is declared dead after the
// suspicion timeout, SuspicionMult × max(1, log10 N) × ProbeInterval = 4 s
// for N ≤ 10 members, starting from SuspicionMaxTimeoutMult (6) times that
// (24 s) and shrinking toward it as other members confirm the suspicion.
// Expect a crashed agent to be declared dead in roughly 5–25 s. Profile
// "local" (DefaultLocalConfig: probe 1 s, timeout 200 ms, SuspicionMult 3)
// gives about 4–20 s; tests set ProbeInterval to ~100 ms for sub-second
// detection. DetectionTime computes the bounds for a configuration.
package gossip
