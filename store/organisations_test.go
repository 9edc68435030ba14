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

func TestOrganisationTree(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		org := func(id, parent string) {
			t.Helper()
			a := store.Account{ID: id, Name: "Org " + id, ParentID: parent, CreatedAt: now}
			if parent == "" {
				must(t, s.CreateAccount(ctx, &a))
				return
			}
			must(t, s.CreateOrganisation(ctx, parent, &a))
		}
		inBranch := func(ancestor, id string) bool {
			t.Helper()
			ok, err := s.IsInBranch(ctx, ancestor, id)
			must(t, err)
			return ok
		}
		// top ─┬─ a ── a1
		//      └─ b
		// other
		org("top", "")
		org("a", "top")
		org("a1", "a")
		org("b", "top")
		org("other", "")

		t.Run("a branch is the organisation and all its descendants, with user counts", func(t *testing.T) {
			must(t, s.CreateUser(ctx, &store.User{ID: "u1", AccountID: "a1", AuthID: "ann", Status: "active", CreatedAt: now, UpdatedAt: now}))
			must(t, s.CreateUser(ctx, &store.User{ID: "u2", AccountID: "a1", AuthID: "bob", Status: "active", CreatedAt: now, UpdatedAt: now}))
			got, err := s.Branch(ctx, "a")
			must(t, err)
			want := []store.Organisation{{ID: "a", Name: "Org a", ParentID: "top"}, {ID: "a1", Name: "Org a1", ParentID: "a", Users: 2}}
			if len(got) != len(want) {
				t.Fatalf("branch of a = %+v, want %+v", got, want)
			}
			for i := range want {
				got[i].CreatedAt = time.Time{}
				if got[i] != want[i] {
					t.Fatalf("branch of a [%d] = %+v, want %+v", i, got[i], want[i])
				}
			}
			all, err := s.Branch(ctx, "top")
			must(t, err)
			if len(all) != 4 {
				t.Fatalf("branch of top has %d organisations, want 4: %+v", len(all), all)
			}
			if _, err := s.Branch(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("branch of an unknown organisation: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("IsInBranch holds for the organisation and its descendants only", func(t *testing.T) {
			cases := []struct {
				ancestor, id string
				want         bool
			}{
				{"top", "top", true}, {"top", "a1", true}, {"a", "a1", true},
				{"a1", "a", false}, {"a", "b", false}, {"a", "top", false},
				{"top", "other", false}, {"top", "nope", false},
			}
			for _, c := range cases {
				if got := inBranch(c.ancestor, c.id); got != c.want {
					t.Errorf("IsInBranch(%s, %s) = %v, want %v", c.ancestor, c.id, got, c.want)
				}
			}
		})

		t.Run("nothing outside the caller's branch can be touched", func(t *testing.T) {
			a := store.Account{ID: "x", Name: "X", ParentID: "top", CreatedAt: now}
			if err := s.CreateOrganisation(ctx, "a", &a); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("creating under an ancestor: err = %v, want ErrNotFound", err)
			}
			if err := s.RenameOrganisation(ctx, "a", "b", "B"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("renaming a sibling: err = %v, want ErrNotFound", err)
			}
			if err := s.MoveOrganisation(ctx, "a", "a1", "b"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("moving into a sibling: err = %v, want ErrNotFound", err)
			}
			if err := s.DeleteOrganisation(ctx, "a", "b"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleting a sibling: err = %v, want ErrNotFound", err)
			}
			if err := s.DeleteOrganisation(ctx, "a", "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleting an unknown organisation: err = %v, want ErrNotFound", err)
			}
		})

		t.Run("an id in use anywhere is a conflict", func(t *testing.T) {
			a := store.Account{ID: "other", Name: "Other", ParentID: "a", CreatedAt: now}
			if err := s.CreateOrganisation(ctx, "top", &a); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})

		t.Run("cycles are refused", func(t *testing.T) {
			for _, parent := range []string{"a", "a1"} {
				if err := s.MoveOrganisation(ctx, "top", "a", parent); !errors.Is(err, store.ErrCycle) {
					t.Fatalf("moving a under %s: err = %v, want ErrCycle", parent, err)
				}
			}
			if err := s.MoveOrganisation(ctx, "a", "a", "a1"); !errors.Is(err, store.ErrCycle) {
				t.Fatalf("moving the branch's own root: err = %v, want ErrCycle", err)
			}
			must(t, s.MoveOrganisation(ctx, "top", "a1", "b"))
			if !inBranch("b", "a1") || inBranch("a", "a1") {
				t.Fatal("a1 did not move from a to b")
			}
			must(t, s.MoveOrganisation(ctx, "top", "a1", "a"))
		})

		t.Run("a rename with a refused move changes nothing", func(t *testing.T) {
			name, parent := "Alpha", "a1"
			err := s.UpdateOrganisation(ctx, "top", "a", store.OrganisationUpdate{Name: &name, Parent: &parent},
				store.AuditEvent{AccountID: "a", Time: time.Now().UTC(), Type: "organisation.updated"})
			if !errors.Is(err, store.ErrCycle) {
				t.Fatalf("err = %v, want ErrCycle", err)
			}
			got, err := s.GetAccount(ctx, "a")
			must(t, err)
			if got.Name != "Org a" || got.ParentID != "top" {
				t.Fatalf("after the refused update a = %+v, want it unchanged", got)
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "a", Type: "organisation.updated"})
			must(t, err)
			if len(events) != 0 {
				t.Fatalf("the refused update was audited: %+v", events)
			}
		})

		t.Run("rename changes the name only", func(t *testing.T) {
			must(t, s.RenameOrganisation(ctx, "top", "b", "Bravo"))
			got, err := s.GetAccount(ctx, "b")
			must(t, err)
			if got.Name != "Bravo" || got.ParentID != "top" {
				t.Fatalf("renamed = %+v", got)
			}
		})

		t.Run("delete is refused while it has users or children, and never the caller's own", func(t *testing.T) {
			if err := s.DeleteOrganisation(ctx, "top", "a"); !errors.Is(err, store.ErrOrganisationInUse) {
				t.Fatalf("deleting a parent: err = %v, want ErrOrganisationInUse", err)
			}
			if err := s.DeleteOrganisation(ctx, "top", "a1"); !errors.Is(err, store.ErrOrganisationInUse) {
				t.Fatalf("deleting an organisation with users: err = %v, want ErrOrganisationInUse", err)
			}
			if err := s.DeleteOrganisation(ctx, "b", "b"); !errors.Is(err, store.ErrOwnOrganisation) {
				t.Fatalf("deleting one's own organisation: err = %v, want ErrOwnOrganisation", err)
			}
			ev := store.AuditEvent{AccountID: "top", Time: now, Type: "organisation.deleted", Detail: map[string]any{"id": "b"}}
			must(t, s.DeleteOrganisation(ctx, "top", "b", ev))
			if _, err := s.GetAccount(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleted organisation: err = %v, want ErrNotFound", err)
			}
			events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "top"})
			must(t, err)
			if len(events) != 1 || events[0].Type != "organisation.deleted" {
				t.Fatalf("audit of top = %+v, want the deletion", events)
			}
		})

		t.Run("depth has no limit", func(t *testing.T) {
			parent := "deep0"
			org(parent, "")
			for i := 1; i <= 50; i++ {
				id := fmt.Sprintf("deep%d", i)
				org(id, parent)
				parent = id
			}
			if !inBranch("deep0", "deep50") || inBranch("deep50", "deep0") {
				t.Fatal("deep50 is not under deep0 alone")
			}
			branch, err := s.Branch(ctx, "deep0")
			must(t, err)
			if len(branch) != 51 {
				t.Fatalf("branch of deep0 has %d organisations, want 51", len(branch))
			}
			if err := s.MoveOrganisation(ctx, "deep0", "deep1", "deep50"); !errors.Is(err, store.ErrCycle) {
				t.Fatalf("moving deep1 under deep50: err = %v, want ErrCycle", err)
			}
		})

		t.Run("of two concurrent crossing moves at most one succeeds and no cycle results", func(t *testing.T) {
			for round := range 10 {
				root, x, y := fmt.Sprintf("r%d", round), fmt.Sprintf("x%d", round), fmt.Sprintf("y%d", round)
				org(root, "")
				org(x, root)
				org(y, root)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, move := range [][2]string{{x, y}, {y, x}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = s.MoveOrganisation(ctx, root, move[0], move[1])
					}()
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case !errors.Is(err, store.ErrCycle):
						t.Fatalf("round %d: a crossing move failed otherwise than as a cycle: %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d moves succeeded, want exactly 1 (errors %v)", round, ok, errs)
				}
				if inBranch(x, y) && inBranch(y, x) {
					t.Fatalf("round %d: %s and %s are each under the other", round, x, y)
				}
				if !inBranch(root, x) || !inBranch(root, y) {
					t.Fatalf("round %d: the moved organisations left %s", round, root)
				}
			}
		})
	})
}
