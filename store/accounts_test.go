package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestAccountSettings(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()

		t.Run("a new account has email login on, even from a zero value", func(t *testing.T) {
			acc := store.Account{ID: "zero", Name: "Zero", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			if !acc.EmailLogin {
				t.Error("the created account's EmailLogin was left false in memory")
			}
			got, err := s.GetAccount(ctx, "zero")
			must(t, err)
			if !got.EmailLogin {
				t.Fatal("an account created with EmailLogin unset was stored with email login off")
			}
		})

		t.Run("turning email login off and on is audited in the same transaction", func(t *testing.T) {
			acc := store.Account{ID: "acme", Name: "Acme", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			ev := store.AuditEvent{AccountID: "acme", Time: now, Type: "account.updated",
				Detail: map[string]any{"actor": "key:k1", "email_login": map[string]any{"old": true, "new": false}}}
			must(t, s.UpdateAccountSettings(ctx, "acme", store.AccountSettings{EmailLogin: true}, store.AccountSettings{EmailLogin: false}, ev))
			got, err := s.GetAccount(ctx, "acme")
			must(t, err)
			if got.EmailLogin {
				t.Fatal("email login is still on after turning it off")
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.updated"})
			must(t, err)
			if len(events) != 1 || events[0].Detail["actor"] != "key:k1" {
				t.Fatalf("audit = %+v, want one account.updated by key:k1", events)
			}

			// An update from settings that are no longer the account's
			// changes nothing and records nothing.
			stale := ev
			err = s.UpdateAccountSettings(ctx, "acme", store.AccountSettings{EmailLogin: true}, store.AccountSettings{EmailLogin: false}, stale)
			if !errors.Is(err, store.ErrSettingsChanged) {
				t.Fatalf("stale update: err = %v, want ErrSettingsChanged", err)
			}
			events, err = s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.updated"})
			must(t, err)
			if len(events) != 1 {
				t.Fatalf("a refused update was audited: %d events", len(events))
			}

			must(t, s.UpdateAccountSettings(ctx, "acme", store.AccountSettings{EmailLogin: false}, store.AccountSettings{EmailLogin: true}))
			if got, err := s.GetAccount(ctx, "acme"); err != nil || !got.EmailLogin {
				t.Fatalf("after turning it back on: %+v, %v", got, err)
			}
		})

		t.Run("an unknown account is not found", func(t *testing.T) {
			err := s.UpdateAccountSettings(ctx, "nobody", store.AccountSettings{EmailLogin: true}, store.AccountSettings{EmailLogin: false})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}
