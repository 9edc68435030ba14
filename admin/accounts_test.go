package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

func TestAccountSetUp(t *testing.T) {
	eachDatabase(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		accounts := admin.NewAccounts(st, nil)
		first := &admin.ConsoleAdmin{AuthID: "root", Email: "root@example.com", Method: "pin"}
		keys, err := accounts.Create(ctx, admin.NewAccount{ID: "acme", Admin: first, Actor: "test",
			Keys: []admin.NewKey{{Name: "app", Scope: store.ScopeApp}, {Name: "admin", Scope: store.ScopeAdmin}}})
		must(t, err)
		if len(keys) != 2 || !strings.HasPrefix(keys[0], secret.AppKeyPrefix) || !strings.HasPrefix(keys[1], secret.AdminKeyPrefix) {
			t.Fatalf("keys = %q: want an app and an admin key", keys)
		}
		root, err := st.GetUser(ctx, "acme", "root")
		must(t, err)
		if _, err := st.ConsoleUser(ctx, root.ID, admin.ConsoleSystem); err != nil {
			t.Fatalf("first administrator is no console user: %v", err)
		}
		if acc, err := st.GetAccount(ctx, "acme"); err != nil || acc.Name != "acme" {
			t.Fatalf("account = %+v, %v; want named after its ID", acc, err)
		}

		if _, err := accounts.Create(ctx, admin.NewAccount{ID: "acme"}); !errors.Is(err, admin.ErrAccountExists) {
			t.Fatalf("second create: err = %v, want ErrAccountExists", err)
		}
		again, err := accounts.Create(ctx, admin.NewAccount{ID: "acme", ReuseExisting: true, Keys: []admin.NewKey{{Name: "more", Scope: store.ScopeApp}}})
		if err != nil || len(again) != 1 {
			t.Fatalf("create reusing the account: %q, %v", again, err)
		}
		// Ensuring the console again changes nothing: root stays as it is.
		must(t, accounts.EnsureConsole(ctx, "acme", &admin.ConsoleAdmin{AuthID: "root", Email: "other@example.com", Method: "pin"}, "test"))
		if u, err := st.GetUser(ctx, "acme", "root"); err != nil || u.Email != "root@example.com" {
			t.Fatalf("root after EnsureConsole = %+v, %v", u, err)
		}
	})
}
