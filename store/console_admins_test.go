package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// removal is one way of taking a console administrator away, as each write
// path of the store does it.
type removal struct {
	name   string
	remove func(ctx context.Context, s *store.Store, u store.User) error
}

var removals = []removal{
	{"delete", func(ctx context.Context, s *store.Store, u store.User) error {
		return s.DeleteUser(ctx, u.AccountID, u.AuthID)
	}},
	{"unassign", func(ctx context.Context, s *store.Store, u store.User) error {
		return s.SetAssignments(ctx, u.ID, nil)
	}},
	{"disable", func(ctx context.Context, s *store.Store, u store.User) error {
		u.Status = store.UserDisabled
		u.UpdatedAt = time.Now().UTC()
		return s.ApplyUserChanges(ctx, u.AccountID, []store.UserChange{{User: u, SaveProfile: true}})
	}},
	{"move", func(ctx context.Context, s *store.Store, u store.User) error {
		// To a sub-organisation of the user's, made for the move.
		to := u.AccountID + "-sub-" + u.AuthID
		now := time.Now().UTC()
		if err := s.CreateOrganisation(ctx, u.AccountID, &store.Account{ID: to, Name: to, ParentID: u.AccountID, CreatedAt: now}); err != nil {
			return err
		}
		return s.MoveUser(ctx, u.AccountID, store.UserMove{UserID: u.ID, AuthID: u.AuthID, From: u.AccountID, To: to, At: now})
	}},
	{"import", func(ctx context.Context, s *store.Store, u store.User) error {
		return s.ApplyUserChangeBatches(ctx, []store.UserChangeBatch{{AccountID: u.AccountID,
			Changes: []store.UserChange{{User: u, ReplaceAssignments: true}}}})
	}},
}

// seedAdmins gives the account a console system and n active users
// assigned it.
func seedAdmins(t *testing.T, s *store.Store, acc store.Account, prefix string, n int) []store.User {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	sys, err := s.GetSystem(ctx, acc.ID, store.ConsoleSystem)
	if errors.Is(err, store.ErrNotFound) {
		sys = store.System{ID: acc.ID + "-console", AccountID: acc.ID, Name: store.ConsoleSystem, Methods: []string{"pin"},
			Sensitivity: "medium", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateSystem(ctx, &sys))
	} else {
		must(t, err)
	}
	users := make([]store.User, n)
	for i := range users {
		u := store.User{ID: fmt.Sprintf("%s-%s-%d", acc.ID, prefix, i), AccountID: acc.ID, AuthID: fmt.Sprintf("%s%d", prefix, i),
			Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &u))
		must(t, s.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "pin"}}))
		users[i] = u
	}
	return users
}

func newAccount(t *testing.T, s *store.Store, id string) store.Account {
	t.Helper()
	acc := store.Account{ID: id, Name: id, CreatedAt: time.Now().UTC()}
	must(t, s.CreateAccount(context.Background(), &acc))
	return acc
}

func TestLastConsoleAdminIsKept(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, r := range removals {
			t.Run(r.name, func(t *testing.T) {
				acc := newAccount(t, s, "keep-"+r.name)
				admins := seedAdmins(t, s, acc, "admin", 2)
				must(t, r.remove(ctx, s, admins[0]))
				if err := r.remove(ctx, s, admins[1]); !errors.Is(err, store.ErrLastConsoleAdmin) {
					t.Fatalf("removing the last console administrator: err = %v, want ErrLastConsoleAdmin", err)
				}
				if n, err := s.CountConsoleUsers(ctx, acc.ID, store.ConsoleSystem, ""); err != nil || n != 1 {
					t.Fatalf("console administrators left: %d, %v; want 1", n, err)
				}
			})
		}
	})
}

func TestOnlyTheLastConsoleAdminIsGuarded(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc := newAccount(t, s, "guarded")
		users := seedAdmins(t, s, acc, "user", 2)
		disabled := users[0]
		disabled.Status = store.UserDisabled
		must(t, s.ApplyUserChanges(ctx, acc.ID, []store.UserChange{{User: disabled, SaveProfile: true}}))
		// A disabled user assigned the console system administers nothing:
		// taking it away leaves the one administrator there is.
		for _, r := range removals {
			if r.name == "delete" || r.name == "move" { // the user goes: checked below
				continue
			}
			if err := r.remove(ctx, s, disabled); err != nil {
				t.Fatalf("%s a disabled user: %v", r.name, err)
			}
		}
		must(t, s.DeleteUser(ctx, acc.ID, disabled.AuthID))
		if err := s.DeleteUser(ctx, acc.ID, users[1].AuthID); !errors.Is(err, store.ErrLastConsoleAdmin) {
			t.Fatalf("delete the last administrator: err = %v, want ErrLastConsoleAdmin", err)
		}
		// An account that has no console administrator is not held to one.
		bare := newAccount(t, s, "bare")
		now := time.Now().UTC()
		v := store.User{ID: "bare-user", AccountID: bare.ID, AuthID: "someone", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &v))
		must(t, s.DeleteUser(ctx, bare.ID, v.AuthID))
	})
}

// Two administrators remove each other (and themselves) at the same moment,
// round after round: the guard inside the write transaction lets exactly
// one through, so the account always keeps a console administrator. Checked
// before the transaction, as the API used to, both passed.
func TestConcurrentRemovalsKeepAConsoleAdmin(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const rounds = 8
		for i, a := range removals {
			b := removals[(i+1)%len(removals)]
			t.Run(a.name+"+"+b.name, func(t *testing.T) {
				for round := range rounds {
					acc := newAccount(t, s, fmt.Sprintf("race-%s-%s-%d", a.name, b.name, round))
					admins := seedAdmins(t, s, acc, "admin", 2)
					var (
						start sync.WaitGroup
						done  sync.WaitGroup
						errs  [2]error
					)
					start.Add(1)
					for j, r := range []removal{a, b} {
						done.Go(func() {
							start.Wait()
							errs[j] = r.remove(ctx, s, admins[1-j])
						})
					}
					start.Done()
					done.Wait()
					refused := 0
					for j, err := range errs {
						switch {
						case errors.Is(err, store.ErrLastConsoleAdmin):
							refused++
						case err != nil:
							t.Fatalf("round %d, removal %d: %v", round, j, err)
						}
					}
					if refused != 1 {
						t.Fatalf("round %d: %d of 2 removals refused (%v), want exactly 1", round, refused, errs)
					}
					n, err := s.CountConsoleUsers(ctx, acc.ID, store.ConsoleSystem, "")
					must(t, err)
					if n != 1 {
						t.Fatalf("round %d: %d console administrators left, want 1", round, n)
					}
				}
			})
		}
	})
}
