package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// pendingAttempt inserts a pending attempt of the seeded user.
func pendingAttempt(t *testing.T, s *store.Store, id string) store.Attempt {
	t.Helper()
	now := time.Now().UTC()
	a := store.Attempt{ID: id, AccountID: "acc1", System: "vpn", AuthID: "alice", WorkflowID: "wf-" + id, RunID: "r",
		State: store.AttemptPending, StartedAt: now, UpdatedAt: now}
	if _, err := s.InsertAttempt(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAttemptSecretsAreGivenOutOnceAndDroppedWithTheAttempt(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seed(t, s)
		a := pendingAttempt(t, s, "a1")
		now := time.Now().UTC()
		put := func(key string) bool {
			ok, err := s.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: a.ID, Key: key, Sealed: []byte("sealed-" + key), CreatedAt: now})
			must(t, err)
			return ok
		}
		if !put("password:1") || !put(store.SecretRecoveryCodes) {
			t.Fatal("a pending attempt refused a secret")
		}

		// Two takers at once: one gets it.
		var wg sync.WaitGroup
		got := make([]error, 2)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, got[i] = s.TakeAttemptSecret(ctx, a.ID, "password:1")
			}()
		}
		wg.Wait()
		if (got[0] == nil) == (got[1] == nil) {
			t.Fatalf("concurrent takes = %v, want exactly one", got)
		}
		for _, err := range got {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the loser got %v, want ErrNotFound", err)
			}
		}

		// The attempt ends: its secrets go, but for codes still to be shown.
		put("password:2")
		_, err := s.PublishAttempt(ctx, a.ID, store.AttemptUpdate{State: store.AttemptAuthenticated, At: now})
		must(t, err)
		if _, err := s.AttemptSecret(ctx, a.ID, "password:2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a password outlived its attempt: %v", err)
		}
		if sec, err := s.AttemptSecret(ctx, a.ID, store.SecretRecoveryCodes); err != nil || string(sec.Sealed) != "sealed-recovery-codes" {
			t.Fatalf("the codes to show = %+v, %v", sec, err)
		}
		if put("password:3") {
			t.Fatal("an ended attempt took a secret")
		}
	})
}

func TestPageDigestFindsTheAttempt(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seed(t, s)
		a := pendingAttempt(t, s, "a1")
		now := time.Now().UTC()
		_, err := s.PublishAttempt(ctx, a.ID, store.AttemptUpdate{Method: "password", PageDigest: "page-1", Step: store.StepPassword, At: now})
		must(t, err)
		got, err := s.AttemptByPageDigest(ctx, "page-1")
		must(t, err)
		if got.ID != a.ID || got.Step != store.StepPassword || got.Method != "password" {
			t.Fatalf("found %+v", got)
		}
		if _, err := s.AttemptByPageDigest(ctx, "page-2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown page = %v", err)
		}
		// Another attempt cannot take the same page.
		b := pendingAttempt(t, s, "a2")
		if _, err := s.PublishAttempt(ctx, b.ID, store.AttemptUpdate{PageDigest: "page-1", At: now}); err == nil {
			t.Fatal("two attempts share a page digest")
		}
	})
}

func TestAncestorsNearestFirst(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, a := range []store.Account{{ID: "top"}, {ID: "mid", ParentID: "top"}, {ID: "leaf", ParentID: "mid"}} {
			a.Name, a.CreatedAt = a.ID, now
			must(t, s.CreateAccount(ctx, &a))
		}
		got, err := s.Ancestors(ctx, "leaf")
		must(t, err)
		if strings.Join(got, ",") != "leaf,mid,top" {
			t.Fatalf("ancestors of leaf = %v, want leaf, mid, top", got)
		}
		if got, err := s.Ancestors(ctx, "nobody"); err != nil || len(got) != 0 {
			t.Fatalf("ancestors of an unknown id = %v, %v", got, err)
		}
	})
}
