package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// The read benchmark's cluster: 3 servers like benchCluster, but one
// agent's 8,192 nodes and 50,000 workloads placed before the clock starts,
// so the public list endpoints have something heavy to list.
const (
	readNodes     = 8192
	readWorkloads = 50000
)

var (
	readOnce       sync.Once
	readClusterV   *benchCluster
	readClusterErr error
)

func getReadCluster(b *testing.B) *benchCluster {
	readOnce.Do(func() { readClusterV, readClusterErr = newReadCluster() })
	if readClusterErr != nil {
		b.Fatal(readClusterErr)
	}
	return readClusterV
}

func newReadCluster() (*benchCluster, error) {
	bc, err := startBenchServers()
	if err != nil {
		return bc, err
	}
	if err := bc.register(readNodes); err != nil {
		return bc, err
	}
	ctx := context.Background()
	for n := 0; n < readWorkloads; n += api.MaxBulkSubmit {
		specs := bc.specs(min(api.MaxBulkSubmit, readWorkloads-n))
		for i := range specs {
			specs[i].DurationMs = 24 * 3600 * 1000 // stay placed
		}
		if _, err := bc.client.SubmitBulk(ctx, specs); err != nil {
			return bc, err
		}
	}
	if err := waitUntil(2*time.Minute, func() bool { return bc.placed() >= readWorkloads }); err != nil {
		return bc, fmt.Errorf("preload: %d of %d placed: %w", bc.placed(), readWorkloads, err)
	}
	return bc, nil
}

// readURLs are what the benchmark's public readers ask for, in turn:
// the first page of every workload (what a dashboard polls), a large
// filtered page, and the node list. None carries a token.
var readURLs = []string{
	"/v1/workloads",
	"/v1/workloads?status=placed&limit=1000",
	"/v1/nodes",
}

// BenchmarkSubmitsUnderListReads: single submissions (16 concurrent
// clients, group-committed by the leader) to a 3-server cluster holding
// 8,192 nodes and 50,000+ workloads, with 0 or 4 unauthenticated clients
// polling the public list endpoints (readURLs, in turn, back to back) on
// the leader the whole time. Each op is one submission; reported:
// submits/s, the submissions' commit latency p50/p99, and the readers'
// answers per second (2xx, and 429 when the server sheds them) with
// their p50 latency.
func BenchmarkSubmitsUnderListReads(b *testing.B) {
	for _, readers := range []int{0, 4} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			bc := getReadCluster(b)
			const clients = 16
			c := api.NewClient(bc.leader.Addrs().HTTPAddr, benchToken)
			c.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: clients}
			work := make(chan api.WorkloadSpec, b.N)
			for _, s := range bc.specs(b.N) {
				work <- s
			}
			close(work)

			stop := make(chan struct{})
			var rwg sync.WaitGroup
			var served, shed atomic.Int64
			readLat := make([][]time.Duration, readers)
			base := api.BaseURL(bc.leader.Addrs().HTTPAddr, false)
			for r := 0; r < readers; r++ {
				rwg.Add(1)
				go func(r int) {
					defer rwg.Done()
					hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
					for k := r; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						t0 := time.Now()
						resp, err := hc.Get(base + readURLs[k%len(readURLs)])
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode == http.StatusTooManyRequests:
							shed.Add(1)
							time.Sleep(10 * time.Millisecond)
						case resp.StatusCode/100 == 2:
							served.Add(1)
							readLat[r] = append(readLat[r], time.Since(t0))
						default:
							b.Errorf("GET %s: HTTP %d", readURLs[k%len(readURLs)], resp.StatusCode)
							return
						}
					}
				}(r)
			}

			lat := make([][]time.Duration, clients)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					for s := range work {
						t0 := time.Now()
						if _, err := c.Submit(context.Background(), s); err != nil {
							b.Error(err)
							return
						}
						lat[i] = append(lat[i], time.Since(t0))
					}
				}(i)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			rwg.Wait()
			var all, reads []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			for _, l := range readLat {
				reads = append(reads, l...)
			}
			p50, p99 := percentiles(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "submits/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "commit-p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "commit-p99-ms")
			if readers > 0 {
				r50, _ := percentiles(reads)
				b.ReportMetric(float64(served.Load())/elapsed.Seconds(), "reads/s")
				b.ReportMetric(float64(shed.Load())/elapsed.Seconds(), "shed/s")
				b.ReportMetric(float64(r50.Microseconds())/1000, "read-p50-ms")
			}
		})
	}
}
