//go:build unix

package devcluster

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSuperviseLeavesRefusedChildrenDown: a child that exits with status 2
// (bad input, or a refusal such as a data directory of another cluster) is
// not restarted; one that fails otherwise is.
func TestSuperviseLeavesRefusedChildrenDown(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{2, "leaving it down"},
		{1, "restarting in"},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			dir := t.TempDir()
			p := &Proc{Name: "s1", bin: "/bin/sh", Args: []string{"-c", "exit " + strconv.Itoa(tc.status)}, LogPath: filepath.Join(dir, "s1.log")}
			if err := p.start(nil); err != nil {
				t.Fatal(err)
			}
			c := &Cluster{Servers: []*Server{{Proc: p, ID: "s1"}}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var mu sync.Mutex
			var msgs []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				// An hour's delay: a restart is reported, never carried out.
				c.Supervise(ctx, time.Hour, func(m string) {
					mu.Lock()
					msgs = append(msgs, m)
					mu.Unlock()
					cancel()
				})
			}()
			<-done
			mu.Lock()
			defer mu.Unlock()
			if len(msgs) != 1 || !strings.Contains(msgs[0], tc.want) {
				t.Fatalf("exit %d: supervisor said %q, want one message with %q", tc.status, msgs, tc.want)
			}
		})
	}
}
