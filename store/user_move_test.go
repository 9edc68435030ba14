package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// TestMoveUser: a user moves between organisations of one branch with its
// ID (so its credentials), its assignments replaced, its sessions ended,
// its links carried and its pending attempts cancelled; a clash in the
// target or an organisation outside the branch moves nothing.
func TestMoveUser(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		// top ─┬─ a
		//      └─ b        other
		must(t, s.CreateAccount(ctx, &store.Account{ID: "top", Name: "Top", CreatedAt: now}))
		must(t, s.CreateAccount(ctx, &store.Account{ID: "other", Name: "Other", CreatedAt: now}))
		for _, id := range []string{"a", "b"} {
			must(t, s.CreateOrganisation(ctx, "top", &store.Account{ID: id, Name: id, ParentID: "top", CreatedAt: now}))
		}
		sys := func(id, account string) store.System {
			x := store.System{ID: id, AccountID: account, Name: "vpn", Methods: []string{"pin"}, Sensitivity: "low",
				TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateSystem(ctx, &x))
			return x
		}
		vpnA, vpnB := sys("vpn-a", "a"), sys("vpn-b", "b")
		user := func(id, account, authid string) store.User {
			u := store.User{ID: id, AccountID: account, AuthID: authid, Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateUser(ctx, &u))
			return u
		}
		ann := user("u-ann", "a", "ann")
		must(t, s.SetAssignments(ctx, ann.ID, []store.Assignment{{UserID: ann.ID, SystemID: vpnA.ID, Method: "pin"}}))
		must(t, s.CreateConsoleSession(ctx, &store.ConsoleSession{ID: "cs1", AccountID: "a", UserID: ann.ID, AuthID: "ann",
			AttemptID: "att-console", SignedInAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, now.Add(-time.Hour)))
		must(t, s.CreateUserSession(ctx, &store.UserSession{ID: "us1", AccountID: "a", UserID: ann.ID, AttemptID: "att-self",
			AuthenticatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
		pending := store.Attempt{ID: "att-pending", AccountID: "a", System: "vpn", AuthID: "ann", WorkflowID: "wf", State: store.AttemptPending,
			StartedAt: now, UpdatedAt: now}
		if _, err := s.InsertAttempt(ctx, &pending); err != nil {
			t.Fatal(err)
		}

		move := func(within, from, to string, as ...store.Assignment) error {
			return s.MoveUser(ctx, within, store.UserMove{UserID: ann.ID, AuthID: "ann", From: from, To: to, Assignments: as, At: now},
				store.AuditEvent{AccountID: from, Time: now, Type: "user.moved", AuthID: "ann"})
		}
		t.Run("outside the branch or from the wrong organisation, nothing moves", func(t *testing.T) {
			for _, tt := range []struct{ within, from, to string }{
				{"a", "a", "b"},       // b is a sibling of the caller's a
				{"top", "a", "other"}, // another tree
				{"top", "b", "a"},     // ann is not in b
			} {
				if err := move(tt.within, tt.from, tt.to); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("move %+v: %v, want ErrNotFound", tt, err)
				}
			}
			if u, err := s.GetUser(ctx, "a", "ann"); err != nil || u.ID != ann.ID {
				t.Fatalf("ann after refused moves: %+v, %v", u, err)
			}
		})
		t.Run("a clash in the target moves nothing", func(t *testing.T) {
			clash := user("u-ann-b", "b", "ann")
			if err := move("top", "a", "b"); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("move onto an existing authid: %v, want ErrConflict", err)
			}
			if _, err := s.GetConsoleSession(ctx, "cs1"); err != nil {
				t.Fatalf("the refused move ended the session: %v", err)
			}
			must(t, s.DeleteUser(ctx, "b", clash.AuthID))
		})
		t.Run("the move carries the user and ends what belonged to the old organisation", func(t *testing.T) {
			must(t, move("top", "a", "b", store.Assignment{UserID: ann.ID, SystemID: vpnB.ID, Method: "pin"}))
			if _, err := s.GetUser(ctx, "a", "ann"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("ann still in a: %v", err)
			}
			moved, err := s.GetUser(ctx, "b", "ann")
			must(t, err)
			if moved.ID != ann.ID {
				t.Fatalf("ann in b has ID %s, want %s (credentials are keyed by it)", moved.ID, ann.ID)
			}
			as, err := s.ListAssignments(ctx, ann.ID)
			must(t, err)
			if len(as) != 1 || as[0].System != "vpn" {
				t.Fatalf("assignments = %+v, want b's vpn alone", as)
			}
			if _, err := s.GetConsoleSession(ctx, "cs1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("console session after the move: %v, want it ended", err)
			}
			if _, err := s.GetUserSession(ctx, "us1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("security settings session after the move: %v, want it ended", err)
			}
			a, err := s.GetAttempt(ctx, pending.ID)
			must(t, err)
			if a.State != store.AttemptCancelled {
				t.Fatalf("pending attempt after the move is %s, want cancelled", a.State)
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "a", AuthID: "ann"})
			must(t, err)
			types := map[string]bool{}
			for _, e := range events {
				types[e.Type] = true
			}
			if !types["user.moved"] || !types["attempt.cancelled"] {
				t.Fatalf("a's audit of ann = %+v, want user.moved and attempt.cancelled", events)
			}
		})
	})
}
