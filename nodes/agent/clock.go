package agent

import "time"

// Clock is the time source of the workloads an agent runs. Tests replace
// it with a manual clock; the agent's network retries use real timers.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the system clock.
var RealClock Clock = realClock{}
