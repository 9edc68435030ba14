package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// reset requests a reset link for the fixture's user, email and password
// sign-in on.
func (f *fixture) reset(t *testing.T, id string) activities.CredentialLinkInput {
	t.Helper()
	f.welcome(t, "welcome-before-"+id) // turns the switches on
	link := store.CredentialLink{ID: id, AccountID: "acc", UserID: f.user.ID, Purpose: store.LinkReset, CreatedAt: f.now}
	must(t, f.st.RequestLink(context.Background(), store.LinkRequest{Link: link, Since: f.now.Add(-time.Hour), Max: 10}))
	return activities.CredentialLinkInput{LinkID: id, AccountID: "acc"}
}

// notice requests a password reset notice for the fixture's user, as the
// reset page does.
func (f *fixture) notice(t *testing.T, id string) activities.CredentialLinkInput {
	t.Helper()
	n := store.CredentialLink{ID: id, AccountID: "acc", UserID: f.user.ID, Purpose: store.LinkNotice, CreatedAt: f.now,
		Notice: map[string]string{"kind": store.NoticePasswordReset, "at": "2026-11-23T09:58:00Z", "ip": "203.0.113.9"}}
	_, err := f.st.DB().NewInsert().Model(&n).Exec(context.Background())
	must(t, err)
	return activities.CredentialLinkInput{LinkID: id, AccountID: "acc"}
}

func TestDeliverResetLink(t *testing.T) {
	ctx := context.Background()

	t.Run("a reset link leads to the reset page and works for an hour by default", func(t *testing.T) {
		f := newFixture(t, nil)
		in := f.reset(t, "reset-1")
		res, err := f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		if res.State != activities.LinkSent || len(f.sent.sent) != 1 {
			t.Fatalf("%+v, %d messages", res, len(f.sent.sent))
		}
		msg := f.sent.sent[0]
		if !strings.HasPrefix(msg.Link, "https://auth.example.com"+attempt.ResetPath) || msg.Subject != "Reset your password for Acme" ||
			!strings.Contains(msg.Text, msg.Link) || !strings.Contains(msg.Text, "expires in 60 minutes") ||
			!strings.Contains(msg.Text, "signing in still asks for its code") || msg.Metadata["purpose"] != store.LinkReset {
			t.Fatalf("message = %+v", msg)
		}
		link, err := f.st.GetCredentialLink(ctx, in.LinkID)
		must(t, err)
		if !link.ExpiresAt.Equal(f.now.Add(time.Hour)) {
			t.Fatalf("expires %v, want in 1h", link.ExpiresAt)
		}
		if events, _ := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: "reset.sent"}); len(events) != 1 {
			t.Fatalf("reset.sent events = %d, want 1", len(events))
		}
	})

	t.Run("the configured lifetime applies", func(t *testing.T) {
		f := newFixtureWith(t, nil, activities.Config{ResetLinkTTL: 15 * time.Minute})
		in := f.reset(t, "reset-short")
		_, err := f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		if link, _ := f.st.GetCredentialLink(ctx, in.LinkID); !link.ExpiresAt.Equal(f.now.Add(15*time.Minute)) || !strings.Contains(f.sent.sent[0].Text, "15 minutes") {
			t.Fatalf("expires %v, text %q", link.ExpiresAt, f.sent.sent[0].Text)
		}
	})
}

func TestDeliverNotice(t *testing.T) {
	ctx := context.Background()

	t.Run("a notice says what happened, when and from where, with no link, once", func(t *testing.T) {
		f := newFixture(t, nil)
		in := f.notice(t, "notice-1")
		for range 2 {
			res, err := f.acts.DeliverCredentialLink(ctx, in)
			if err != nil || res.State != activities.LinkSent {
				t.Fatalf("%+v, %v", res, err)
			}
		}
		if len(f.sent.sent) != 1 {
			t.Fatalf("%d messages, want 1", len(f.sent.sent))
		}
		msg := f.sent.sent[0]
		if msg.To != "alice@example.com" || msg.Link != "" || msg.ID != "notice-1" || msg.Subject != "Your password for Acme was changed" ||
			!strings.Contains(msg.Text, "23 November 2026, 09:58 UTC") || !strings.Contains(msg.Text, "203.0.113.9") ||
			msg.Metadata["purpose"] != store.LinkNotice || msg.Metadata["kind"] != store.NoticePasswordReset {
			t.Fatalf("message = %+v", msg)
		}
		link, err := f.st.GetCredentialLink(ctx, in.LinkID)
		must(t, err)
		if link.SentAt == nil || link.Digest != "" {
			t.Fatalf("notice = %+v, want sent and no token", link)
		}
		events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: "notice.sent"})
		must(t, err)
		if len(events) != 1 || events[0].AuthID != "alice" || events[0].Detail["kind"] != store.NoticePasswordReset {
			t.Fatalf("notice.sent events = %+v", events)
		}
	})

	t.Run("a notice goes whatever the password switches say", func(t *testing.T) {
		f := newFixture(t, nil) // the account's and the user's switches are off
		if _, err := f.acts.DeliverCredentialLink(ctx, f.notice(t, "notice-off")); err != nil {
			t.Fatal(err)
		}
		if len(f.sent.sent) != 1 {
			t.Fatalf("%d messages, want 1", len(f.sent.sent))
		}
	})

	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *fixture)
		want   string
	}{
		{"email delivery off", func(t *testing.T, f *fixture) { f.emailDeliveryOff(t) }, "email delivery is off for the account"},
		{"no email", func(t *testing.T, f *fixture) {
			f.user.Email = ""
			must(t, f.st.UpdateUserProfile(ctx, &f.user))
		}, "the user has no email address"},
	} {
		t.Run("refused for good: "+tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			in := f.notice(t, "notice-refused")
			tc.change(t, f)
			_, err := f.acts.DeliverCredentialLink(ctx, in)
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), tc.want) || len(f.sent.sent) != 0 {
				t.Fatalf("err = %v, %d sent; want a non-retryable error saying %q", err, len(f.sent.sent), tc.want)
			}
		})
	}
}
