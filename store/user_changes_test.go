package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestApplyUserChanges(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, vpn, alice := seed(t, s)
		now := time.Now().UTC()
		mail := store.System{ID: "sys-mail", AccountID: acc.ID, Name: "mail", Methods: []string{"passwordless"},
			Sensitivity: "low", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateSystem(ctx, &mail))
		must(t, s.SetAssignments(ctx, alice.ID, []store.Assignment{{UserID: alice.ID, SystemID: vpn.ID, Method: "pin"}}))
		dave := store.User{ID: "u-dave", AccountID: acc.ID, AuthID: "dave", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &dave))
		must(t, s.SetAssignments(ctx, dave.ID, []store.Assignment{{UserID: dave.ID, SystemID: vpn.ID, Method: "pin"}}))

		bob := store.User{ID: "u-bob", AccountID: acc.ID, AuthID: "bob", Name: "Bob", Email: "bob@example.com",
			Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		disabled := alice
		disabled.Status, disabled.UpdatedAt = store.UserDisabled, now.Add(time.Second)
		event := func(typ, authid string) store.AuditEvent {
			return store.AuditEvent{AccountID: acc.ID, Time: now, Type: typ, AuthID: authid, Detail: map[string]any{"actor": "key:k1"}}
		}
		err := s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{
			{User: bob, Create: true, ReplaceAssignments: true,
				Assignments: []store.Assignment{{UserID: bob.ID, SystemID: mail.ID, Method: "passwordless"}}},
			{User: disabled, SaveProfile: true, ReplaceAssignments: true,
				Assignments: []store.Assignment{{UserID: alice.ID, SystemID: vpn.ID, Method: "passwordless"}, {UserID: alice.ID, SystemID: mail.ID, Method: "passwordless"}}},
		}, event("user.created", "bob"), event("assignments.updated", "bob"), event("user.updated", "alice"), event("assignments.updated", "alice"))
		must(t, err)

		got, err := s.GetUser(ctx, acc.ID, "bob")
		must(t, err)
		if got.Email != "bob@example.com" || got.Status != store.UserActive {
			t.Errorf("created bob = %+v", got)
		}
		got, err = s.GetUser(ctx, acc.ID, "alice")
		must(t, err)
		if got.Status != store.UserDisabled || got.Name != "Alice" {
			t.Errorf("updated alice = %+v, want disabled, name kept", got)
		}
		all, err := s.ListAccountAssignments(ctx, acc.ID)
		must(t, err)
		want := []store.UserAssignment{
			{UserID: "u-bob", System: "mail", Method: "passwordless"},
			{UserID: "u-dave", System: "vpn", Method: "pin"}, // not in the import: left alone
			{UserID: "u1", System: "mail", Method: "passwordless"},
			{UserID: "u1", System: "vpn", Method: "passwordless"},
		}
		if fmt.Sprint(all) != fmt.Sprint(want) {
			t.Errorf("assignments = %v, want %v", all, want)
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID})
		must(t, err)
		if len(events) != 4 || events[0].Type != "assignments.updated" || events[0].AuthID != "alice" || events[0].Detail["actor"] != "key:k1" {
			t.Errorf("audit events = %+v, want the 4 of the import", events)
		}
	})
}

func TestApplyUserChangesIsAllOrNothing(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, vpn, alice := seed(t, s)
		now := time.Now().UTC()
		carol := store.User{ID: "u-carol", AccountID: acc.ID, AuthID: "carol", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		disabled := alice
		disabled.Status = store.UserDisabled
		ghost := store.User{ID: "u-ghost", AccountID: acc.ID, AuthID: "ghost", Status: store.UserActive, UpdatedAt: now}
		aliceAgain := alice
		aliceAgain.ID = "u-alice-2"
		other := carol
		other.AccountID = "acc-other"
		ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "user.created", AuthID: "carol"}

		tests := []struct {
			name  string
			users []store.UserChange
			want  error
		}{
			{"a user created meanwhile", []store.UserChange{
				{User: carol, Create: true},
				{User: disabled, SaveProfile: true},
				{User: aliceAgain, Create: true},
			}, store.ErrConflict},
			{"a user deleted meanwhile", []store.UserChange{
				{User: carol, Create: true, ReplaceAssignments: true, Assignments: []store.Assignment{{UserID: carol.ID, SystemID: vpn.ID, Method: "pin"}}},
				{User: ghost, SaveProfile: true},
			}, store.ErrNotFound},
			{"a system deleted meanwhile", []store.UserChange{
				{User: carol, Create: true, ReplaceAssignments: true, Assignments: []store.Assignment{{UserID: carol.ID, SystemID: "sys-gone", Method: "pin"}}},
			}, nil},
			{"a user of another account", []store.UserChange{{User: other, Create: true}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.ApplyUserChanges(ctx, acc.ID, tt.users, ev)
				if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if _, err := s.GetUser(ctx, acc.ID, "carol"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("carol exists after a failed import (err %v)", err)
				}
				got, err := s.GetUser(ctx, acc.ID, "alice")
				must(t, err)
				if got.Status != store.UserActive {
					t.Errorf("alice was disabled by a failed import")
				}
				events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID})
				must(t, err)
				if len(events) != 0 {
					t.Errorf("a failed import left audit events: %+v", events)
				}
			})
		}
	})
}

func TestApplyUserChangesInBatches(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, vpn, _ := seed(t, s)
		now := time.Now().UTC()
		const n = 1201 // more than two batches
		users := make([]store.UserChange, n)
		for i := range users {
			u := store.User{ID: fmt.Sprintf("u-%04d", i), AccountID: acc.ID, AuthID: fmt.Sprintf("user%04d", i),
				Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
			users[i] = store.UserChange{User: u, Create: true, ReplaceAssignments: true,
				Assignments: []store.Assignment{{UserID: u.ID, SystemID: vpn.ID, Method: "pin"}}}
		}
		must(t, s.ApplyUserChanges(ctx, acc.ID, users))
		all, err := s.ListUsers(ctx, store.UserFilter{AccountID: acc.ID})
		must(t, err)
		as, err := s.ListAccountAssignments(ctx, acc.ID)
		must(t, err)
		if len(all) != n+1 || len(as) != n {
			t.Fatalf("%d users and %d assignments, want %d and %d", len(all), len(as), n+1, n)
		}
	})
}

func TestApplyUserChangeBatches(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		top, vpn, _ := seed(t, s)
		now := time.Now().UTC()
		child := store.Account{ID: "acc1-eu", Name: "Acme EU", ParentID: top.ID, CreatedAt: now}
		must(t, s.CreateOrganisation(ctx, top.ID, &child))
		euVPN := store.System{ID: "sys-eu-vpn", AccountID: child.ID, Name: "vpn", Methods: []string{"pin"},
			Sensitivity: "high", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateSystem(ctx, &euVPN))
		user := func(id, accountID, authid string) store.User {
			return store.User{ID: id, AccountID: accountID, AuthID: authid, Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		}
		event := func(accountID, authid string) store.AuditEvent {
			return store.AuditEvent{AccountID: accountID, Time: now, Type: "user.created", AuthID: authid}
		}
		// The same authid in both organisations: two users.
		topBob, euBob := user("u-top-bob", top.ID, "bob"), user("u-eu-bob", child.ID, "bob")
		batch := func(accountID string, u store.User, systemID string) store.UserChangeBatch {
			return store.UserChangeBatch{AccountID: accountID, Changes: []store.UserChange{{User: u, Create: true, ReplaceAssignments: true,
				Assignments: []store.Assignment{{UserID: u.ID, SystemID: systemID, Method: "pin"}}}}}
		}

		t.Run("a failure in the second account rolls back the first", func(t *testing.T) {
			// The child's batch fails (first a user of another account, then
			// an authid twice), so the top's bob must not be created either.
			wrong := user("u-eu-carol", top.ID, "carol")
			err := s.ApplyUserChangeBatches(ctx, []store.UserChangeBatch{
				batch(top.ID, topBob, vpn.ID),
				{AccountID: child.ID, Changes: []store.UserChange{{User: wrong, Create: true}}},
			}, event(top.ID, "bob"))
			if err == nil {
				t.Fatal("a batch holding another account's user was applied")
			}
			clash := user("u-eu-alice", child.ID, "alice")
			clashAgain := clash
			clashAgain.ID = "u-eu-alice-2"
			err = s.ApplyUserChangeBatches(ctx, []store.UserChangeBatch{
				batch(top.ID, topBob, vpn.ID),
				{AccountID: child.ID, Changes: []store.UserChange{{User: clash, Create: true}, {User: clashAgain, Create: true}}},
			}, event(top.ID, "bob"), event(child.ID, "alice"))
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
			if _, err := s.GetUser(ctx, child.ID, "alice"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("alice of %s exists after a failed apply (err %v)", child.ID, err)
			}
			for _, acc := range []string{top.ID, child.ID} {
				if _, err := s.GetUser(ctx, acc, "bob"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("bob of %s exists after a failed apply (err %v)", acc, err)
				}
				events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc})
				must(t, err)
				if len(events) != 0 {
					t.Errorf("a failed apply left audit events in %s: %+v", acc, events)
				}
			}
		})

		t.Run("every account's changes in one go", func(t *testing.T) {
			must(t, s.ApplyUserChangeBatches(ctx, []store.UserChangeBatch{
				batch(top.ID, topBob, vpn.ID),
				batch(child.ID, euBob, euVPN.ID),
			}, event(top.ID, "bob"), event(child.ID, "bob")))
			for _, want := range []struct {
				account string
				user    store.User
				system  string
			}{{top.ID, topBob, "vpn"}, {child.ID, euBob, "vpn"}} {
				got, err := s.GetUser(ctx, want.account, "bob")
				must(t, err)
				if got.ID != want.user.ID {
					t.Errorf("bob of %s is %s, want %s", want.account, got.ID, want.user.ID)
				}
				as, err := s.ListAccountAssignments(ctx, want.account)
				must(t, err)
				if !slices.Contains(as, store.UserAssignment{UserID: want.user.ID, System: want.system, Method: "pin"}) {
					t.Errorf("assignments of %s = %v, want bob on %s", want.account, as, want.system)
				}
				events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: want.account})
				must(t, err)
				if len(events) != 1 || events[0].AuthID != "bob" {
					t.Errorf("audit of %s = %+v, want bob's creation", want.account, events)
				}
			}
		})
	})
}
