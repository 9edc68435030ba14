package admin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/store"
)

// Two administrators remove each other as the API does it: the check
// first (ConsoleAdmins.Keeps), then the write. Both checks run before
// either write, which is the race the check alone lost: both pass. The
// writes then race, and the store's transaction lets exactly one through.
func TestCheckedRemovalsRacingKeepAConsoleAdmin(t *testing.T) {
	eachDatabase(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rule := admin.NewConsoleAdmins(st)
		accounts := admin.NewAccounts(st, nil)
		const rounds = 6
		for round := range rounds {
			id := fmt.Sprintf("race%d", round)
			_, err := accounts.Create(ctx, admin.NewAccount{ID: id, Actor: "test",
				Admin: &admin.ConsoleAdmin{AuthID: "root", Email: "root@example.com", Method: "pin"}})
			must(t, err)
			must(t, accounts.EnsureConsole(ctx, id, &admin.ConsoleAdmin{AuthID: "ops", Email: "ops@example.com", Method: "pin"}, "test"))
			var users [2]store.User
			for i, authid := range []string{"root", "ops"} {
				users[i], err = st.GetUser(ctx, id, authid)
				must(t, err)
			}

			var checked, done sync.WaitGroup
			checked.Add(2)
			var checks, writes [2]error
			for i := range 2 {
				done.Go(func() {
					other := users[1-i]
					checks[i] = rule.Keeps(ctx, other)
					checked.Done()
					checked.Wait() // both checked before either writes
					if checks[i] == nil {
						writes[i] = st.DeleteUser(ctx, id, other.AuthID)
					}
				})
			}
			done.Wait()
			for i, err := range checks {
				if err != nil {
					t.Fatalf("round %d: check %d refused with the other administrator still there: %v", round, i, err)
				}
			}
			refused := 0
			for i, err := range writes {
				var last *admin.LastConsoleAdminError
				switch {
				case errors.Is(err, store.ErrLastConsoleAdmin) && !errors.As(err, &last):
					refused++
				case err != nil:
					t.Fatalf("round %d: delete %d: %v", round, i, err)
				}
			}
			if refused != 1 {
				t.Fatalf("round %d: %d of 2 deletes refused (%v), want exactly 1", round, refused, writes)
			}
			if n, err := st.CountConsoleUsers(ctx, id, admin.ConsoleSystem, ""); err != nil || n != 1 {
				t.Fatalf("round %d: %d console administrators left (%v), want 1", round, n, err)
			}
			// And now the check alone refuses, naming the one left.
			for _, u := range users {
				if _, err := st.GetUser(ctx, id, u.AuthID); err == nil {
					var last *admin.LastConsoleAdminError
					if err := rule.Keeps(ctx, u); !errors.As(err, &last) || last.AuthID != u.AuthID {
						t.Fatalf("round %d: check of the last administrator %s: %v", round, u.AuthID, err)
					}
				}
			}
		}
	})
}
