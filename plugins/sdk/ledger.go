package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// ledgerCapacity is how many delivered IDs a plugin process remembers. The
// host retries within minutes, so the memory only has to span a burst of
// sign-ins, not the process's life; at about a hundred bytes an entry it
// stays around a megabyte.
const ledgerCapacity = 10_000

// ledger makes Send exactly-once per process for every delivery plugin
// served by ServeDelivery, so that no plugin writes its own.
//
// The host sends a request again when it did not hear the answer (a
// timeout, a lost connection, a worker restart), with the same ID. The
// ledger remembers the response of every successful send by ID and answers
// a repeat with it, without calling the plugin. Sends of an ID already in
// flight (a retry racing the original) wait for it: if it succeeds they get
// its response; if it fails, one of them sends itself, under its own
// context, since a failure is never remembered and the original's error
// may be nothing but its own cancelled context.
//
// The memory is per process and bounded (oldest forgotten first): after a
// plugin restart, or once ledgerCapacity newer IDs were delivered, a retry
// sends again, which is what a plugin's deterministic message identifier
// (an SMTP Message-ID, an idempotency key) is for. A request without an ID
// is passed through unremembered.
type ledger struct {
	capacity int
	// logger records the repeats the ledger answers, so an operator can
	// see why a retry reached no provider.
	logger *slog.Logger

	mu   sync.Mutex
	sent map[string]SendResponse
	// order holds the IDs in sent as a ring; next is the oldest, replaced
	// first once the ring is full.
	order []string
	next  int
	// inflight holds the sends in progress by ID.
	inflight map[string]*flight
}

// flight is one send in progress.
type flight struct {
	// done is closed when the send ends.
	done chan struct{}
	// waiting counts the sends of the same ID waiting for this one.
	waiting int
}

func newLedger(capacity int, logger *slog.Logger) *ledger {
	capacity = max(capacity, 1)
	return &ledger{
		capacity: capacity,
		logger:   logger,
		sent:     make(map[string]SendResponse),
		order:    make([]string, 0, capacity),
		inflight: make(map[string]*flight),
	}
}

// send calls deliver with req unless the process delivered req.ID already,
// in which case it returns the first response. See ledger for how
// concurrent sends of one ID behave.
func (l *ledger) send(ctx context.Context, req SendRequest, deliver func(context.Context, SendRequest) (SendResponse, error)) (SendResponse, error) {
	if req.ID == "" {
		return deliver(ctx, req)
	}
	for {
		l.mu.Lock()
		if resp, ok := l.sent[req.ID]; ok {
			l.mu.Unlock()
			l.logger.Info("already delivered by this process; not sending again", "id", req.ID, "attempt", req.Attempt)
			return resp, nil
		}
		f, busy := l.inflight[req.ID]
		if !busy {
			f = &flight{done: make(chan struct{})}
			l.inflight[req.ID] = f
			l.mu.Unlock()
			return l.deliver(ctx, req, f, deliver)
		}
		f.waiting++
		l.mu.Unlock()
		select {
		case <-f.done:
			// Delivered (found on the next pass) or failed (this send
			// takes over).
		case <-ctx.Done():
			l.mu.Lock()
			f.waiting--
			l.mu.Unlock()
			return SendResponse{}, fmt.Errorf("wait for the send of the same id in flight: %w", ctx.Err())
		}
	}
}

// waiting reports how many sends of id wait for the one in flight.
func (l *ledger) waiting(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.inflight[id]; ok {
		return f.waiting
	}
	return 0
}

// deliver runs the send that owns req.ID and records its outcome. The
// reservation is released even if deliver panics, so that waiters are not
// stranded.
func (l *ledger) deliver(ctx context.Context, req SendRequest, f *flight, deliver func(context.Context, SendRequest) (SendResponse, error)) (resp SendResponse, err error) {
	delivered := false
	defer func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if delivered {
			l.remember(req.ID, resp)
		}
		delete(l.inflight, req.ID)
		close(f.done)
		if f.waiting > 0 {
			l.logger.Info("concurrent sends of one id waited for the first", "id", req.ID, "attempt", req.Attempt,
				"waiting", f.waiting, "delivered", delivered)
		}
	}()
	resp, err = deliver(ctx, req)
	delivered = err == nil
	return resp, err
}

// remember records id's response, forgetting the oldest ID when full. The
// caller holds mu.
func (l *ledger) remember(id string, resp SendResponse) {
	if len(l.order) < l.capacity {
		l.order = append(l.order, id)
	} else {
		delete(l.sent, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % l.capacity
	}
	l.sent[id] = resp
}
