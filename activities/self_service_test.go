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
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// passwordUser gives the fixture's user email and password sign-in with a
// password (its hash is never read here).
func (f *fixture) passwordUser(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	f.welcome(t, "welcome-1")
	_, err := f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("password_hash = 'a hash'").Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
}

// noticeKinds are the kinds of the notices queued for the user.
func (f *fixture) noticeKinds(t *testing.T) []string {
	t.Helper()
	var links []store.CredentialLink
	must(t, f.st.DB().NewSelect().Model(&links).Where("user_id = ? AND purpose = ?", f.user.ID, store.LinkNotice).Order("created_at").Scan(context.Background()))
	kinds := []string{}
	for _, l := range links {
		kinds = append(kinds, store.NoticeOfLink(l).Kind)
	}
	return kinds
}

func TestSecuritySignInIsAPasswordAttemptWithoutAnAssignment(t *testing.T) {
	f := newFixture(t, nil)
	sub := f.input
	sub.System = attempt.SecuritySystem

	t.Run("refused while the user cannot sign in with a password", func(t *testing.T) {
		res := f.begin(t, sub)
		if res.Allowed || !slices.Contains(res.Reasons, "email and password sign-in is off for the user") {
			t.Fatalf("begin = %+v, want denied for the switch", res)
		}
	})

	f.passwordUser(t)
	sub.AttemptID = "att2"
	res := f.begin(t, sub)
	// High sensitivity: three wrong passwords lock; a user still to enrol
	// gets the default policy's 15 minutes.
	if !res.Allowed || res.Method != "password" || res.MaxAttempts != 3 || res.TTL != 15*time.Minute {
		t.Fatalf("begin = %+v, want a password attempt at high sensitivity", res)
	}
	att, err := f.st.GetAttempt(context.Background(), "att2")
	must(t, err)
	if att.System != attempt.SecuritySystem || att.Step != store.StepPassword {
		t.Fatalf("attempt = %+v", att)
	}

	sub.AttemptID, sub.AuthID = "att3", "nobody"
	if res := f.begin(t, sub); res.Allowed || !slices.Contains(res.Reasons, "unknown user") {
		t.Fatalf("an unknown user: %+v", res)
	}
}

func TestARecoveryCodeSigningInQueuesANotice(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.enrolTOTP(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	code, err := secret.NewRecoveryCode()
	must(t, err)
	canonical, _ := secret.NormalizeRecoveryCode(code)
	must(t, f.st.ReplaceRecoveryCodes(ctx, f.user.ID, []store.RecoveryCode{
		{ID: "r1", UserID: f.user.ID, Digest: attempt.RecoveryDigest(f.keys, canonical), CreatedAt: f.now},
	}))
	f.check(t, "code:1", store.FactorRecovery, "", "WRONG-WRONG-WRONG")
	if got := f.noticeKinds(t); len(got) != 0 {
		t.Fatalf("a wrong code queued %v", got)
	}
	f.check(t, "code:2", store.FactorRecovery, "", code)
	f.check(t, "code:2", store.FactorRecovery, "", code) // Temporal ran it again
	f.check(t, "code:3", store.FactorRecovery, "", code) // spent
	if got := f.noticeKinds(t); strings.Join(got, ",") != store.NoticeRecoveryCodeUsed {
		t.Fatalf("notices = %v, want one recovery_code_used", got)
	}

	// Delivered like a link, without one.
	var n store.CredentialLink
	must(t, f.st.DB().NewSelect().Model(&n).Where("purpose = ?", store.LinkNotice).Scan(ctx))
	res, err := f.acts.DeliverCredentialLink(ctx, activities.CredentialLinkInput{LinkID: n.ID, AccountID: "acc"})
	must(t, err)
	msg := f.sent.sent[len(f.sent.sent)-1]
	if res.State != activities.LinkSent || msg.To != "alice@example.com" || msg.Link != "" ||
		msg.Subject != "A recovery code was used to sign in to Acme" || !strings.Contains(msg.Text, "198.51.100.7") || !strings.Contains(msg.Text, "(vpn)") {
		t.Fatalf("notice %+v sent as %+v", res, msg)
	}
	if f.count(t, "notice.sent") != 1 {
		t.Fatal("the notice was not audited as sent")
	}
	if res, err := f.acts.DeliverCredentialLink(ctx, activities.CredentialLinkInput{LinkID: n.ID, AccountID: "acc"}); err != nil || len(f.sent.sent) != 1 || res.State != activities.LinkSent {
		t.Fatalf("delivered again: %+v, %v, %d messages", res, err, len(f.sent.sent))
	}
}

func TestVerificationAndRecoverLinksAreDelivered(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.passwordUser(t)
	request := func(id, purpose, attemptID string) activities.CredentialLinkInput {
		must(t, f.st.RequestSelfServiceLink(ctx, store.SelfServiceLink{
			Link:  store.CredentialLink{ID: id, AccountID: "acc", UserID: f.user.ID, Purpose: purpose, AttemptID: attemptID, CreatedAt: f.now},
			Since: f.now.Add(-time.Hour), Max: 5,
		}))
		return activities.CredentialLinkInput{LinkID: id, AccountID: "acc"}
	}
	res, err := f.acts.DeliverCredentialLink(ctx, request("v1", store.LinkVerifyEmail, ""))
	must(t, err)
	msg := f.sent.sent[len(f.sent.sent)-1]
	if res.State != activities.LinkSent || !strings.HasPrefix(msg.Link, "https://auth.example.com/v/") || msg.Subject != "Confirm your email address for Acme" ||
		!strings.Contains(msg.Text, "expires in 24 hours") {
		t.Fatalf("verification %+v sent as %+v", res, msg)
	}
	token := strings.TrimPrefix(msg.Link, "https://auth.example.com/v/")
	link, err := f.st.CredentialLinkByDigest(ctx, store.LinkVerifyEmail, attempt.CredentialLinkDigest(f.keys, token))
	must(t, err)
	must(t, f.st.VerifyEmail(ctx, store.EmailVerification{LinkID: link.ID, Digest: link.Digest, UserID: f.user.ID, At: f.now}))

	// A password attempt waiting for its TOTP code asks for a recover link.
	att := store.Attempt{ID: "att-r", AccountID: "acc", System: "vpn", AuthID: "alice", WorkflowID: "wf", RunID: "run",
		State: store.AttemptPending, Method: "password", StartedAt: f.now, UpdatedAt: f.now}
	_, err = f.st.InsertAttempt(ctx, &att)
	must(t, err)
	_, err = f.st.DB().NewUpdate().Model((*store.Attempt)(nil)).Set("step = ?", store.StepTOTP).Where("id = ?", att.ID).Exec(ctx)
	must(t, err)
	in := request("r1", store.LinkRecover, att.ID)
	// The address stops being verified before the message goes: refused.
	_, err = f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("email_verified_at = NULL").Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
	_, err = f.acts.DeliverCredentialLink(ctx, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeDelivery || !strings.Contains(err.Error(), "not verified") {
		t.Fatalf("a recover link to an unverified address: %v", err)
	}
	_, err = f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("email_verified_at = ?", f.now).Where("id = ?", f.user.ID).Exec(ctx)
	must(t, err)
	res, err = f.acts.DeliverCredentialLink(ctx, in)
	must(t, err)
	msg = f.sent.sent[len(f.sent.sent)-1]
	if res.State != activities.LinkSent || !strings.HasPrefix(msg.Link, "https://auth.example.com"+attempt.RecoverPath) ||
		!strings.Contains(msg.Text, "expires in 15 minutes") || !strings.Contains(msg.Text, "same browser") {
		t.Fatalf("recover link %+v sent as %+v", res, msg)
	}
	recovered := strings.TrimPrefix(msg.Link, "https://auth.example.com"+attempt.RecoverPath)

	t.Run("the link resets two-factor and moves the attempt to enrolment, once", func(t *testing.T) {
		f.enrolTOTP(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
		sub := activities.Subject{AttemptID: att.ID, AccountID: "acc", System: "vpn", AuthID: "alice", IP: "198.51.100.7"}
		rec := func(effect, token string) store.RecoveryOutcome {
			out, err := f.acts.RecoverByEmail(ctx, activities.RecoverInput{Subject: sub, UserID: f.user.ID, Effect: effect,
				LinkDigest: attempt.CredentialLinkDigest(f.keys, token)})
			must(t, err)
			return out
		}
		if out := rec("recover:0", strings.Repeat("x", 43)); out.Valid {
			t.Fatalf("an unknown token: %+v", out)
		}
		if out := rec("recover:1", recovered); !out.Valid {
			t.Fatalf("the link: %+v", out)
		}
		u, err := f.st.UserByID(ctx, f.user.ID)
		must(t, err)
		if u.TOTPEnabled || u.EmailVerifiedAt != nil || u.TwoFactorResetAt == nil || u.TOTPPending == nil {
			t.Fatalf("user after recovery = %+v", u)
		}
		if _, err := f.keys.Open(u.TOTPPending, u.ID); err != nil {
			t.Fatalf("the seed to enrol is not sealed for the user: %v", err)
		}
		if out := rec("recover:2", recovered); out.Valid {
			t.Fatalf("the link twice: %+v", out)
		}
		types := strings.Join(f.auditTypes(t, "alice"), ",")
		if !strings.Contains(types, attempt.EventTwoFactorReset) || !strings.Contains(types, attempt.EventRecoverUsed) {
			t.Fatalf("audit = %s", types)
		}
		if got := f.noticeKinds(t); strings.Join(got, ",") != store.NoticeRecoveredByEmail {
			t.Fatalf("notices = %v", got)
		}
	})
}
