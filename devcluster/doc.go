// Package devcluster runs a Suanli cluster on one machine as child
// processes of the suanli binary: servers (the first bootstraps, the
// others join it) and agents, all on 127.0.0.1. It is what `suanli dev`
// runs for operators trying Suanli out, and the harness of the
// multi-process tests (package test/cluster): start, find the leader,
// SIGKILL or SIGSTOP a child, restart a server from its data directory,
// and stop everything.
//
// Children are separate processes rather than goroutines of one process
// because that is what a real deployment is: a SIGKILLed server loses
// everything not fsynced and its peers see connection resets, the restart
// path reads the BoltDB log and snapshots from disk, and an operator can
// kill -9 a printed PID to watch failover. Each child runs in its own
// process group (signals reach anything it starts) and, on Linux, dies
// with its parent (PR_SET_PDEATHSIG), so a crashed supervisor or test
// leaves nothing behind. Servers get fixed addresses for the cluster's
// life (free ports chosen up front when none are given), so a restarted
// server comes back where its peers and the Raft configuration expect it.
//
// The API token and gossip key reach the children through the environment
// (SUANLI_TOKEN, SUANLI_GOSSIP_KEY), not their command lines, which other
// local users can read.
package devcluster
