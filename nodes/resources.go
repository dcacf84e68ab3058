package nodes

import "fmt"

// Resources is an amount of compute: CPU in millicores, memory in MiB and
// GPUs in milli-GPUs (1000 = one whole GPU; fractional GPUs are shares).
type Resources struct {
	CPUMilli  int64 `json:"cpu_milli"`
	MemoryMiB int64 `json:"memory_mib"`
	GPUMilli  int64 `json:"gpu_milli"`
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.CPUMilli + o.CPUMilli, r.MemoryMiB + o.MemoryMiB, r.GPUMilli + o.GPUMilli}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.CPUMilli - o.CPUMilli, r.MemoryMiB - o.MemoryMiB, r.GPUMilli - o.GPUMilli}
}

// Fits reports whether req fits in r in every dimension.
func (r Resources) Fits(req Resources) bool {
	return req.CPUMilli <= r.CPUMilli && req.MemoryMiB <= r.MemoryMiB && req.GPUMilli <= r.GPUMilli
}

// Max returns the component-wise maximum of r and o.
func (r Resources) Max(o Resources) Resources {
	if o.CPUMilli > r.CPUMilli {
		r.CPUMilli = o.CPUMilli
	}
	if o.MemoryMiB > r.MemoryMiB {
		r.MemoryMiB = o.MemoryMiB
	}
	if o.GPUMilli > r.GPUMilli {
		r.GPUMilli = o.GPUMilli
	}
	return r
}

// IsZero reports whether every dimension is zero.
func (r Resources) IsZero() bool { return r == Resources{} }

// NonNegative reports whether no dimension is negative.
func (r Resources) NonNegative() bool {
	return r.CPUMilli >= 0 && r.MemoryMiB >= 0 && r.GPUMilli >= 0
}

// String formats r compactly, e.g. "cpu=4000m mem=8192Mi gpu=1000m".
func (r Resources) String() string {
	return fmt.Sprintf("cpu=%dm mem=%dMi gpu=%dm", r.CPUMilli, r.MemoryMiB, r.GPUMilli)
}
