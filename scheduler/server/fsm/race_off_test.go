//go:build !race

package fsm

// raceOn: see race_on_test.go.
const raceOn = false
