package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestAdministratorBindsAndUnbindsAnSSOIdentity(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, alice := seed(t, s)
		now := time.Now().UTC()
		bob := store.User{ID: "u2", AccountID: acc.ID, AuthID: "bob", Email: "b@example.com", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateUser(ctx, &bob))
		ev := func(typ string) store.AuditEvent {
			return store.AuditEvent{AccountID: acc.ID, Time: now, Type: typ, AuthID: "alice"}
		}
		const iss = "https://login.microsoftonline.com/4a5b6c7d-1111-4222-8333-944455556666/v2.0"

		// Approved in advance, then replaced by another approval.
		must(t, s.SetSSOIdentity(ctx, alice.ID, iss, "oid-1", now, ev("sso.approved")))
		must(t, s.SetSSOIdentity(ctx, alice.ID, iss, "oid-2", now, ev("sso.approved")))
		got, err := s.GetUser(ctx, acc.ID, "alice")
		if err != nil || got.SSOIssuer != iss || got.SSOSubject != "oid-2" {
			t.Fatalf("alice bound to %q %q (%v)", got.SSOIssuer, got.SSOSubject, err)
		}
		// A first sign-on does not replace an approved identity.
		if bound, err := s.BindSSO(ctx, alice.ID, iss, "oid-3"); err != nil || bound {
			t.Fatalf("BindSSO over an approval = %v, %v", bound, err)
		}
		// One identity, one user.
		if err := s.SetSSOIdentity(ctx, bob.ID, iss, "oid-2", now, ev("sso.approved")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("binding alice's identity to bob: %v, want ErrConflict", err)
		}
		if err := s.SetSSOIdentity(ctx, "nobody", iss, "oid-9", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("binding to a missing user: %v, want ErrNotFound", err)
		}

		cleared, err := s.ClearSSOIdentity(ctx, alice.ID, now, ev("sso.unbound"))
		if err != nil || !cleared {
			t.Fatalf("ClearSSOIdentity = %v, %v", cleared, err)
		}
		if cleared, err = s.ClearSSOIdentity(ctx, alice.ID, now, ev("sso.unbound")); err != nil || cleared {
			t.Fatalf("second ClearSSOIdentity = %v, %v; want nothing to clear", cleared, err)
		}
		if got, _ = s.GetUser(ctx, acc.ID, "alice"); got.SSOSubject != "" || got.SSOIssuer != "" {
			t.Fatalf("alice still bound to %q %q", got.SSOIssuer, got.SSOSubject)
		}
		// Free again: bob may have it now.
		must(t, s.SetSSOIdentity(ctx, bob.ID, iss, "oid-2", now))

		for typ, want := range map[string]int{"sso.approved": 2, "sso.unbound": 1} {
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: typ})
			if err != nil || len(events) != want {
				t.Errorf("%s events = %d (%v), want %d", typ, len(events), err, want)
			}
		}
	})
}
