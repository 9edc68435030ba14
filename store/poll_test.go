package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestPollFindsTheKeyAndTheSubjectsAttemptInOneQuery(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		now := time.Now().UTC().Truncate(time.Millisecond)
		must(t, s.CreateAccount(ctx, &store.Account{ID: "acc2", Name: "Other", CreatedAt: now}))
		for _, k := range []store.APIKey{
			{ID: "k1", AccountID: acc.ID, Name: "app", Scope: store.ScopeApp, Hash: "h1", CreatedAt: now},
			{ID: "k2", AccountID: "acc2", Name: "app", Scope: store.ScopeApp, Hash: "h2", CreatedAt: now},
			{ID: "k3", AccountID: acc.ID, Name: "admin", Scope: store.ScopeAdmin, Hash: "h3", CreatedAt: now},
			{ID: "k4", AccountID: acc.ID, Name: "admin", Scope: store.ScopeAdmin, Hash: "h4", CreatedAt: now},
		} {
			must(t, s.CreateAPIKey(ctx, &k))
		}
		for i, a := range []store.Attempt{
			{ID: "old", System: "vpn", AuthID: "alice", State: store.AttemptCancelled},
			{ID: "new", System: "vpn", AuthID: "alice", State: store.AttemptPending, Method: "pin"},
			{ID: "bob", System: "vpn", AuthID: "bob", State: store.AttemptPending},
		} {
			a.AccountID, a.WorkflowID = acc.ID, "wf"
			a.StartedAt = now.Add(time.Duration(i) * time.Second)
			a.UpdatedAt = a.StartedAt
			if a.State == store.AttemptPending {
				expires := a.StartedAt.Add(time.Minute)
				a.ExpiresAt = &expires
			} else {
				a.CompletedAt = &a.UpdatedAt
			}
			_, err := s.InsertAttempt(ctx, &a)
			must(t, err)
		}
		must(t, s.RevokeAPIKey(ctx, acc.ID, "k4", now))
		must(t, s.TouchAPIKey(ctx, "k1", now))

		cases := []struct {
			name    string
			hash    string
			poll    store.AttemptPoll
			key     string // "" for no key
			attempt string // "" for none
		}{
			{"the subject's latest attempt", "h1", store.AttemptPoll{System: "vpn", AuthID: "alice"}, "k1", "new"},
			{"the attempt named", "h1", store.AttemptPoll{System: "vpn", AuthID: "alice", ID: "old"}, "k1", "old"},
			{"another user's attempt is not found", "h1", store.AttemptPoll{System: "vpn", AuthID: "alice", ID: "bob"}, "k1", ""},
			{"another system's subject has none", "h1", store.AttemptPoll{System: "mail", AuthID: "alice"}, "k1", ""},
			{"another account's key sees none", "h2", store.AttemptPoll{System: "vpn", AuthID: "alice"}, "k2", ""},
			{"another account's key cannot name one", "h2", store.AttemptPoll{System: "vpn", AuthID: "alice", ID: "new"}, "k2", ""},
			{"any live key is returned with its scope", "h3", store.AttemptPoll{System: "vpn", AuthID: "alice"}, "k3", "new"},
			{"a revoked key is no key", "h4", store.AttemptPoll{System: "vpn", AuthID: "alice"}, "", ""},
			{"an unknown key is no key", "nope", store.AttemptPoll{System: "vpn", AuthID: "alice"}, "", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key, att, found, err := s.Poll(ctx, c.hash, c.poll)
				if c.key == "" {
					if !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("poll = %+v, %v; want ErrNotFound", key, err)
					}
					return
				}
				must(t, err)
				if key.ID != c.key || key.AccountID == "" || key.Scope == "" || key.Hash != c.hash {
					t.Fatalf("key = %+v, want %s", key, c.key)
				}
				if want, err := s.APIKeyByHash(ctx, c.hash); err != nil || !reflect.DeepEqual(key, want) {
					t.Fatalf("key = %+v, want %+v", key, want)
				}
				if found != (c.attempt != "") || att.ID != c.attempt {
					t.Fatalf("attempt = %q (found %v), want %q", att.ID, found, c.attempt)
				}
				if found {
					want, err := s.GetAttempt(ctx, c.attempt)
					must(t, err)
					// All but the sealed secrets, digests, IP and user agent,
					// which a check does not read.
					want.Challenge, want.SSOSealed, want.LinkDigest, want.SSOStateDigest = nil, nil, "", ""
					want.PageDigest, want.BrowserDigest, want.IP, want.UserAgent = "", "", "", ""
					if !reflect.DeepEqual(att, want) {
						t.Fatalf("attempt = %+v, want %+v", att, want)
					}
				}
			})
		}
	})
}

func TestSignInUserIsReadInOneQuery(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, sys, u := seed(t, s)
		must(t, s.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "pin"}}))
		must(t, s.RecordLogin(ctx, u.ID, "198.51.100.7", "pin", time.Now().UTC()))

		got, err := s.GetSignInUser(ctx, acc.ID, "alice", sys.ID, "198.51.100.7")
		must(t, err)
		if got.ID != u.ID || got.Email != u.Email || got.Assigned != "pin" || !got.KnownIP || !got.EmailDelivery || got.LoginCount != 1 {
			t.Fatalf("sign-in user = %+v", got)
		}
		got, err = s.GetSignInUser(ctx, acc.ID, "alice", "another-system", "203.0.113.9")
		must(t, err)
		if got.ID != u.ID || got.Assigned != "" || got.KnownIP {
			t.Fatalf("unassigned from a new address: %+v", got)
		}
		if _, err := s.GetSignInUser(ctx, acc.ID, "nobody", sys.ID, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown user: err = %v, want ErrNotFound", err)
		}
	})
}
