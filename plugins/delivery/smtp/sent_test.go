package smtp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSentLogForgetsTheOldestBeyondItsCapacity(t *testing.T) {
	l := newSentLog(3)
	for i := range 5 {
		id := fmt.Sprint(i)
		sent, done, err := l.claim(t.Context(), id)
		if err != nil || sent {
			t.Fatalf("claim %s: sent = %v, err = %v", id, sent, err)
		}
		done(true)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := l.sent[fmt.Sprint(i)]; ok != want {
			t.Errorf("remembers %d = %v, want %v", i, ok, want)
		}
	}
	if len(l.sent) != 3 || len(l.order) != 3 {
		t.Errorf("holds %d ids in a ring of %d, want 3", len(l.sent), len(l.order))
	}
}

func TestSentLogFailedDeliveryCanBeClaimedAgain(t *testing.T) {
	l := newSentLog(10)
	_, done, _ := l.claim(t.Context(), "a")
	done(false)
	sent, done, err := l.claim(t.Context(), "a")
	if err != nil || sent {
		t.Fatalf("claim after failure: sent = %v, err = %v", sent, err)
	}
	done(true)
	if sent, _, _ := l.claim(t.Context(), "a"); !sent {
		t.Fatal("a delivered id is not reported as sent")
	}
}

func TestSentLogWaiterGivesUpWithItsContext(t *testing.T) {
	l := newSentLog(10)
	_, done, _ := l.claim(t.Context(), "a")
	defer done(false)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := l.claim(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
}
