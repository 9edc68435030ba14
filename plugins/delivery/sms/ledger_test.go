package sms

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLedgerForgetsTheOldestWhenFull(t *testing.T) {
	l := newLedger(2)
	for _, id := range []string{"a", "b", "c"} {
		if _, done, err := l.claim(t.Context(), id); done || err != nil {
			t.Fatalf("claim %s: done %v, err %v", id, done, err)
		}
		l.release(id, "SM-"+id, true)
	}
	if _, done, _ := l.claim(t.Context(), "a"); done {
		t.Errorf("a is still remembered after two newer ids in a ledger of two")
	}
	l.release("a", "", false)
	for _, id := range []string{"b", "c"} {
		if sid, done, _ := l.claim(t.Context(), id); !done || sid != "SM-"+id {
			t.Errorf("claim %s = %q, %v; want SM-%s, done", id, sid, done, id)
		}
	}
	if len(l.sent) != 2 {
		t.Errorf("ledger holds %d ids, want 2", len(l.sent))
	}
}

func TestLedgerLetsAWaiterRetryAfterAFailure(t *testing.T) {
	l := newLedger(4)
	if _, _, err := l.claim(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	got := make(chan bool)
	go func() {
		_, done, err := l.claim(context.Background(), "a")
		got <- done || err != nil
	}()
	time.Sleep(10 * time.Millisecond)
	l.release("a", "", false)
	if <-got {
		t.Fatalf("waiter did not get the reservation after the first send failed")
	}
}

func TestLedgerWaiterGivesUpWithItsContext(t *testing.T) {
	l := newLedger(4)
	if _, _, err := l.claim(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, _, err := l.claim(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want deadline exceeded", err)
	}
}
