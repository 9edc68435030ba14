package api

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
)

// Work the console's sign-in does after it has answered: starting the
// attempt and submitting a code. Answering first keeps every sign-in's
// answer and timing the same whether or not the account or the user
// exists; the work itself must still be bounded and must not be lost when
// the process stops.

const (
	// maxBackground bounds the background work in flight; beyond it, new
	// work is dropped (logged), as a full queue would drop it.
	maxBackground = 64
	// backgroundTimeout bounds one piece of work: a store lookup and a
	// Temporal call.
	backgroundTimeout = 30 * time.Second
)

// background runs functions outside the request that asked for them, at
// most maxBackground at a time, and lets the server wait for them.
type background struct {
	log   *slog.Logger
	slots chan struct{}
	mu    sync.Mutex
	wg    sync.WaitGroup
	// closed refuses new work once shutdown waits for the old.
	closed bool
}

func newBackground(n int, log *slog.Logger) *background {
	return &background{log: log, slots: make(chan struct{}, n)}
}

// try runs fn in a goroutine with a context detached from parent's
// cancellation (the request ends first) but bounded by backgroundTimeout.
// It reports false, running nothing, when maxBackground functions are in
// flight or the server is shutting down.
func (b *background) try(parent context.Context, fn func(ctx context.Context)) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	select {
	case b.slots <- struct{}{}:
	default:
		b.mu.Unlock()
		return false
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer func() {
			// A panic here would take the whole process down with it.
			if p := recover(); p != nil {
				b.log.Error("background sign-in work panicked", "panic", p)
			}
			<-b.slots
			b.wg.Done()
		}()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), backgroundTimeout)
		defer cancel()
		fn(ctx)
	}()
	return true
}

// wait refuses new work and waits until the work in flight has finished,
// or ctx ends.
func (b *background) wait(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for background sign-in work: %w", ctx.Err())
	}
}

// Shutdown stops taking background work (console sign-ins that start or
// check a code after it answer as if the work were dropped) and waits until
// the work in flight has reached Temporal, or ctx ends. Call it after the
// HTTP server has shut down and before the Temporal client is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.bg.wait(ctx)
}

// stripedLock is a fixed set of mutexes picked by a key's hash: work on one
// key is serialised, work on most different keys is not, and memory stays
// the same however many keys there are.
type stripedLock struct {
	mu [64]sync.Mutex
}

// lock locks key's stripe and returns its unlock.
func (l *stripedLock) lock(key string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	m := &l.mu[h.Sum32()%uint32(len(l.mu))]
	m.Lock()
	return m.Unlock
}
