package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// TestStartCounts: each application attempt a begin records is counted in
// its second, once (a rerun is not), the console's are not, and counts
// past the horizon go when a new second begins.
func TestStartCounts(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		open := func(id, system string, at time.Time) {
			t.Helper()
			a := store.Attempt{ID: id, AccountID: acc.ID, System: system, AuthID: "alice-" + id,
				WorkflowID: "wf", State: store.AttemptPending, StartedAt: at, UpdatedAt: at}
			var res struct{}
			_, err := s.OpenAttempt(ctx, &a, "begin", &res, at)
			must(t, err)
		}
		counted := func(since time.Time) int {
			t.Helper()
			ns, err := s.CountAttemptsEach(ctx, store.AttemptCount{AccountID: acc.ID, FromCounter: true, Since: since})
			must(t, err)
			return ns[0]
		}
		open("1", "vpn", t0)
		open("2", "vpn", t0)
		open("2", "vpn", t0) // a rerun: recorded already
		open("3", "console", t0)
		open("4", "vpn", t0.Add(30*time.Second))
		if n := counted(t0); n != 3 {
			t.Fatalf("%d starts counted from t0, want 3", n)
		}
		if n := counted(t0.Add(time.Second)); n != 1 {
			t.Fatalf("%d starts counted from t0+1s, want 1", n)
		}
		// Three minutes on, the first start of a new second deletes the
		// counts older than two minutes: t0's and t0+30s's.
		for i := range 2 {
			open(fmt.Sprint("late", i), "vpn", t0.Add(3*time.Minute))
		}
		if n := counted(t0.Add(-time.Hour)); n != 2 {
			t.Fatalf("%d starts counted in all, want the 2 of the last second", n)
		}
	})
}
