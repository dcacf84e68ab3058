package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// stuckFuture is a Raft future nobody answers (one left in Raft's
// buffered apply channel when it shut down).
type stuckFuture struct{ answer chan error }

func (f stuckFuture) Error() error { return <-f.answer }

// TestAwaitGivesUpWithItsContext: a future never answered does not hold
// its waiter past the context; one answered is reported as answered.
func TestAwaitGivesUpWithItsContext(t *testing.T) {
	f := stuckFuture{make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- await(ctx, f) }()
	select {
	case err := <-done:
		t.Fatalf("await returned %v before the context ended", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, raft.ErrRaftShutdown) {
			t.Fatalf("await after cancel: %v, want ErrRaftShutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("await still waiting 5 s after its context ended")
	}
	f.answer <- nil // let the waiting goroutine go

	want := errors.New("applied, but refused")
	g := stuckFuture{make(chan error, 1)}
	g.answer <- want
	if err := await(context.Background(), g); err != want {
		t.Fatalf("await of an answered future: %v, want %v", err, want)
	}
}
