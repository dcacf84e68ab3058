package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// BenchmarkProcessClusterPlacements measures placements committed per
// second end to end through real processes on loopback: 3 `suanli server`
// processes (default Raft timing, BoltDB with fsync) and one `suanli agent`
// process hosting the synthetic province's 2,000 nodes. Each op is one
// workload; 4 clients post bulk submissions of 1,000 to the leader over
// HTTP. The clock runs from the first submission until the leader reports
// every workload placed ("placed/s"), and until the agent has started
// every one and the servers applied its "started" events ("running/s").
//
//	go test -run '^$' -bench ProcessCluster -benchtime 50000x -count 3 ./test/cluster/
func BenchmarkProcessClusterPlacements(b *testing.B) {
	c := startCluster(b, devcluster.Options{Servers: 3, RaftTiming: "default", Agents: []devcluster.AgentSpec{
		{ID: "a1", Args: []string{"--synthetic", "2000", "--speed", "1"}},
	}})
	ld := leaderAddr(b, c)
	cl := api.NewClient(ld, c.Token())
	cl.HTTP.Timeout = 2 * time.Minute
	const batch, clients = 1000, 4
	batches := (b.N + batch - 1) / batch
	total := batches * batch
	cities := []string{"JN", "QD", "YT", "WF", "ZB", "LY"}
	specs := make([][]api.WorkloadSpec, batches)
	for i := range specs {
		for k := 0; k < batch; k++ {
			n := i*batch + k
			specs[i] = append(specs[i], api.WorkloadSpec{ID: fmt.Sprintf("b-%07d", n), Origin: cities[n%len(cities)],
				Request: nodes.Resources{CPUMilli: 10, MemoryMiB: 16}, DurationMs: 3_600_000})
		}
	}
	counts := func() map[string]int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := cl.Cluster(ctx)
		if err != nil {
			return nil
		}
		return st.Counts.Workloads
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var (
		mu      sync.Mutex
		commits []time.Duration
		wg      sync.WaitGroup
		next    = make(chan int, batches)
		errs    []error
	)
	for i := range specs {
		next <- i
	}
	close(next)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				_, err := cl.SubmitBulk(ctx, specs[i])
				cancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				commits = append(commits, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("%d bulk submissions failed, first: %v", len(errs), errs[0])
	}
	var placedAt time.Duration
	deadline := time.Now().Add(5 * time.Minute)
	for {
		cs := counts()
		if placedAt == 0 && cs[api.StatusPlaced]+cs[api.StatusRunning] >= total {
			placedAt = time.Since(start)
		}
		if cs[api.StatusRunning] >= total {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5 minutes: %v of %d", cs, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runningAt := time.Since(start)
	b.StopTimer()
	slices.Sort(commits)
	b.ReportMetric(float64(total)/placedAt.Seconds(), "placed/s")
	b.ReportMetric(float64(total)/runningAt.Seconds(), "running/s")
	b.ReportMetric(float64(commits[len(commits)/2].Milliseconds()), "commit-p50-ms")
	b.ReportMetric(float64(commits[len(commits)*99/100].Milliseconds()), "commit-p99-ms")
}
