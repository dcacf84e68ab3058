package energy

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// sharedData is ../shared/data seen from this package (nodes/energy).
const sharedData = "../../../shared/data"

// openShared opens a file of the shared reference data, or skips the test
// when the data is absent.
func openShared(t testing.TB, rel string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, rel))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent (../shared/data not beside the repo); skipping", filepath.Join("../shared/data", rel))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func approx(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func nan() float64 { return math.NaN() }
