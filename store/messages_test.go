package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/messages"
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
			levels, err := s.MessageLevels(ctx, acc.ID, sys.Name)
			must(t, err)
			if got, want := describe(levels), "system: signin_code.sms=system {{.Code}} | account: signin_code.sms=account {{.Code}}"; got != want {
				t.Fatalf("levels = %s, want %s", got, want)
			}
			levels, err = s.MessageLevels(ctx, acc.ID, "")
			must(t, err)
			if got, want := describe(levels), "account: signin_code.sms=account {{.Code}}"; got != want {
				t.Fatalf("account only = %s, want %s", got, want)
			}
		})

		t.Run("organisations below inherit, nearest first, until they set their own", func(t *testing.T) {
			child := store.Account{ID: "acc-child", Name: "Child", ParentID: acc.ID, CreatedAt: now}
			must(t, s.CreateOrganisation(ctx, acc.ID, &child))
			grandchild := store.Account{ID: "acc-grandchild", Name: "Grandchild", ParentID: child.ID, CreatedAt: now}
			must(t, s.CreateOrganisation(ctx, acc.ID, &grandchild))
			must(t, s.SetMessageTemplates(ctx, []store.MessageTemplate{
				row(child.ID, "", "signin_link", "subject", "child subject"),
			}))
			levels, err := s.MessageLevels(ctx, grandchild.ID, "")
			must(t, err)
			want := "inherited: signin_link.subject=child subject | inherited: signin_code.sms=account {{.Code}}"
			if got := describe(levels); got != want {
				t.Fatalf("the grandchild's levels = %s, want %s", got, want)
			}
			// A system of the parent's name is not the child's system.
			levels, err = s.MessageLevels(ctx, child.ID, sys.Name)
			must(t, err)
			if got, want := describe(levels), "account: signin_link.subject=child subject | inherited: signin_code.sms=account {{.Code}}"; got != want {
				t.Fatalf("the child's levels = %s, want %s", got, want)
			}
		})

		t.Run("setting a part again replaces it", func(t *testing.T) {
			must(t, s.SetMessageTemplates(ctx, []store.MessageTemplate{row(acc.ID, "", "signin_code", "sms", "again {{.Code}}")}))
			levels, err := s.MessageLevels(ctx, acc.ID, "")
			must(t, err)
			if got, want := describe(levels), "account: signin_code.sms=again {{.Code}}"; got != want {
				t.Fatalf("levels = %s, want %s", got, want)
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
			levels, err := s.MessageLevels(ctx, other.ID, "")
			must(t, err)
			if got, want := describe(levels), "account: signin_code.sms=other {{.Code}}"; got != want {
				t.Fatalf("the other account's overrides = %s, want %s", got, want)
			}
		})

		t.Run("deleting a system deletes its overrides", func(t *testing.T) {
			must(t, s.DeleteSystem(ctx, acc.ID, sys.Name))
			again := store.System{ID: "sys2", AccountID: acc.ID, Name: sys.Name, Methods: []string{"pin"}, Sensitivity: "low", TTLSeconds: 60, CreatedAt: now, UpdatedAt: now}
			must(t, s.CreateSystem(ctx, &again))
			levels, err := s.MessageLevels(ctx, acc.ID, sys.Name)
			must(t, err)
			if got := describe(levels); strings.Contains(got, "system:") {
				t.Fatalf("a new system of the same name inherits %s", got)
			}
		})
	})
}

// describe writes levels as "source: message.part=template, ... | ...",
// keys sorted, for comparisons.
func describe(levels []messages.Level) string {
	var out []string
	for _, l := range levels {
		var parts []string
		for k, v := range l.Layer {
			parts = append(parts, k.Message+"."+k.Part+"="+v)
		}
		slices.Sort(parts)
		out = append(out, string(l.Source)+": "+strings.Join(parts, ", "))
	}
	return strings.Join(out, " | ")
}
