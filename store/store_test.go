package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/store"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }

// eachDatabase runs fn against a fresh SQLite file and a fresh PostgreSQL
// database: every query must behave the same on both.
func eachDatabase(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	dsns := map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "flexauth.db"),
		"postgres": cluster.NewDatabase(t),
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("second migrate: %v", err)
			}
			fn(t, s)
		})
	}
}

func seed(t *testing.T, s *store.Store) (store.Account, store.System, store.User) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acc := store.Account{ID: "acc1", Name: "Acme", CreatedAt: now}
	must(t, s.CreateAccount(ctx, &acc))
	sys := store.System{ID: "sys1", AccountID: acc.ID, Name: "vpn", Methods: []string{"pin", "passwordless"},
		Sensitivity: "high", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateSystem(ctx, &sys))
	u := store.User{ID: "u1", AccountID: acc.ID, AuthID: "alice", Name: "Alice", Email: "a@example.com",
		Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateUser(ctx, &u))
	return acc, sys, u
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSystemsAndUsers(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, sys, u := seed(t, s)

		dup := sys
		dup.ID = "sys2"
		if err := s.CreateSystem(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate system name: err = %v, want ErrConflict", err)
		}
		got, err := s.GetSystem(ctx, acc.ID, "vpn")
		must(t, err)
		if len(got.Methods) != 2 || got.Methods[0] != "pin" {
			t.Fatalf("methods round trip = %v", got.Methods)
		}
		if _, err := s.GetSystem(ctx, acc.ID, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown system: err = %v", err)
		}

		must(t, s.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "pin"}}))
		as, err := s.ListAssignments(ctx, u.ID)
		must(t, err)
		if len(as) != 1 || as[0].System != "vpn" || as[0].Method != "pin" {
			t.Fatalf("assignments = %+v", as)
		}
		n, err := s.AssignmentsUsingOtherMethods(ctx, sys.ID, []string{"passwordless"})
		must(t, err)
		if n != 1 {
			t.Fatalf("assignments stranded by dropping pin = %d, want 1", n)
		}

		users, err := s.ListUsers(ctx, store.UserFilter{AccountID: acc.ID, Search: "ALI"})
		must(t, err)
		if len(users) != 1 {
			t.Fatalf("search found %d users", len(users))
		}
		must(t, s.DeleteSystem(ctx, acc.ID, "vpn"))
		as, err = s.ListAssignments(ctx, u.ID)
		must(t, err)
		if len(as) != 0 {
			t.Fatalf("assignments survived their system: %+v", as)
		}
	})
}

func TestLoginsAndTOTPSteps(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := seed(t, s)
		now := time.Now().UTC()
		known, err := s.KnownIP(ctx, u.ID, "203.0.113.9")
		must(t, err)
		if known {
			t.Fatal("an unseen IP is known")
		}
		must(t, s.RecordLogin(ctx, u.ID, "203.0.113.9", "", now))
		must(t, s.RecordLogin(ctx, u.ID, "203.0.113.9", "", now.Add(time.Minute)))
		known, err = s.KnownIP(ctx, u.ID, "203.0.113.9")
		must(t, err)
		if !known {
			t.Fatal("a sign-in IP is not known")
		}
		got, err := s.GetUser(ctx, u.AccountID, "alice")
		must(t, err)
		if got.LoginCount != 2 || got.LastIP != "203.0.113.9" {
			t.Fatalf("after logins: count=%d ip=%q", got.LoginCount, got.LastIP)
		}

		ok, err := s.UseTOTPStep(ctx, u.ID, 100)
		must(t, err)
		if !ok {
			t.Fatal("fresh step refused")
		}
		for _, step := range []int64{100, 99} {
			ok, err = s.UseTOTPStep(ctx, u.ID, step)
			must(t, err)
			if ok {
				t.Fatalf("step %d accepted after step 100", step)
			}
		}
	})
}

func TestAttemptPublishing(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		now := time.Now().UTC()
		old := store.Attempt{ID: "a1", AccountID: acc.ID, System: "vpn", AuthID: "alice", WorkflowID: "wf",
			State: store.AttemptPending, StartedAt: now, UpdatedAt: now}
		inserted, err := s.InsertAttempt(ctx, &old, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "attempt.started", AttemptID: "a1"})
		must(t, err)
		again, err := s.InsertAttempt(ctx, &old, store.AuditEvent{AccountID: acc.ID, Time: now, Type: "attempt.started", AttemptID: "a1"})
		must(t, err) // a retried insert is a no-op
		if !inserted || again {
			t.Fatalf("inserted = %v, then %v; want true, then false", inserted, again)
		}
		started, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, AttemptID: "a1", Type: "attempt.started"})
		must(t, err)
		if len(started) != 1 {
			t.Fatalf("%d attempt.started events after a retried insert, want 1", len(started))
		}

		ok, err := s.PublishAttempt(ctx, "a1", store.AttemptUpdate{LinkDigest: "d1", At: now},
			store.AuditEvent{AccountID: acc.ID, Time: now, Type: "challenge.delivered", System: "vpn", AuthID: "alice", AttemptID: "a1"})
		must(t, err)
		if !ok {
			t.Fatal("publish to a pending attempt did not apply")
		}
		byLink, err := s.AttemptByLinkDigest(ctx, "d1")
		must(t, err)
		if byLink.ID != "a1" {
			t.Fatalf("link lookup found %q", byLink.ID)
		}

		sealed, err := s.SetChallenge(ctx, "a1", []byte("first"))
		must(t, err)
		kept, err := s.SetChallenge(ctx, "a1", []byte("second"))
		must(t, err)
		if string(sealed) != "first" || string(kept) != "first" {
			t.Fatalf("challenge = %q then %q, want the first one kept", sealed, kept)
		}

		newer := old
		newer.ID, newer.StartedAt = "a2", now.Add(time.Second)
		_, err = s.InsertAttempt(ctx, &newer)
		must(t, err)
		ids, superseded, err := s.CancelOtherAttempts(ctx, newer, now)
		must(t, err)
		if len(ids) != 1 || ids[0] != "a1" || superseded {
			t.Fatalf("cancelled %v (superseded %v), want [a1]", ids, superseded)
		}
		latest, err := s.LatestAttempt(ctx, acc.ID, "vpn", "alice")
		must(t, err)
		if latest.ID != "a2" {
			t.Fatalf("latest = %s", latest.ID)
		}
		ok, err = s.PublishAttempt(ctx, "a1", store.AttemptUpdate{State: store.AttemptAuthenticated, At: now})
		must(t, err)
		if ok {
			t.Fatal("a cancelled attempt was authenticated")
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, AuthID: "alice"})
		must(t, err)
		if len(events) != 2 || events[0].Type != "attempt.cancelled" || events[1].Type != "challenge.delivered" {
			t.Fatalf("audit = %+v", events)
		}

		// An older attempt whose begin runs late (its workflow was
		// terminated, its local activity was not) cancels nothing newer:
		// it is cancelled itself.
		late := old
		late.ID, late.StartedAt = "a0", now.Add(-time.Second)
		_, err = s.InsertAttempt(ctx, &late)
		must(t, err)
		ids, superseded, err = s.CancelOtherAttempts(ctx, late, now)
		must(t, err)
		if !superseded || len(ids) != 1 || ids[0] != "a0" {
			t.Fatalf("a late older begin cancelled %v (superseded %v), want itself", ids, superseded)
		}
		for id, want := range map[string]string{"a0": store.AttemptCancelled, "a2": store.AttemptPending} {
			got, err := s.GetAttempt(ctx, id)
			must(t, err)
			if got.State != want {
				t.Fatalf("attempt %s is %s, want %s", id, got.State, want)
			}
		}
	})
}

func TestUserSearchIsLiteral(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		now := time.Now().UTC()
		for _, id := range []string{"bob_smith", "bobXsmith", "100%real"} {
			must(t, s.CreateUser(ctx, &store.User{ID: "id-" + id, AccountID: acc.ID, AuthID: id, Status: store.UserActive, CreatedAt: now, UpdatedAt: now}))
		}
		for search, want := range map[string]int{"b_s": 1, "0%r": 1, "bob": 2} {
			users, err := s.ListUsers(ctx, store.UserFilter{AccountID: acc.ID, Search: search})
			must(t, err)
			if len(users) != want {
				t.Errorf("search %q found %d users, want %d", search, len(users), want)
			}
		}
	})
}

func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "flexauth.db")
	check := func(t *testing.T) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != 0o600 {
				t.Errorf("%s is %04o, want 0600", filepath.Base(p), got)
			}
		}
	}
	open := func(t *testing.T) {
		t.Helper()
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(t)
	}
	t.Run("a new database", open)
	t.Run("a database left readable by others is tightened", func(t *testing.T) {
		// The -wal and -shm of a closed database may be gone; make them.
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		open(t)
	})
}
