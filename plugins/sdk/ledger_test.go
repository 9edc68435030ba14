package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// counter is a Send that counts its calls and answers with the ID and the
// call's number, so a test can tell which call a response came from.
type counter struct {
	calls atomic.Int64
	// gate, if set, holds every call until it is closed.
	gate chan struct{}
	// fail, if set, makes the calls it returns true for fail.
	fail func(call int64) bool
}

func (c *counter) send(ctx context.Context, req SendRequest) (SendResponse, error) {
	n := c.calls.Add(1)
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return SendResponse{}, ctx.Err()
		}
	}
	if c.fail != nil && c.fail(n) {
		return SendResponse{}, fmt.Errorf("provider down (call %d)", n)
	}
	return SendResponse{MessageID: fmt.Sprintf("%s#%d", req.ID, n)}, nil
}

func testLedger(capacity int) *ledger {
	return newLedger(capacity, slog.New(slog.DiscardHandler))
}

// waitForWaiters returns once n sends of id wait for the one in flight.
// It only yields: the test's deadline bounds it.
func waitForWaiters(t *testing.T, l *ledger, id string, n int) {
	t.Helper()
	for l.waiting(id) < n {
		if t.Context().Err() != nil {
			t.Fatalf("%d sends of %q never waited", n, id)
		}
		runtime.Gosched()
	}
}

func TestLedgerRepeatGetsTheFirstResponseWithoutSending(t *testing.T) {
	l, c := testLedger(10), &counter{}
	req := SendRequest{ID: "att-1"}
	first, err := l.send(t.Context(), req, c.send)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.send(t.Context(), req, c.send)
	if err != nil {
		t.Fatal(err)
	}
	if again != first || c.calls.Load() != 1 {
		t.Fatalf("repeat = %+v after %d calls; want %+v after 1 call", again, c.calls.Load(), first)
	}
	if _, err := l.send(t.Context(), SendRequest{ID: "att-2"}, c.send); err != nil || c.calls.Load() != 2 {
		t.Fatalf("another id: err = %v, calls = %d; want it sent", err, c.calls.Load())
	}
}

func TestLedgerFailureIsNotRemembered(t *testing.T) {
	l := testLedger(10)
	c := &counter{fail: func(call int64) bool { return call == 1 }}
	req := SendRequest{ID: "att-1"}
	if _, err := l.send(t.Context(), req, c.send); err == nil {
		t.Fatal("first send succeeded; want the provider's error")
	}
	resp, err := l.send(t.Context(), req, c.send)
	if err != nil || resp.MessageID != "att-1#2" {
		t.Fatalf("retry = %+v, %v; want it sent again (att-1#2)", resp, err)
	}
}

func TestLedgerRequestWithoutIDIsNeverRemembered(t *testing.T) {
	l, c := testLedger(10), &counter{}
	for range 2 {
		if _, err := l.send(t.Context(), SendRequest{}, c.send); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestLedgerForgetsTheOldestOnceFull(t *testing.T) {
	l, c := testLedger(2), &counter{}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := l.send(t.Context(), SendRequest{ID: id}, c.send); err != nil {
			t.Fatal(err)
		}
	}
	// c and b are remembered; a was pushed out and is sent again, which
	// in turn pushes out b.
	for _, tt := range []struct {
		id    string
		calls int64
	}{{"c", 3}, {"b", 3}, {"a", 4}, {"c", 4}, {"b", 5}} {
		if _, err := l.send(t.Context(), SendRequest{ID: tt.id}, c.send); err != nil {
			t.Fatal(err)
		}
		if n := c.calls.Load(); n != tt.calls {
			t.Fatalf("after sending %q: %d calls, want %d", tt.id, n, tt.calls)
		}
	}
	if len(l.sent) != 2 || len(l.order) != 2 {
		t.Fatalf("ledger holds %d ids (ring %d), want 2", len(l.sent), len(l.order))
	}
}

func TestLedgerConcurrentSendsOfOneIDSendOnce(t *testing.T) {
	const n = 8
	l, c := testLedger(10), &counter{gate: make(chan struct{})}
	req := SendRequest{ID: "att-race"}
	resps := make([]SendResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { resps[i], errs[i] = l.send(t.Context(), req, c.send) })
	}
	// One send is at the provider; release it once every other waits.
	waitForWaiters(t, l, req.ID, n-1)
	close(c.gate)
	wg.Wait()

	for i := range n {
		if errs[i] != nil || resps[i].MessageID != "att-race#1" {
			t.Errorf("send %d = %+v, %v; want the first send's response", i, resps[i], errs[i])
		}
	}
	if calls := c.calls.Load(); calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
}

func TestLedgerWaiterSendsItselfWhenTheFirstFails(t *testing.T) {
	l := testLedger(10)
	c := &counter{gate: make(chan struct{}), fail: func(call int64) bool { return call == 1 }}
	req := SendRequest{ID: "att-1"}
	var first error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, first = l.send(t.Context(), req, c.send)
	}()
	for c.calls.Load() == 0 {
		runtime.Gosched()
	}

	var resp SendResponse
	var err error
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		resp, err = l.send(t.Context(), req, c.send)
	}()
	waitForWaiters(t, l, req.ID, 1)
	close(c.gate)
	<-done
	<-waited

	if first == nil {
		t.Fatal("the first send succeeded; want its failure")
	}
	if err != nil || resp.MessageID != "att-1#2" {
		t.Fatalf("waiter = %+v, %v; want it to send itself (att-1#2)", resp, err)
	}
}

func TestLedgerWaiterStopsWithItsContext(t *testing.T) {
	l, c := testLedger(10), &counter{gate: make(chan struct{})}
	defer close(c.gate)
	req := SendRequest{ID: "att-1"}
	go func() { _, _ = l.send(t.Context(), req, c.send) }()
	for c.calls.Load() == 0 {
		runtime.Gosched()
	}

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := l.send(ctx, req, c.send)
		errc <- err
	}()
	waitForWaiters(t, l, req.ID, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if n := l.waiting(req.ID); n != 0 {
		t.Fatalf("%d sends still counted as waiting", n)
	}
}

func TestLedgerReleasesWaitersWhenASendPanics(t *testing.T) {
	l, c := testLedger(10), &counter{}
	req := SendRequest{ID: "att-1"}
	func() {
		defer func() { _ = recover() }()
		_, _ = l.send(t.Context(), req, func(context.Context, SendRequest) (SendResponse, error) { panic("plugin bug") })
	}()
	resp, err := l.send(t.Context(), req, c.send)
	if err != nil || resp.MessageID != "att-1#1" {
		t.Fatalf("send after a panic = %+v, %v; want it sent", resp, err)
	}
}
