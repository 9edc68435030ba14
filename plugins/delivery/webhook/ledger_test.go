package webhook

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLedgerForgetsTheOldestBeyondCapacity(t *testing.T) {
	l := newLedger(3)
	deliver := func(id string) {
		done, finish, err := l.claim(t.Context(), id)
		if err != nil || done {
			t.Fatalf("claim %s: done=%v err=%v", id, done, err)
		}
		finish(true)
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		deliver(id)
	}
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true} {
		done, finish, err := l.claim(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if done != want {
			t.Errorf("%s remembered = %v, want %v", id, done, want)
		}
		if finish != nil {
			finish(false)
		}
	}
	if len(l.done) != 3 {
		t.Errorf("remembers %d IDs, want 3", len(l.done))
	}
}

func TestLedgerFailedSendIsNotRemembered(t *testing.T) {
	l := newLedger(10)
	_, finish, _ := l.claim(t.Context(), "a")
	finish(false)
	done, finish, err := l.claim(t.Context(), "a")
	if err != nil || done {
		t.Fatalf("claim after a failure: done=%v err=%v, want to try again", done, err)
	}
	finish(true)
}

func TestLedgerSecondClaimWaitsForTheFirst(t *testing.T) {
	l := newLedger(10)
	_, finish, _ := l.claim(t.Context(), "a")

	t.Run("until its context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		if _, _, err := l.claim(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("claim while in flight: %v, want DeadlineExceeded", err)
		}
	})
	t.Run("and learns it was delivered", func(t *testing.T) {
		go func() {
			time.Sleep(20 * time.Millisecond)
			finish(true)
		}()
		done, _, err := l.claim(t.Context(), "a")
		if err != nil || !done {
			t.Fatalf("claim after the first delivered: done=%v err=%v", done, err)
		}
	})
}
