package webhook

import (
	"context"
	"sync"
)

// ledger remembers the last capacity message IDs the plugin delivered, so
// that the host's retry of a message whose answer was lost is acknowledged
// without a second POST. It also makes concurrent sends of one ID (a retry
// racing the original) wait for each other instead of both posting.
//
// Memory is bounded and per process: a retry after a plugin restart, or
// after capacity newer messages, is posted again. That is why every call
// carries HeaderDelivery for the receiver to deduplicate by.
type ledger struct {
	mu       sync.Mutex
	done     map[string]struct{}
	order    []string // ring of the IDs in done, oldest at next once full
	next     int
	inflight map[string]chan struct{}
}

func newLedger(capacity int) *ledger {
	capacity = max(capacity, 1)
	return &ledger{
		done:     make(map[string]struct{}, capacity),
		order:    make([]string, 0, capacity),
		inflight: make(map[string]chan struct{}),
	}
}

// claim returns done=true when id was delivered already. Otherwise the
// caller owns id until it calls finish, reporting whether it delivered;
// other callers with the same id wait meanwhile, or until ctx ends.
func (l *ledger) claim(ctx context.Context, id string) (done bool, finish func(delivered bool), err error) {
	for {
		l.mu.Lock()
		if _, ok := l.done[id]; ok {
			l.mu.Unlock()
			return true, nil, nil
		}
		wait, busy := l.inflight[id]
		if !busy {
			ch := make(chan struct{})
			l.inflight[id] = ch
			l.mu.Unlock()
			return false, func(delivered bool) { l.finish(id, ch, delivered) }, nil
		}
		l.mu.Unlock()
		select {
		case <-wait:
			// The other send finished: delivered (we return done), or
			// failed (we try ourselves).
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
}

func (l *ledger) finish(id string, ch chan struct{}, delivered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if delivered {
		l.remember(id)
	}
	delete(l.inflight, id)
	close(ch)
}

// remember adds id, forgetting the oldest ID once at capacity. The caller
// holds l.mu.
func (l *ledger) remember(id string) {
	if len(l.order) < cap(l.order) {
		l.order = append(l.order, id)
	} else {
		delete(l.done, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % len(l.order)
	}
	l.done[id] = struct{}{}
}
