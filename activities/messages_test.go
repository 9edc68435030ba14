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

// override stores a template as the admin API would after validating it
// (system "" for the account's).
func (f *fixture) override(t *testing.T, system, message, part, source string) {
	t.Helper()
	must(t, f.st.SetMessageTemplates(context.Background(), []store.MessageTemplate{
		{AccountID: "acc", System: system, Message: message, Part: part, Source: source, UpdatedAt: f.now},
	}))
}

func TestMessagesAreRenderedFromTheAccountsAndSystemsTemplates(t *testing.T) {
	ctx := context.Background()

	t.Run("a sign-in code: the system's part wins, the account's fills in, the built-in HTML carries the brand", func(t *testing.T) {
		f := newFixture(t, nil)
		f.override(t, "", "signin_code", "subject", "Account subject")
		f.override(t, "", "signin_code", "text", "Acme code {{.Code}} for {{.System}}, {{minutes .ExpiresMinutes}}.")
		f.override(t, "", "brand", "name", "Acme <Sign-in>")
		f.override(t, "vpn", "signin_code", "subject", "Your {{.System}} code")
		f.override(t, "wiki", "signin_code", "subject", "Another system's subject")
		f.begin(t, f.input)
		res, err := f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: f.input, UserID: "u1", Method: attempt.MethodPIN, ExpiresAt: f.now.Add(5 * time.Minute)})
		must(t, err)
		msg := f.sent.sent[0]
		if msg.Subject != "Your vpn code" || msg.Text != "Acme code "+msg.Code+" for vpn, 5 minutes.\n" {
			t.Fatalf("subject %q, text %q", msg.Subject, msg.Text)
		}
		if !strings.Contains(msg.HTML, "Acme &lt;Sign-in&gt;") || !strings.Contains(msg.HTML, ">"+msg.Code+"</p>") {
			t.Fatalf("html = %s", msg.HTML)
		}
		// What goes back to the workflow (its history) is the digest.
		if strings.Contains(res.Digest, msg.Code) || res.Channel != "email" {
			t.Fatalf("result = %+v", res)
		}
	})

	t.Run("a template that fails at render refuses the delivery for good, without the secret in the error", func(t *testing.T) {
		f := newFixture(t, nil)
		f.override(t, "", "signin_code", "text", "{{.Code}} {{.NoSuchField}}")
		f.begin(t, f.input)
		_, err := f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: f.input, UserID: "u1", Method: attempt.MethodPIN, ExpiresAt: f.now.Add(5 * time.Minute)})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrTypeDelivery || !strings.Contains(err.Error(), "signin_code, part text") {
			t.Fatalf("error = %v, want a non-retryable delivery error naming the part", err)
		}
		if len(f.sent.sent) != 0 {
			t.Fatalf("sent %+v", f.sent.sent)
		}
		row, err := f.st.GetAttempt(ctx, "att1")
		must(t, err)
		plain, err := f.keys.Open(row.Challenge, "att1")
		must(t, err)
		if strings.Contains(app.Error(), string(plain)) {
			t.Fatalf("the error %q holds the code", app.Error())
		}
	})

	t.Run("a credential link uses the account's template", func(t *testing.T) {
		f := newFixture(t, nil)
		f.override(t, "", "welcome", "subject", "Welcome to {{.Organisation}}")
		in := f.welcome(t, "link-tmpl")
		_, err := f.acts.DeliverCredentialLink(ctx, in)
		must(t, err)
		msg := f.sent.sent[0]
		if msg.Subject != "Welcome to Acme" || !strings.Contains(msg.Text, msg.Link) || !strings.Contains(msg.HTML, `href="`+msg.Link+`"`) {
			t.Fatalf("message = %+v", msg)
		}
	})
}
