package benchmarks

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
)

const benchToken = "bench-token"

// benchGossipKey encrypts the benchmark cluster's gossip (servers refuse to
// start without a key outside --dev).
var benchGossipKey = []byte("bench-gossip-key-0123456789abcde")

// benchCluster is a 3-server cluster on loopback with durable BoltDB logs
// (fsync on) in temporary directories, and one agent's 2,000 64-core nodes
// at 28 synthetic sites: room for millions of 10-millicore workloads.
type benchCluster struct {
	servers []*server.Server
	leader  *server.Server
	client  *api.Client
	seq     atomic.Int64
}

var (
	clusterOnce sync.Once
	cluster     *benchCluster
	clusterErr  error
)

func getCluster(b *testing.B) *benchCluster {
	clusterOnce.Do(func() { cluster, clusterErr = newBenchCluster() })
	if clusterErr != nil {
		b.Fatal(clusterErr)
	}
	return cluster
}

func newBenchCluster() (*benchCluster, error) {
	bc, err := startBenchServers()
	if err != nil {
		return bc, err
	}
	return bc, bc.register(2000)
}

// startBenchServers starts the 3 servers and waits until all are voters.
// The returned cluster is non-nil even on error, so TestMain can close
// what started.
func startBenchServers() (*benchCluster, error) {
	bc := &benchCluster{}
	root, err := mkTemp()
	if err != nil {
		return bc, err
	}
	for i := 0; i < 3; i++ {
		cfg := server.Config{
			ID: fmt.Sprintf("s%d", i+1), DataDir: fmt.Sprintf("%s/s%d", root, i+1),
			RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			Gossip: server.GossipConfig{Addr: "127.0.0.1:0", Profile: "local", Key: benchGossipKey},
			Token:  benchToken, Raft: server.DefaultRaftTiming(), Policy: "balanced", Seed: 1, Log: io.Discard,
		}
		cfg.Raft.SnapshotThreshold = 1 << 20 // measure the write path, not snapshots
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Join = []string{bc.servers[0].Addrs().HTTPAddr}
		}
		if err := mkdir(cfg.DataDir); err != nil {
			return bc, err
		}
		s, err := server.New(cfg)
		if err != nil {
			return bc, err
		}
		bc.servers = append(bc.servers, s)
		if i == 0 {
			if err := waitUntil(10*time.Second, s.IsLeader); err != nil {
				return bc, err
			}
		}
	}
	bc.leader = bc.servers[0]
	if err := waitUntil(10*time.Second, func() bool {
		cf := bc.leader.Raft().GetConfiguration()
		return cf.Error() == nil && len(cf.Configuration().Servers) == 3
	}); err != nil {
		return bc, err
	}
	bc.client = api.NewClient(bc.leader.Addrs().HTTPAddr, benchToken)
	return bc, nil
}

// register registers one agent ("bench") with n 64-core nodes at the 28
// synthetic sites.
func (bc *benchCluster) register(n int) error {
	topo := nodes.Synthetic(n)
	req := api.RegisterRequest{AgentID: "bench"}
	for _, s := range topo.Sites {
		req.Sites = append(req.Sites, api.Site{ID: s.ID, City: s.City, Role: s.Role.String(), PUE: s.PUE})
	}
	for _, n := range topo.Nodes {
		req.Nodes = append(req.Nodes, api.NodeSpec{ID: n.ID, Site: topo.Sites[n.Site].ID, Capacity: nodes.Resources{CPUMilli: 64000, MemoryMiB: 256 * 1024}})
	}
	_, err := bc.client.Register(context.Background(), req)
	return err
}

func waitUntil(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func (bc *benchCluster) specs(n int) []api.WorkloadSpec {
	out := make([]api.WorkloadSpec, n)
	origins := []string{"JN", "QD", "YT", "WF", "LY", "HZ"}
	for i := range out {
		k := bc.seq.Add(1)
		out[i] = api.WorkloadSpec{ID: fmt.Sprintf("b%d", k), Origin: origins[k%6], Request: nodes.Resources{CPUMilli: 10, MemoryMiB: 16}, DurationMs: 60000}
	}
	return out
}

func (bc *benchCluster) placed() int {
	return bc.leader.FSM().Counts().Workloads[api.StatusPlaced]
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}

// BenchmarkClusterPlacements: workloads committed and placed per second
// through a 3-server cluster with durable storage. Each op is one
// workload; clients send bulk requests of 1,000 (one Raft entry each,
// 4 in flight); the leader plans in batches of up to 1,024 (one Plan entry
// each) with up to 4 plans in flight. Reported: placements/s from the
// first submission until the last placement is applied on the leader, and
// the p50/p99 latency of a bulk submission's commit (HTTP round trip, 2xx
// = committed on a quorum) and of a workload from submission to placed.
func BenchmarkClusterPlacements(b *testing.B) {
	bc := getCluster(b)
	const batch, clients = 1000, 4
	batches := (b.N + batch - 1) / batch
	work := make(chan []api.WorkloadSpec, batches)
	for i := 0; i < batches; i++ {
		work <- bc.specs(batch)
	}
	close(work)
	target := bc.placed() + batches*batch
	var mu sync.Mutex
	var commit []time.Duration
	submitted := make([]time.Time, 0, batches)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for specs := range work {
				t0 := time.Now()
				if _, err := bc.client.SubmitBulk(context.Background(), specs); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				commit = append(commit, time.Since(t0))
				submitted = append(submitted, t0)
				mu.Unlock()
			}
		}()
	}
	// Sample placement progress to estimate submission-to-placed latency.
	var toPlaced []time.Duration
	base := target - batches*batch
	for bc.placed() < target {
		time.Sleep(time.Millisecond)
		p := bc.placed() - base
		mu.Lock()
		for len(toPlaced) < len(submitted) && (len(toPlaced)+1)*batch <= p {
			// batches complete roughly in submission order
			ts := append([]time.Time(nil), submitted...)
			sort.Slice(ts, func(a, c int) bool { return ts[a].Before(ts[c]) })
			toPlaced = append(toPlaced, time.Since(ts[len(toPlaced)]))
		}
		mu.Unlock()
		if time.Since(start) > time.Minute {
			b.Fatalf("placements did not finish: %d of %d placed; leader %s: %+v", bc.placed()-base, batches*batch, bc.leader.Raft().State(), bc.leader.FSM().Counts().Workloads)
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	b.StopTimer()
	c50, c99 := percentiles(commit)
	p50, p99 := percentiles(toPlaced)
	b.ReportMetric(float64(batches*batch)/elapsed.Seconds(), "placements/s")
	b.ReportMetric(float64(c50.Microseconds())/1000, "commit-p50-ms")
	b.ReportMetric(float64(c99.Microseconds())/1000, "commit-p99-ms")
	b.ReportMetric(float64(p50.Microseconds())/1000, "placed-p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "placed-p99-ms")
}

// BenchmarkClusterSingleSubmits: one workload per HTTP request from 64
// concurrent clients; the server groups concurrent submissions into one
// Raft entry (group commit). Reports submissions/s and commit latency.
func BenchmarkClusterSingleSubmits(b *testing.B) {
	bc := getCluster(b)
	const clients = 64
	work := make(chan api.WorkloadSpec, b.N)
	for _, s := range bc.specs(b.N) {
		work <- s
	}
	close(work)
	lat := make([][]time.Duration, clients)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for s := range work {
				t0 := time.Now()
				if _, err := bc.client.Submit(context.Background(), s); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	p50, p99 := percentiles(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "submits/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "commit-p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "commit-p99-ms")
}
