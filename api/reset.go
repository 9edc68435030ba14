package api

import (
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/store"
)

// The reset page: a reset link ("Forgot password?" in forgot.go, or an
// administrator's resend) opens the welcome page's form to choose a new
// password, under the same rules, used once in the same transaction that
// sets it. A reset signs nobody in and touches neither the authenticator
// app nor the recovery codes: the next sign-in asks for the password and
// the code as always, so a stolen mailbox alone does not open the account.
// Once the password is changed the user is sent a notice (a row of the
// credential link outbox, purpose notice) with the time and the address.

// Audit event of a password reset by its user.
const eventPasswordReset = "password.reset"

// resetKind is the reset page's.
func resetKind() passwordLinkKind {
	return passwordLinkKind{
		purpose: store.LinkReset,
		gone: page{
			Title:   "This link has expired or was already used",
			Message: "Ask for a new one with “Forgot password?” on the sign-in page, or ask your organisation's administrator.",
		},
		title:   func(l passwordLinkFor) string { return "Choose a new password for " + organisation(l.account) },
		message: "Choose the new password you will sign in with, with your email address.",
		note: "This changes your password only: it does not sign you in, and your authenticator app and recovery codes stay as they are. " +
			"Signing in still asks for a code from your authenticator app.",
		event:  eventPasswordReset,
		reason: "reset by the user with a reset link",
		done: func(l passwordLinkFor) passwordPage {
			return passwordPage{
				Title: "Your password is changed",
				Message: "Your password for " + organisation(l.account) + " is changed, and a message telling you so is on its way to " +
					l.user.Email + ". You are not signed in: sign in from your application with the new password.",
				Note: "Signing in still asks for a code from your authenticator app (or a recovery code).",
			}
		},
		notify: true,
	}
}

// passwordChangedNotice is the notice telling the user their password was
// reset, when and from where.
func passwordChangedNotice(l passwordLinkFor, at time.Time, ip string) *store.CredentialLink {
	return &store.CredentialLink{
		ID: uuid.NewString(), AccountID: l.account.ID, UserID: l.user.ID, Purpose: store.LinkNotice, CreatedAt: at,
		Notice: map[string]string{"kind": store.NoticePasswordReset, "at": at.UTC().Format(time.RFC3339), "ip": ip},
	}
}
