package sms

import (
	"context"
	"sync"
)

// ledgerSize bounds how many delivered IDs the plugin remembers. Retries
// of one sign-in come within minutes, so the most recent IDs are the ones
// that matter; at well under a hundred bytes an entry this is a few
// hundred kilobytes at most.
const ledgerSize = 4096

// ledger remembers which request IDs the provider accepted, and which are
// being sent right now.
//
// Twilio's Messages API takes no idempotency key, so a retry of an
// accepted message would reach the user's phone twice. The ledger stops
// that within one process: a retry after a success gets the first
// message's SID back, and a retry racing a send still in flight waits for
// it. It cannot help across a plugin restart, nor when the provider
// accepted a message but the answer was lost (a timeout); the retry then
// sends the same code again, which confuses nobody since the host resends
// the same secret.
type ledger struct {
	mu       sync.Mutex
	size     int
	sent     map[string]string // request ID -> provider message SID
	order    []string          // ring of the IDs in sent, oldest at next
	next     int
	inflight map[string]chan struct{}
}

func newLedger(size int) *ledger {
	return &ledger{
		size:     size,
		sent:     make(map[string]string, size),
		order:    make([]string, 0, size),
		inflight: make(map[string]chan struct{}),
	}
}

// claim either reports the SID of an already delivered id (done is true)
// or reserves id for the caller, who must then call release exactly once.
// While id is reserved, other claims for it wait until it is released or
// their ctx ends.
func (l *ledger) claim(ctx context.Context, id string) (sid string, done bool, err error) {
	for {
		l.mu.Lock()
		if sid, ok := l.sent[id]; ok {
			l.mu.Unlock()
			return sid, true, nil
		}
		wait, busy := l.inflight[id]
		if !busy {
			l.inflight[id] = make(chan struct{})
			l.mu.Unlock()
			return "", false, nil
		}
		l.mu.Unlock()
		select {
		case <-wait:
			// Delivered (found on the next pass) or failed (reserve it
			// and try ourselves).
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// release ends the reservation of id taken by claim, recording sid if the
// provider accepted the message.
func (l *ledger) release(id, sid string, delivered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if delivered {
		l.remember(id, sid)
	}
	close(l.inflight[id])
	delete(l.inflight, id)
}

// remember records id, forgetting the oldest entry when full. The caller
// holds l.mu.
func (l *ledger) remember(id, sid string) {
	if len(l.order) < l.size {
		l.order = append(l.order, id)
	} else {
		delete(l.sent, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % l.size
	}
	l.sent[id] = sid
}
