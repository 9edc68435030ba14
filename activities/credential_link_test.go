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

// welcome turns email and password sign-in on for the fixture's account
// and user and requests a welcome link, as the API does.
func (f *fixture) welcome(t *testing.T, id string) activities.CredentialLinkInput {
	t.Helper()
	ctx := context.Background()
	acc, err := f.st.GetAccount(ctx, "acc")
	must(t, err)
	if !acc.EmailPasswordLogin {
		must(t, f.settings(t, acc.Settings(), store.AccountSettings{EmailDelivery: acc.EmailDelivery, EmailPasswordLogin: true}, 0))
	}
	f.user.EmailPasswordLogin, f.user.UpdatedAt = true, f.now
	link := store.CredentialLink{ID: id, AccountID: "acc", UserID: f.user.ID, Purpose: store.LinkWelcome, CreatedAt: f.now}
	must(t, f.st.ApplyUserChanges(ctx, "acc", []store.UserChange{{User: f.user, SaveProfile: true, EnablesPasswordLogin: true, IssueLink: &link}}))
	return activities.CredentialLinkInput{LinkID: id, AccountID: "acc"}
}

// settings changes the fixture account's settings, confirming that
// affected users lose their credentials.
func (f *fixture) settings(t *testing.T, from, to store.AccountSettings, affected int) error {
	t.Helper()
	_, err := f.st.UpdateAccountSettings(context.Background(), store.SettingsChange{
		AccountID: "acc", From: from, To: to, At: f.now, ConfirmedUsers: affected,
	})
	return err
}

// tokenOf is the token at the end of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	prefix := "https://auth.example.com" + attempt.WelcomePath
	if !strings.HasPrefix(link, prefix) || len(link) == len(prefix) {
		t.Fatalf("link %q is not a welcome link of the public URL", link)
	}
	return strings.TrimPrefix(link, prefix)
}

func TestDeliverCredentialLink(t *testing.T) {
	ctx := context.Background()

	t.Run("a token is drawn, only its digest kept, and the link sent to the user's email", func(t *testing.T) {
		f := newFixture(t, nil)
		in := f.welcome(t, "link-1")
		res, err := f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		if res.State != activities.LinkSent || len(f.sent.sent) != 1 {
			t.Fatalf("result %+v, %d messages; want one sent", res, len(f.sent.sent))
		}
		msg := f.sent.sent[0]
		if msg.Channel != "email" || msg.To != "alice@example.com" || f.sent.plugins[0] != "outbox" || msg.ID != "link-1" {
			t.Fatalf("message = %+v through %s, want an email to alice through the outbox", msg, f.sent.plugins[0])
		}
		if msg.Subject != "Create your password for Acme" || !strings.Contains(msg.Text, msg.Link) || !strings.Contains(msg.Text, "expires in 72 hours") {
			t.Fatalf("message subject %q, text %q", msg.Subject, msg.Text)
		}
		token := tokenOf(t, msg.Link)
		link, err := f.st.GetCredentialLink(ctx, "link-1")
		must(t, err)
		if link.Digest != attempt.CredentialLinkDigest(f.keys, token) || link.Digest == token {
			t.Fatalf("stored digest %q is not the keyed digest of the token sent", link.Digest)
		}
		if link.Sealed != nil || link.SentAt == nil || !link.ExpiresAt.Equal(f.now.Add(72*time.Hour)) {
			t.Fatalf("link = %+v, want the sealed token dropped once sent, expiring in 72h", link)
		}
		found, err := f.st.CredentialLinkByDigest(ctx, store.LinkWelcome, attempt.CredentialLinkDigest(f.keys, token))
		if err != nil || found.ID != "link-1" {
			t.Fatalf("the token does not find its link: %+v, %v", found, err)
		}
		events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: "welcome.sent"})
		must(t, err)
		if len(events) != 1 || events[0].AuthID != "alice" || strings.Contains(events[0].Detail["link"].(string), token) {
			t.Fatalf("welcome.sent events = %+v", events)
		}

		// Run again (Temporal lost the first answer): nothing more is sent.
		res, err = f.acts.DeliverCredentialLink(ctx, in)
		if err != nil || res.State != activities.LinkSent || len(f.sent.sent) != 1 {
			t.Fatalf("again: %+v, %v, %d messages; want sent, no second message", res, err, len(f.sent.sent))
		}
	})

	t.Run("a delivery retried after a failure sends the same link", func(t *testing.T) {
		f := newFixture(t, nil)
		in := f.welcome(t, "link-retry")
		f.sent.err = errors.New("mail server down")
		if _, err := f.acts.DeliverCredentialLink(ctx, in); err == nil {
			t.Fatal("the failed send was not reported")
		}
		first, err := f.st.GetCredentialLink(ctx, in.LinkID)
		must(t, err)
		if first.Digest == "" || first.Sealed == nil {
			t.Fatalf("after a failed send the link = %+v, want its token drawn and kept sealed", first)
		}
		f.sent.err = nil
		f.now = f.now.Add(time.Minute)
		_, err = f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		if len(f.sent.sent) != 1 || attempt.CredentialLinkDigest(f.keys, tokenOf(t, f.sent.sent[0].Link)) != first.Digest {
			t.Fatalf("the retry sent %+v, want the token drawn the first time", f.sent.sent)
		}
		if again, _ := f.st.GetCredentialLink(ctx, in.LinkID); !again.ExpiresAt.Equal(*first.ExpiresAt) {
			t.Fatalf("the retry moved the expiry from %v to %v", first.ExpiresAt, again.ExpiresAt)
		}
	})

	t.Run("the configured lifetime applies", func(t *testing.T) {
		f := newFixtureWith(t, nil, activities.Config{WelcomeLinkTTL: 90 * time.Minute})
		in := f.welcome(t, "link-ttl")
		_, err := f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		link, _ := f.st.GetCredentialLink(ctx, in.LinkID)
		if !link.ExpiresAt.Equal(f.now.Add(90*time.Minute)) || !strings.Contains(f.sent.sent[0].Text, "expires in 90 minutes") {
			t.Fatalf("expires %v, text %q; want 90 minutes", link.ExpiresAt, f.sent.sent[0].Text)
		}
	})

	t.Run("turning the account's switch off voids the link: nothing is sent", func(t *testing.T) {
		f := newFixture(t, nil)
		in := f.welcome(t, "link-account-off")
		must(t, f.settings(t, store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, store.AccountSettings{EmailDelivery: true}, 1))
		res, err := f.acts.DeliverCredentialLink(ctx, in)
		if err != nil || res.State != activities.LinkClosed || len(f.sent.sent) != 0 {
			t.Fatalf("%+v, %v, %d messages; want closed, nothing sent", res, err, len(f.sent.sent))
		}
	})

	t.Run("a link voided before its delivery is not sent", func(t *testing.T) {
		f := newFixture(t, nil)
		old := f.welcome(t, "link-old")
		f.welcome(t, "link-new")
		res, err := f.acts.DeliverCredentialLink(ctx, old)
		if err != nil || res.State != activities.LinkClosed || len(f.sent.sent) != 0 {
			t.Fatalf("%+v, %v, %d messages; want closed, nothing sent", res, err, len(f.sent.sent))
		}
	})

	refusals := []struct {
		name   string
		change func(t *testing.T, f *fixture)
		want   string
	}{
		{"email delivery off", func(t *testing.T, f *fixture) {
			must(t, f.settings(t, store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, store.AccountSettings{EmailPasswordLogin: true}, 0))
		}, "email delivery is off for the account"},
		{"no email", func(t *testing.T, f *fixture) {
			f.user.Email = ""
			must(t, f.st.UpdateUserProfile(ctx, &f.user))
		}, "the user has no email address"},
	}
	for _, tc := range refusals {
		t.Run("refused for good, not retried: "+tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			in := f.welcome(t, "link-refused")
			tc.change(t, f)
			_, err := f.acts.DeliverCredentialLink(ctx, in)
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrTypeDelivery || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a non-retryable %s error saying %q", err, activities.ErrTypeDelivery, tc.want)
			}
			if len(f.sent.sent) != 0 {
				t.Fatalf("sent %+v", f.sent.sent)
			}
			// The workflow then voids the link, with the reason.
			must(t, f.acts.FailCredentialLink(ctx, activities.FailLinkInput{LinkID: in.LinkID, AccountID: "acc", Reason: "delivery failed: " + tc.want}))
			link, _ := f.st.GetCredentialLink(ctx, in.LinkID)
			events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: "welcome.failed"})
			must(t, err)
			if link.VoidedAt == nil || len(events) != 1 || events[0].AuthID != "alice" || events[0].Reasons[0] != "delivery failed: "+tc.want {
				t.Fatalf("link %+v, events %+v; want it voided and the failure audited", link, events)
			}
		})
	}
}
