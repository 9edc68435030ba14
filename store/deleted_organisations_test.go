package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestDeletedOrganisationIDsAreNeverUsedAgain(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		must(t, s.CreateAccount(ctx, &store.Account{ID: "acme", Name: "Acme", CreatedAt: now}))
		must(t, s.CreateAccount(ctx, &store.Account{ID: "globex", Name: "Globex", CreatedAt: now}))
		sub := func(id, parent string) *store.Account {
			return &store.Account{ID: id, Name: "Org " + id, ParentID: parent, CreatedAt: now}
		}
		must(t, s.CreateOrganisation(ctx, "acme", sub("acme-eu", "acme")))
		must(t, s.AppendAudit(ctx, store.AuditEvent{AccountID: "acme-eu", Time: now, Type: "user.created", AuthID: "ada"}))
		deleted := store.AuditEvent{AccountID: "acme", Time: now, Type: "organisation.deleted", Detail: map[string]any{"id": "acme-eu"}}
		must(t, s.DeleteOrganisation(ctx, "acme", "acme-eu", deleted))

		// The same error as for an id in use, whoever asks and however.
		inUse := fmt.Sprintf("organisation globex: %v", store.ErrConflict)
		if err := s.CreateOrganisation(ctx, "acme", sub("globex", "acme")); err == nil || err.Error() != inUse {
			t.Fatalf("creating an organisation of an id in use: err = %v, want %q", err, inUse)
		}
		want := fmt.Sprintf("organisation acme-eu: %v", store.ErrConflict)
		for _, parent := range []string{"acme", "globex"} {
			err := s.CreateOrganisation(ctx, parent, sub("acme-eu", parent))
			if !errors.Is(err, store.ErrConflict) || err.Error() != want {
				t.Errorf("creating the deleted acme-eu again under %s: err = %v, want %q", parent, err, want)
			}
		}
		if err := s.CreateAccount(ctx, &store.Account{ID: "acme-eu", Name: "Top", CreatedAt: now}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("creating the deleted acme-eu again as a top organisation: err = %v, want ErrConflict", err)
		}
		for _, root := range []string{"acme", "globex", "acme-eu"} {
			if in, err := s.IsInBranch(ctx, root, "acme-eu"); err != nil || in {
				t.Errorf("IsInBranch(%s, acme-eu) = %v, %v; want it in no branch", root, in, err)
			}
		}
		// Its trail stays, for no organisation to read.
		events, err := s.ListAudit(ctx, store.AuditFilter{AccountID: "acme-eu"})
		must(t, err)
		if len(events) != 1 || events[0].Type != "user.created" {
			t.Fatalf("audit of acme-eu = %+v, want its event kept", events)
		}
		// Deleted at the time of its deletion's event.
		var at time.Time
		must(t, s.DB().NewSelect().Table("deleted_organisations").Column("deleted_at").Where("id = ?", "acme-eu").Scan(ctx, &at))
		if !at.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("deleted_at = %v, want %v", at, now)
		}

		// A deletion refused writes nothing.
		must(t, s.CreateOrganisation(ctx, "acme", sub("busy", "acme")))
		must(t, s.CreateOrganisation(ctx, "acme", sub("busy-child", "busy")))
		if err := s.DeleteOrganisation(ctx, "acme", "busy"); !errors.Is(err, store.ErrOrganisationInUse) {
			t.Fatalf("deleting an organisation with a child: err = %v, want ErrOrganisationInUse", err)
		}
		n, err := s.DB().NewSelect().Table("deleted_organisations").Where("id = ?", "busy").Count(ctx)
		must(t, err)
		if n != 0 {
			t.Fatal("a refused deletion kept the id as deleted")
		}
		// An id never used is free.
		must(t, s.CreateOrganisation(ctx, "globex", sub("globex-eu", "globex")))
	})
}

func TestMigrationFindsOrganisationsDeletedBefore(t *testing.T) {
	eachEmptyDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.MigrateUntil(ctx, "20261231000001"))
		now := time.Now().UTC().Truncate(time.Millisecond)
		_, err := s.DB().ExecContext(ctx, "INSERT INTO accounts (id, name, created_at) VALUES ('acme', 'Acme', ?)", now)
		must(t, err)
		// acme-eu left audit events, acme-us attempts; both were deleted.
		for _, ev := range []struct {
			account string
			at      time.Time
		}{{"acme", now}, {"acme-eu", now.Add(-time.Hour)}, {"acme-eu", now.Add(-time.Minute)}} {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO audit_events (account_id, at, type, system, authid, attempt_id, ip)
				VALUES (?, ?, 'user.created', '', 'ada', '', '')`, ev.account, ev.at)
			must(t, err)
		}
		for _, a := range []struct{ id, account string }{{"a1", "acme"}, {"a2", "acme-us"}} {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO attempts (id, account_id, system, authid, workflow_id, run_id, state, method, ip, user_agent, started_at, updated_at)
				VALUES (?, ?, 'vpn', 'ada', 'w', 'r', 'done', 'pin', '', '', ?, ?)`, a.id, a.account, now, now)
			must(t, err)
		}

		must(t, s.Migrate(ctx))
		var ids []string
		must(t, s.DB().NewSelect().Table("deleted_organisations").Column("id").Order("id").Scan(ctx, &ids))
		if fmt.Sprint(ids) != "[acme-eu acme-us]" {
			t.Fatalf("deleted organisations after the migration = %v, want [acme-eu acme-us]", ids)
		}
		for _, id := range ids {
			err := s.CreateOrganisation(ctx, "acme", &store.Account{ID: id, Name: id, ParentID: "acme", CreatedAt: now})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("creating %s, deleted before the migration: err = %v, want ErrConflict", id, err)
			}
		}
	})
}
