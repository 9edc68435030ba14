package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// TOTP parameters (RFC 6238): 30 s steps, 6 digits, SHA-1, one step of
// clock skew either way.
const (
	TOTPPeriod = 30
	TOTPSkew   = 1
	TOTPDigits = otp.DigitsSix
)

// VerifyTOTPInput carries the digest of a submitted TOTP code.
type VerifyTOTPInput struct {
	Subject
	Digest string
}

// VerifyTOTPResult says whether the code was right and unused.
type VerifyTOTPResult struct {
	Valid  bool
	Reason string
}

// VerifyTOTP compares the submitted digest with the digests of the codes
// valid now (±TOTPSkew steps) and consumes the matching step, so each code
// signs in once. The seed is opened only here.
func (a *Activities) VerifyTOTP(ctx context.Context, in VerifyTOTPInput) (VerifyTOTPResult, error) {
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if err != nil {
		return VerifyTOTPResult{}, fmt.Errorf("load user for totp: %w", err)
	}
	if !user.TOTPEnabled || user.TOTPSecret == nil {
		return a.verifyRecoveryCode(ctx, in, user, "totp not enrolled")
	}
	seed, err := a.keys.Open(user.TOTPSecret, user.ID)
	if err != nil {
		return VerifyTOTPResult{}, fmt.Errorf("open totp seed: %w", err)
	}
	now := a.now()
	step := now.Unix() / TOTPPeriod
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		code, err := TOTPCode(string(seed), time.Unix((step+d)*TOTPPeriod, 0))
		if err != nil {
			return VerifyTOTPResult{}, err
		}
		if !secret.Equal(CodeDigest(a.keys, in.AttemptID, code), in.Digest) {
			continue
		}
		fresh, err := a.store.UseTOTPStep(ctx, user.ID, step+d)
		if err != nil {
			return VerifyTOTPResult{}, err
		}
		if !fresh {
			return VerifyTOTPResult{Reason: "totp code already used"}, nil
		}
		return VerifyTOTPResult{Valid: true}, nil
	}
	return a.verifyRecoveryCode(ctx, in, user, "wrong totp code")
}

// EventRecoveryCodeUsed is audited when a recovery code signs in.
const EventRecoveryCodeUsed = "recovery_code.used"

// verifyRecoveryCode compares the submitted digest with the digests of the
// user's unused recovery codes (each works once in place of a TOTP code)
// and spends the matching one. Without a match it answers reason.
func (a *Activities) verifyRecoveryCode(ctx context.Context, in VerifyTOTPInput, user store.User, reason string) (VerifyTOTPResult, error) {
	codes, err := a.store.UnusedRecoveryCodes(ctx, user.ID)
	if err != nil {
		return VerifyTOTPResult{}, err
	}
	for _, c := range codes {
		plain, err := a.keys.Open(c.Sealed, user.ID)
		if err != nil {
			return VerifyTOTPResult{}, fmt.Errorf("open recovery code: %w", err)
		}
		if !secret.Equal(CodeDigest(a.keys, in.AttemptID, string(plain)), in.Digest) {
			continue
		}
		now := a.now().UTC()
		ev := in.event(now, EventRecoveryCodeUsed)
		ev.Detail = map[string]any{"left": len(codes) - 1}
		used, err := a.store.UseRecoveryCode(ctx, c.ID, now, ev)
		if err != nil {
			return VerifyTOTPResult{}, err
		}
		if !used {
			return VerifyTOTPResult{Reason: "recovery code already used"}, nil
		}
		return VerifyTOTPResult{Valid: true}, nil
	}
	return VerifyTOTPResult{Reason: reason}, nil
}

// TOTPCode is the RFC 6238 code of seed (base32) at t.
func TOTPCode(seed string, t time.Time) (string, error) {
	code, err := totp.GenerateCodeCustom(seed, t, totp.ValidateOpts{
		Period: TOTPPeriod, Skew: 0, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", fmt.Errorf("compute totp code: %w", err)
	}
	return code, nil
}

// FailureInput records a wrong code.
type FailureInput struct {
	Subject
	UserID      string
	Reason      string
	MaxAttempts int
}

// RecordFailure counts a wrong code against the user (not the attempt: a
// new start does not reset it) and returns the count within the lock-out
// window.
func (a *Activities) RecordFailure(ctx context.Context, in FailureInput) (int, error) {
	now := a.now().UTC()
	n, err := a.store.RecordFailure(ctx, in.UserID, now, a.cfg.LockoutWindow)
	if err != nil {
		return 0, err
	}
	ev := in.event(now, EventRejected, in.Reason)
	ev.Detail = map[string]any{"failures": n, "max_attempts": in.MaxAttempts}
	if err := a.store.AppendAudit(ctx, ev); err != nil {
		return 0, err
	}
	return n, nil
}

// FinishInput publishes an attempt's final state.
type FinishInput struct {
	Subject
	UserID  string
	State   string
	Reasons []string
}

// Finish publishes the final state with its audit event and, for a
// successful sign-in, updates the user's last login, count and IP in the
// same transaction. A retry after success changes nothing.
func (a *Activities) Finish(ctx context.Context, in FinishInput) error {
	now := a.now().UTC()
	types := map[string]string{
		store.AttemptAuthenticated: EventAuthenticated,
		store.AttemptExpired:       EventExpired,
		store.AttemptLocked:        EventLocked,
		store.AttemptDenied:        EventDenied,
	}
	typ, ok := types[in.State]
	if !ok {
		return fmt.Errorf("finish attempt: unknown final state %q", in.State)
	}
	u := store.AttemptUpdate{State: in.State, At: now}
	if in.State == store.AttemptAuthenticated {
		u.LoginUserID, u.LoginIP = in.UserID, in.IP
	}
	_, err := a.store.PublishAttempt(ctx, in.AttemptID, u, in.event(now, typ, in.Reasons...))
	return err
}
