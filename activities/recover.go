package activities

import (
	"context"
	"fmt"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Recovery by email: a user who lost the authenticator, at the TOTP step of
// a password attempt (the password is right), asks for a recover link; it
// goes to their verified address, and opened in the browser that gave the
// password it resets their second factor and moves the attempt to
// enrolment, where a new authenticator must be enrolled to sign in. The
// address is a way back in once: the recovery uses its verification up.
// The attempt's workflow decides (update recover-by-email); this activity
// checks the link and resets in one transaction.

// RecoverInput is a recover link presented at an attempt's TOTP step, as
// the digest of its token.
type RecoverInput struct {
	Subject
	UserID string
	// Effect names the submission (the workflow update): the recovery is
	// applied once however often Temporal runs it.
	Effect     string
	LinkDigest string
}

// RecoverByEmail checks the link and, when it is the attempt's, live and
// the address still verified, resets the user's second factor, draws the
// seed to enrol and moves the attempt to enrolment, with its audit events
// and a notice, once per effect.
func (a *Activities) RecoverByEmail(ctx context.Context, in RecoverInput) (store.RecoveryOutcome, error) {
	var done store.RecoveryOutcome
	if found, err := a.store.LoadEffect(ctx, in.AttemptID, in.Effect, &done); err != nil || found {
		return done, err
	}
	now := a.now().UTC()
	user, err := a.store.UserByID(ctx, in.UserID)
	if err != nil {
		return store.RecoveryOutcome{}, fmt.Errorf("load user for recovery: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: attempt.TOTPIssuer, AccountName: user.AuthID,
		Period: attempt.TOTPPeriod, Digits: attempt.TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return store.RecoveryOutcome{}, fmt.Errorf("generate totp seed: %w", err)
	}
	sealed, err := a.keys.Seal([]byte(key.Secret()), user.ID)
	if err != nil {
		return store.RecoveryOutcome{}, fmt.Errorf("seal totp seed: %w", err)
	}
	actor := map[string]any{"actor": "user:" + in.AuthID, "via": store.LinkRecover}
	reset := in.event(now, attempt.EventTwoFactorReset, "the user lost the authenticator: reset with a link sent to the verified email address")
	reset.Detail = actor
	used := in.event(now, attempt.EventRecoverUsed, "the email address stood in for the authenticator, once: it needs verifying again")
	used.Detail = map[string]any{"actor": "user:" + in.AuthID, "to": user.Email}
	return a.store.RecoverByEmail(ctx, store.EmailRecovery{
		AttemptID: in.AttemptID, Effect: in.Effect, UserID: in.UserID, LinkDigest: in.LinkDigest,
		Pending: sealed, At: now,
		Record: store.ChangeRecord{
			Events: []store.AuditEvent{reset, used},
			Notice: noticeTo(user, in.Subject, store.NoticeRecoveredByEmail, store.NoticeBySignIn, now),
		},
	})
}
