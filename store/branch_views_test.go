package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// TestBranchViews covers the lists and reports an administrator reads
// for one organisation or its whole branch: users, audit, attempts by
// day, recent failures and the branch's system names.
func TestBranchViews(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		// top ─┬─ a ── a1
		//      └─ b
		// other
		for _, o := range []struct{ id, parent string }{{"top", ""}, {"a", "top"}, {"a1", "a"}, {"b", "top"}, {"other", ""}} {
			acc := store.Account{ID: o.id, Name: o.id, ParentID: o.parent, CreatedAt: now}
			if o.parent == "" {
				must(t, s.CreateAccount(ctx, &acc))
			} else {
				must(t, s.CreateOrganisation(ctx, o.parent, &acc))
			}
		}
		// Every organisation has a user "sam", an event and an attempt on
		// a system named after it ("vpn" in a1 and b alike).
		systems := map[string]string{"top": "portal", "a": "crm", "a1": "vpn", "b": "vpn", "other": "vpn"}
		for org, system := range systems {
			must(t, s.CreateUser(ctx, &store.User{ID: "u-" + org, AccountID: org, AuthID: "sam", Status: "active", CreatedAt: now, UpdatedAt: now},
				store.AuditEvent{AccountID: org, Time: now, Type: "denied", System: system, AuthID: "sam"}))
			must(t, s.CreateSystem(ctx, &store.System{ID: "sys-" + org, AccountID: org, Name: system, Methods: []string{"pin"},
				Sensitivity: "medium", TTLSeconds: 300, CreatedAt: now, UpdatedAt: now}))
			_, err := s.InsertAttempt(ctx, &store.Attempt{ID: "att-" + org, AccountID: org, System: system, AuthID: "sam",
				WorkflowID: "wf", RunID: "run", State: store.AttemptPending, Method: "pin", StartedAt: now, UpdatedAt: now})
			must(t, err)
		}
		orgsOfUsers := func(users []store.User) []string {
			out := make([]string, len(users))
			for i, u := range users {
				out[i] = u.AccountID
			}
			return out
		}
		orgsOfEvents := func(events []store.AuditEvent) map[string]bool {
			out := map[string]bool{}
			for _, e := range events {
				out[e.AccountID] = true
			}
			return out
		}

		t.Run("users of one organisation or of its branch, by authid then organisation", func(t *testing.T) {
			cases := []struct {
				filter store.UserFilter
				want   []string
			}{
				{store.UserFilter{AccountID: "a"}, []string{"a"}},
				{store.UserFilter{AccountID: "a", Branch: true}, []string{"a", "a1"}},
				{store.UserFilter{AccountID: "top", Branch: true}, []string{"a", "a1", "b", "top"}},
				{store.UserFilter{AccountID: "a1", Branch: true}, []string{"a1"}},
				{store.UserFilter{AccountID: "top", Branch: true, Search: "nobody"}, []string{}},
			}
			for _, c := range cases {
				users, err := s.ListUsers(ctx, c.filter)
				must(t, err)
				if got := orgsOfUsers(users); !slices.Equal(got, c.want) {
					t.Errorf("ListUsers(%+v) organisations = %v, want %v", c.filter, got, c.want)
				}
				n, err := s.CountUsers(ctx, c.filter)
				must(t, err)
				if n != len(c.want) {
					t.Errorf("CountUsers(%+v) = %d, want %d", c.filter, n, len(c.want))
				}
			}
		})

		t.Run("audit of one organisation or of its branch, never above or beside it", func(t *testing.T) {
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "a", Branch: true})
			must(t, err)
			if got := orgsOfEvents(events); len(got) != 2 || !got["a"] || !got["a1"] {
				t.Fatalf("branch audit of a covers %v, want a and a1", got)
			}
			events, err = s.ListAudit(ctx, store.AuditFilter{AccountID: "a"})
			must(t, err)
			if got := orgsOfEvents(events); len(got) != 1 || !got["a"] {
				t.Fatalf("audit of a covers %v, want a alone", got)
			}
		})

		t.Run("reports of a branch count its organisations' attempts and failures", func(t *testing.T) {
			count := func(f store.SystemFilter) int {
				t.Helper()
				rows, err := s.AttemptsByDay(ctx, "top", now.Add(-time.Hour), f)
				must(t, err)
				n := 0
				for _, r := range rows {
					n += r.Count
				}
				return n
			}
			if n := count(store.SystemFilter{}); n != 1 {
				t.Errorf("attempts of top alone = %d, want 1", n)
			}
			if n := count(store.SystemFilter{Branch: true}); n != 4 {
				t.Errorf("attempts of top's branch = %d, want 4", n)
			}
			if n := count(store.SystemFilter{Branch: true, Name: "vpn"}); n != 2 {
				t.Errorf("vpn attempts of top's branch = %d, want 2 (a1 and b, not other)", n)
			}
			if n := count(store.SystemFilter{Branch: true, Name: "vpn", Exclude: true}); n != 2 {
				t.Errorf("non-vpn attempts of top's branch = %d, want 2", n)
			}
			failures, err := s.RecentAuditOfTypes(ctx, "a", []string{"denied"}, store.SystemFilter{Branch: true}, 10)
			must(t, err)
			if got := orgsOfEvents(failures); len(got) != 2 || !got["a"] || !got["a1"] {
				t.Errorf("recent failures of a's branch cover %v, want a and a1", got)
			}
		})

		t.Run("a branch has a system name when one of its organisations has it", func(t *testing.T) {
			cases := []struct {
				root, name string
				want       bool
			}{
				{"top", "vpn", true}, {"a", "vpn", true}, {"a", "portal", false}, {"b", "crm", false}, {"other", "crm", false},
			}
			for _, c := range cases {
				got, err := s.HasSystemInBranch(ctx, c.root, c.name)
				must(t, err)
				if got != c.want {
					t.Errorf("HasSystemInBranch(%s, %s) = %v, want %v", c.root, c.name, got, c.want)
				}
			}
		})
	})
}
