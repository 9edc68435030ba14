package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

func TestMessageTemplates(t *testing.T) {
	eachDatabase(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, sys, _ := seed(t, s)
		other := store.Account{ID: "acc2", Name: "Other", CreatedAt: time.Now().UTC()}
		must(t, s.CreateAccount(ctx, &other))
		now := time.Now().UTC().Truncate(time.Second)
		row := func(account, system, message, part, source string) store.MessageTemplate {
			return store.MessageTemplate{AccountID: account, System: system, Message: message, Part: part, Source: source, UpdatedAt: now}
		}
		ev := store.AuditEvent{AccountID: acc.ID, Time: now, Type: "messages.updated"}
		must(t, s.SetMessageTemplates(ctx, []store.MessageTemplate{
			row(acc.ID, "", "signin_code", "sms", "account {{.Code}}"),
			row(acc.ID, sys.Name, "signin_code", "sms", "system {{.Code}}"),
			row(acc.ID, "wiki", "signin_code", "sms", "wiki {{.Code}}"),
			row(other.ID, "", "signin_code", "sms", "other {{.Code}}"),
		}, ev))

		t.Run("an account level and one system are read together, and nothing of other systems or accounts", func(t *testing.T) {
			rows, err := s.MessageTemplates(ctx, acc.ID, sys.Name)
			must(t, err)
			if len(rows) != 2 || rows[0].System != "" || rows[0].Source != "account {{.Code}}" || rows[1].System != sys.Name || rows[1].Source != "system {{.Code}}" {
				t.Fatalf("rows = %+v", rows)
			}
			rows, err = s.MessageTemplates(ctx, acc.ID, "")
			must(t, err)
			if len(rows) != 1 || rows[0].Source != "account {{.Code}}" {
				t.Fatalf("account only = %+v", rows)
			}
		})

		t.Run("setting a part again replaces it", func(t *testing.T) {
			must(t, s.SetMessageTemplates(ctx, []store.MessageTemplate{row(acc.ID, "", "signin_code", "sms", "again {{.Code}}")}))
			rows, err := s.MessageTemplates(ctx, acc.ID, "")
			must(t, err)
			if len(rows) != 1 || rows[0].Source != "again {{.Code}}" {
				t.Fatalf("rows = %+v", rows)
			}
		})

		t.Run("deleting reports whether there was an override", func(t *testing.T) {
			deleted, err := s.DeleteMessageTemplate(ctx, acc.ID, "", "signin_code", "sms")
			must(t, err)
			again, err := s.DeleteMessageTemplate(ctx, acc.ID, "", "signin_code", "sms")
			must(t, err)
			if !deleted || again {
				t.Fatalf("deleted %v, then %v", deleted, again)
			}
			rows, err := s.MessageTemplates(ctx, other.ID, "")
			must(t, err)
			if len(rows) != 1 {
				t.Fatalf("the other account's override went too: %+v", rows)
			}
		})

		t.Run("deleting a system deletes its overrides", func(t *testing.T) {
			must(t, s.DeleteSystem(ctx, acc.ID, sys.Name))
			again := store.System{ID: "sys2", AccountID: acc.ID, Name: sys.Name, Methods: []string{"pin"}, Sensitivity: "low", TTLSeconds: 60, CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateSystem(ctx, &again))
			rows, err := s.MessageTemplates(ctx, acc.ID, sys.Name)
			must(t, err)
			if len(rows) != 0 {
				t.Fatalf("a new system of the same name inherits %+v", rows)
			}
		})
	})
}
