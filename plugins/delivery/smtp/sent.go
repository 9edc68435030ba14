package smtp

import (
	"context"
	"sync"
)

// sentCapacity is how many delivered request IDs a process remembers. The
// host retries within minutes, so the memory only has to span a burst of
// sign-ins, not the process's life; at ~100 bytes an entry it stays small.
const sentCapacity = 10_000

// sentLog remembers which request IDs this process has delivered, so that a
// retry after a lost answer (the server accepted, but the host never heard
// back) does not mail the user a second time. It also makes concurrent
// sends of one ID wait for each other instead of racing to the server.
//
// The memory is per process and bounded: after a plugin restart, or once
// an ID has been pushed out by newer ones, a retry sends again, and the
// unchanged Message-ID is left to let receivers drop the duplicate.
type sentLog struct {
	mu       sync.Mutex
	capacity int
	sent     map[string]struct{}
	// order holds the IDs in sent as a ring; oldest is the next to evict
	// once the ring is full.
	order  []string
	oldest int
	// inFlight holds a channel per ID being delivered, closed when that
	// delivery ends.
	inFlight map[string]chan struct{}
}

func newSentLog(capacity int) *sentLog {
	return &sentLog{
		capacity: capacity,
		sent:     make(map[string]struct{}, capacity),
		inFlight: make(map[string]chan struct{}),
	}
}

// claim reserves id for delivery. It returns sent = true if id was already
// delivered. Otherwise the caller owns the delivery until it calls done,
// reporting whether the message went out; other claims of the same id
// wait until then (or until their ctx ends).
func (l *sentLog) claim(ctx context.Context, id string) (sent bool, done func(delivered bool), err error) {
	l.mu.Lock()
	for {
		if _, ok := l.sent[id]; ok {
			l.mu.Unlock()
			return true, nil, nil
		}
		busy, ok := l.inFlight[id]
		if !ok {
			break
		}
		l.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
		l.mu.Lock()
	}
	ch := make(chan struct{})
	l.inFlight[id] = ch
	l.mu.Unlock()

	return false, func(delivered bool) {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.inFlight, id)
		close(ch)
		if delivered {
			l.remember(id)
		}
	}, nil
}

// remember adds id, evicting the oldest ID when full. The caller holds mu.
func (l *sentLog) remember(id string) {
	if len(l.order) < l.capacity {
		l.order = append(l.order, id)
	} else {
		delete(l.sent, l.order[l.oldest])
		l.order[l.oldest] = id
		l.oldest = (l.oldest + 1) % l.capacity
	}
	l.sent[id] = struct{}{}
}
