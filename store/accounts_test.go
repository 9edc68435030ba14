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

		t.Run("a new account has email delivery on and email and password sign-in off, even from a zero value", func(t *testing.T) {
			acc := store.Account{ID: "zero", Name: "Zero", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			if !acc.EmailDelivery {
				t.Error("the created account's EmailDelivery was left false in memory")
			}
			got, err := s.GetAccount(ctx, "zero")
			must(t, err)
			if !got.EmailDelivery {
				t.Fatal("an account created with EmailDelivery unset was stored with email delivery off")
			}
			if got.EmailPasswordLogin {
				t.Fatal("a new account has email and password sign-in on")
			}
		})

		t.Run("both switches change together, each from its old value", func(t *testing.T) {
			acc := store.Account{ID: "both", Name: "Both", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			from, to := acc.Settings(), store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}
			must(t, updateSettings(s, "both", from, to))
			got, err := s.GetAccount(ctx, "both")
			must(t, err)
			if got.Settings() != to {
				t.Fatalf("settings = %+v, want %+v", got.Settings(), to)
			}
			// From a stale value of the other switch: refused.
			err = updateSettings(s, "both", store.AccountSettings{EmailDelivery: true}, store.AccountSettings{})
			if !errors.Is(err, store.ErrSettingsChanged) {
				t.Fatalf("stale update: err = %v, want ErrSettingsChanged", err)
			}
		})

		t.Run("turning email delivery off and on is audited in the same transaction", func(t *testing.T) {
			acc := store.Account{ID: "acme", Name: "Acme", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &acc))
			ev := store.AuditEvent{AccountID: "acme", Time: now, Type: "account.updated",
				Detail: map[string]any{"actor": "key:k1", "email_delivery": map[string]any{"old": true, "new": false}}}
			must(t, updateSettings(s, "acme", store.AccountSettings{EmailDelivery: true}, store.AccountSettings{EmailDelivery: false}, ev))
			got, err := s.GetAccount(ctx, "acme")
			must(t, err)
			if got.EmailDelivery {
				t.Fatal("email delivery is still on after turning it off")
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.updated"})
			must(t, err)
			if len(events) != 1 || events[0].Detail["actor"] != "key:k1" {
				t.Fatalf("audit = %+v, want one account.updated by key:k1", events)
			}

			// An update from settings that are no longer the account's
			// changes nothing and records nothing.
			stale := ev
			err = updateSettings(s, "acme", store.AccountSettings{EmailDelivery: true}, store.AccountSettings{EmailDelivery: false}, stale)
			if !errors.Is(err, store.ErrSettingsChanged) {
				t.Fatalf("stale update: err = %v, want ErrSettingsChanged", err)
			}
			events, err = s.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "account.updated"})
			must(t, err)
			if len(events) != 1 {
				t.Fatalf("a refused update was audited: %d events", len(events))
			}

			must(t, updateSettings(s, "acme", store.AccountSettings{EmailDelivery: false}, store.AccountSettings{EmailDelivery: true}))
			if got, err := s.GetAccount(ctx, "acme"); err != nil || !got.EmailDelivery {
				t.Fatalf("after turning it back on: %+v, %v", got, err)
			}
		})

		t.Run("an unknown account is not found", func(t *testing.T) {
			err := updateSettings(s, "nobody", store.AccountSettings{EmailDelivery: true}, store.AccountSettings{EmailDelivery: false})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

// updateSettings changes an account's settings from from to to, with
// events, confirming that no user is affected.
func updateSettings(s *store.Store, id string, from, to store.AccountSettings, events ...store.AuditEvent) error {
	_, err := s.UpdateAccountSettings(context.Background(), store.SettingsChange{
		AccountID: id, From: from, To: to, At: time.Now().UTC(),
		Audit: func(store.SettingsOutcome) []store.AuditEvent { return events },
	})
	return err
}
