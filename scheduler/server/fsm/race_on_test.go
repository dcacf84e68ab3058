//go:build race

package fsm

// raceOn is set when the tests run under the race detector, which makes
// the model tests' invariant checks about ten times slower: they run
// fewer seeds there (every seed runs without it).
const raceOn = true
