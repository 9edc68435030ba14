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

func TestPolicyVersions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, _, _ := seed(t, s)
		now := time.Now().UTC().Truncate(time.Millisecond)

		t.Run("an account without a policy of its own uses the built-in one", func(t *testing.T) {
			v, err := s.ActivePolicyVersion(ctx, acc.ID)
			must(t, err)
			if v != store.BuiltinPolicyVersion {
				t.Fatalf("active version = %d, want %d", v, store.BuiltinPolicyVersion)
			}
			list, err := s.ListPolicyVersions(ctx, acc.ID)
			must(t, err)
			if len(list) != 0 {
				t.Fatalf("versions = %+v, want none", list)
			}
		})

		upload := func(rego string) store.PolicyVersion {
			t.Helper()
			v := store.PolicyVersion{AccountID: acc.ID, Rego: rego, Tests: "tests of " + rego, CreatedAt: now, CreatedBy: "key:k1"}
			ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "policy.uploaded"}
			must(t, s.CreatePolicyVersion(ctx, &v, ev))
			return v
		}

		t.Run("uploads are numbered from 1, activated and audited with their number", func(t *testing.T) {
			first, second := upload("one"), upload("two")
			if first.Version != 1 || second.Version != 2 {
				t.Fatalf("versions = %d, %d, want 1, 2", first.Version, second.Version)
			}
			active, err := s.ActivePolicyVersion(ctx, acc.ID)
			must(t, err)
			if active != 2 {
				t.Fatalf("active version = %d, want 2", active)
			}
			got, err := s.GetPolicyVersion(ctx, acc.ID, 1)
			must(t, err)
			if got.Rego != "one" || got.Tests != "tests of one" || got.CreatedBy != "key:k1" || !got.CreatedAt.Equal(now) {
				t.Fatalf("version 1 = %+v", got)
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "policy.uploaded"})
			must(t, err)
			if len(events) != 2 || fmt.Sprint(events[0].Detail["version"]) != "2" || fmt.Sprint(events[1].Detail["version"]) != "1" {
				t.Fatalf("upload events = %+v", events)
			}
			list, err := s.ListPolicyVersions(ctx, acc.ID)
			must(t, err)
			if len(list) != 2 || list[0].Version != 2 || list[1].Version != 1 || list[0].Rego != "" || list[0].CreatedBy != "key:k1" {
				t.Fatalf("list = %+v, want 2 then 1 without sources", list)
			}
		})

		t.Run("rollback re-activates an earlier version or the built-in one", func(t *testing.T) {
			for _, version := range []int{1, store.BuiltinPolicyVersion, 2} {
				ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "policy.activated", Detail: map[string]any{"version": version}}
				must(t, s.ActivatePolicyVersion(ctx, acc.ID, version, now, ev))
				active, err := s.ActivePolicyVersion(ctx, acc.ID)
				must(t, err)
				if active != version {
					t.Fatalf("after activating %d the active version is %d", version, active)
				}
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "policy.activated"})
			must(t, err)
			if len(events) != 3 {
				t.Fatalf("activation events = %d, want 3", len(events))
			}
		})

		t.Run("an unknown version is not activated and not audited", func(t *testing.T) {
			ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "policy.activated"}
			if err := s.ActivatePolicyVersion(ctx, acc.ID, 9, now, ev); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("activate version 9: err = %v, want ErrNotFound", err)
			}
			if _, err := s.GetPolicyVersion(ctx, acc.ID, 9); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("get version 9: err = %v, want ErrNotFound", err)
			}
			active, err := s.ActivePolicyVersion(ctx, acc.ID)
			must(t, err)
			if active != 2 {
				t.Fatalf("active version = %d after a refused activation, want 2", active)
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: acc.ID, Type: "policy.activated"})
			must(t, err)
			if len(events) != 3 {
				t.Fatalf("activation events = %d, want still 3", len(events))
			}
		})

		t.Run("versions belong to their account", func(t *testing.T) {
			other := store.Account{ID: "acc2", Name: "Other", CreatedAt: now}
			must(t, s.CreateAccount(ctx, &other))
			if err := s.ActivatePolicyVersion(ctx, other.ID, 1, now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("activate another account's version: err = %v, want ErrNotFound", err)
			}
			v := store.PolicyVersion{AccountID: other.ID, Rego: "x", Tests: "y", CreatedAt: now, CreatedBy: "key:k2"}
			must(t, s.CreatePolicyVersion(ctx, &v))
			if v.Version != 1 {
				t.Fatalf("first version of another account = %d, want 1", v.Version)
			}
		})

		t.Run("concurrent uploads get distinct numbers", func(t *testing.T) {
			const n = 6
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := store.PolicyVersion{AccountID: acc.ID, Rego: "r", Tests: "t", CreatedAt: now, CreatedBy: "key:k1"}
					errs[i] = s.CreatePolicyVersion(ctx, &v)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				must(t, err)
			}
			list, err := s.ListPolicyVersions(ctx, acc.ID)
			must(t, err)
			if len(list) != 2+n || list[0].Version != 2+n {
				t.Fatalf("after %d concurrent uploads: %d versions, newest %d", n, len(list), list[0].Version)
			}
			active, err := s.ActivePolicyVersion(ctx, acc.ID)
			must(t, err)
			if active != 2+n {
				t.Fatalf("active version = %d, want the newest %d", active, 2+n)
			}
		})
	})
}
