package api

import (
	"context"
	"errors"
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

// Drain makes /readyz answer 503 from now on: the process is stopping, and
// a load balancer that probes should send its requests elsewhere. Requests
// still reaching it are served until Shutdown.
func (s *Server) Drain() { s.ready.Drain() }

// Shutdown stops taking background work (console sign-ins that start or
// check a code after it answer as if the work were dropped, and so do
// "Forgot password?" requests) and waits until
// the work in flight has reached Temporal, or ctx ends; it stops the
// credential link dispatcher (links it did not start are started by the
// next process, from their rows). Call it after the HTTP server has shut
// down and before the Temporal client is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	// "Forgot password?" work first: the links it requests are started by
	// the dispatcher if it still runs, by the next process if not.
	return errors.Join(s.forgotWork.wait(ctx), s.stopLinkDispatcher(ctx), s.bg.wait(ctx))
}

// startsInFlight counts, per key, the starts this process has let through
// whose attempts are not recorded yet, so that a limit judged from the
// store counts them too. Judging one key's starts is serialised (by a
// fixed set of mutexes picked by the key's hash, so memory stays the same
// however many keys there are); the starts themselves run in parallel.
type startsInFlight struct {
	stripes [64]sync.Mutex
	mu      sync.Mutex
	n       map[string]int // at most one entry per start in flight
}

// admit judges a start for key, given how many are in flight for it, and
// when judge allows it counts it in flight until done is called (once its
// attempt is recorded, or it has failed).
func (f *startsInFlight) admit(key string, judge func(inFlight int) (bool, error)) (done func(), ok bool, err error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	stripe := &f.stripes[h.Sum32()%uint32(len(f.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
	f.mu.Lock()
	n := f.n[key]
	f.mu.Unlock()
	if ok, err = judge(n); err != nil || !ok {
		return nil, ok, err
	}
	f.mu.Lock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[key]++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n[key]--; f.n[key] <= 0 {
			delete(f.n, key)
		}
	}, true, nil
}
