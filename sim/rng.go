package sim

import "math/rand/v2"

// StreamID is the PCG stream selector of a named component: the 64-bit
// FNV-1a hash of its name.
func StreamID(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// Stream returns the random stream of the named component for seed:
// PCG(seed, FNV-1a(name)). Components with different names draw
// independent streams, so adding one never changes another's draws.
func Stream(seed uint64, name string) *rand.Rand {
	return rand.New(rand.NewPCG(seed, StreamID(name)))
}
