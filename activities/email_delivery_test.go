package activities_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// emailDeliveryOff turns email delivery off for the fixture's account.
func (f *fixture) emailDeliveryOff(t *testing.T) {
	t.Helper()
	must(t, f.settings(t, store.AccountSettings{EmailDelivery: true}, store.AccountSettings{EmailDelivery: false}, 0))
}

func TestEmailDeliveryOffIsEnforcedAtDelivery(t *testing.T) {
	cases := []struct {
		name    string
		phone   string
		channel string // what the (possibly uploaded) policy chose
		wantErr string // "" when the message goes by SMS
	}{
		{"a policy that still picks email gets nothing sent", "+15555550100", "email", "email delivery is off for the account, but the policy chose email"},
		{"no choice and no phone: nothing is sent", "", "", "email delivery is off for the account and the user has no phone"},
		{"no choice with a phone: SMS", "+15555550100", "", ""},
		{"sms chosen: SMS", "+15555550100", "sms", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.user.Phone = c.phone
			must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
			f.begin(t, f.input)
			f.emailDeliveryOff(t)

			res, err := f.acts.IssueChallenge(context.Background(), activities.IssueInput{
				Subject: f.input, UserID: "u1", Method: "pin", Channel: c.channel, ExpiresAt: f.now.Add(time.Minute),
			})
			if c.wantErr != "" {
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrTypeDelivery || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want a non-retryable %s error saying %q", err, activities.ErrTypeDelivery, c.wantErr)
				}
				if len(f.sent.sent) != 0 {
					t.Fatalf("sent %+v although email delivery is off", f.sent.sent)
				}
				return
			}
			must(t, err)
			if len(f.sent.sent) != 1 || f.sent.sent[0].Channel != "sms" || f.sent.sent[0].To != c.phone || res.Channel != "sms" {
				t.Fatalf("sent %+v (result %+v), want one SMS to %s", f.sent.sent, res, c.phone)
			}
		})
	}
}

func TestEmailDeliveryOffReachesThePolicy(t *testing.T) {
	t.Run("a user with email only is denied, and the audit says why", func(t *testing.T) {
		f := newFixture(t, nil)
		f.emailDeliveryOff(t)
		if res := f.begin(t, f.input); res.Allowed || !slices.Contains(res.Reasons, "email delivery is off for the account") {
			t.Fatalf("begin = %+v, want a denial for email delivery off", res)
		}
		events, err := f.st.ListAudit(context.Background(), store.AuditFilter{AccountID: "acc", Type: attempt.EventDenied})
		must(t, err)
		if len(events) != 1 || !slices.Contains(events[0].Reasons, "email delivery is off for the account") {
			t.Fatalf("denial events = %+v", events)
		}
	})
	t.Run("a user with a phone gets the PIN by SMS", func(t *testing.T) {
		f := newFixture(t, nil)
		f.user.Phone = "+15555550100"
		must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
		f.emailDeliveryOff(t)
		if res := f.begin(t, f.input); !res.Allowed || res.Method != "pin" || res.Channel != "sms" {
			t.Fatalf("begin = %+v, want pin by sms", res)
		}
	})
	t.Run("with email delivery on, nothing changes", func(t *testing.T) {
		f := newFixture(t, nil)
		f.user.Phone = "+15555550100"
		must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
		if res := f.begin(t, f.input); !res.Allowed || res.Channel != "email" {
			t.Fatalf("begin = %+v, want pin by email", res)
		}
	})
}
