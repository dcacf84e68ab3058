package benchmarks

import (
	"os"
	"testing"
)

var tempRoots []string

func mkTemp() (string, error) {
	d, err := os.MkdirTemp("", "suanli-bench-")
	if err == nil {
		tempRoots = append(tempRoots, d)
	}
	return d, err
}

func mkdir(p string) error { return os.MkdirAll(p, 0o700) }

// TestMain stops the shared benchmark cluster and removes its data.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, bc := range []*benchCluster{cluster, readClusterV} {
		if bc != nil {
			for _, s := range bc.servers {
				_ = s.Close()
			}
		}
	}
	for _, d := range tempRoots {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}
