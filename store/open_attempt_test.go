package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestConcurrentOpeningsLeaveOnlyTheLatestPending(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		now := time.Now().UTC().Truncate(time.Millisecond)
		const n = 8
		for round := range 5 {
			authid := fmt.Sprint("user", round)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					a := store.Attempt{ID: fmt.Sprintf("%s-%d", authid, i), AccountID: acc.ID, System: "vpn", AuthID: authid,
						WorkflowID: "wf", State: store.AttemptPending, StartedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
					var done struct{}
					_, err := s.OpenAttempt(ctx, &a, "begin", &done, now,
						store.AuditEvent{AccountID: acc.ID, Time: now, Type: "attempt.started", AttemptID: a.ID})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				must(t, err)
			}
			var pending []string
			for i := range n {
				a, err := s.GetAttempt(ctx, fmt.Sprintf("%s-%d", authid, i))
				must(t, err)
				if a.State == store.AttemptPending {
					pending = append(pending, a.ID)
				}
			}
			if want := fmt.Sprintf("%s-%d", authid, n-1); len(pending) != 1 || pending[0] != want {
				t.Fatalf("pending after %d concurrent openings: %v, want only %s", n, pending, want)
			}
		}
	})
}
