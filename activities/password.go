package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Sign-in by password, on the page flexauth hosts (api/password_signin.go).
// The password never enters workflow history: the API seals it on the
// attempt under the key of the update that announces it, and CheckPassword
// opens it, compares, and deletes it in the transaction that records the
// outcome. After the right password the attempt waits for a TOTP or
// recovery code (CheckCode) or, for a user without an authenticator, for
// enrolment (ConfirmEnrolment).

// PasswordInput is a password submitted on the hosted page: where it is
// sealed, and the digest of the browser binding that submitted it.
type PasswordInput struct {
	Subject
	UserID string
	// Effect names the submission (the workflow update): the check is
	// recorded once however often Temporal runs it.
	Effect      string
	SecretKey   string
	Browser     string
	MaxAttempts int
}

// PasswordResult is the verdict on a password.
type PasswordResult struct {
	CodeResult
	// Step is the attempt's next step when the password was right:
	// store.StepTOTP or store.StepEnrol.
	Step string
}

// CheckPassword checks the sealed password against the user's hash and
// records the outcome once, like CheckCode: a locked password refuses it
// unseen (and unhashed), a wrong one adds to the password's run of
// failures, a right one moves the attempt to its second factor, bound to
// the submitting browser, and upgrades a hash made with old parameters.
func (a *Activities) CheckPassword(ctx context.Context, in PasswordInput) (PasswordResult, error) {
	var done store.CodeOutcome
	if found, err := a.store.LoadEffect(ctx, in.AttemptID, in.Effect, &done); err != nil || found {
		res := PasswordResult{CodeResult: a.codeResult(done)}
		if done.Valid {
			// Answered again: the step it moved to is on the row.
			att, gerr := a.store.GetAttempt(ctx, in.AttemptID)
			if gerr != nil {
				return PasswordResult{}, gerr
			}
			res.Step = att.Step
		}
		return res, err
	}
	now := a.now().UTC()
	user, err := a.store.UserByID(ctx, in.UserID)
	if err != nil {
		return PasswordResult{}, fmt.Errorf("load user for password: %w", err)
	}
	check := store.CodeCheck{
		AttemptID: in.AttemptID, Effect: in.Effect, UserID: in.UserID, Factor: store.FactorPassword, At: now,
		Rule: a.cfg.lockoutRule(in.MaxAttempts), FailReason: "wrong password", SpendSecret: in.SecretKey,
	}
	locked, err := a.factorLocked(ctx, in.UserID, store.FactorPassword, now)
	if err != nil {
		return PasswordResult{}, err
	}
	var step string
	if !locked {
		// Unlocked: hashing is worth its cost. (Locked, the check is
		// refused unseen below, and the password is dropped unread.)
		ok, rehash, err := a.verifyPassword(ctx, in, user)
		if err != nil {
			return PasswordResult{}, err
		}
		if ok {
			step = store.StepTOTP
			if !user.TOTPEnabled {
				step = store.StepEnrol
				if err := a.preparePendingSeed(ctx, user, now); err != nil {
					return PasswordResult{}, err
				}
			}
			check.Valid = true
			check.Next = &store.NextStep{Step: step, BrowserDigest: in.Browser, Rehash: rehash, OldHash: user.PasswordHash}
		}
	}
	check.Events = func(o store.CodeOutcome) []store.AuditEvent {
		if o.Valid {
			ev := in.event(now, attempt.EventPasswordAccepted, "right password; the second factor follows")
			ev.Detail = map[string]any{"actor": "user:" + in.AuthID, "next": step}
			return []store.AuditEvent{ev}
		}
		return a.codeEvents(CodeInput{Subject: in.Subject, Factor: store.FactorPassword, MaxAttempts: in.MaxAttempts}, now, o)
	}
	out, err := a.store.RecordCodeCheck(ctx, check)
	if err != nil {
		return PasswordResult{}, err
	}
	res := PasswordResult{CodeResult: a.codeResult(out)}
	if out.Valid {
		res.Step = step
	}
	return res, nil
}

// factorLocked reports whether the user's factor is locked at now.
func (a *Activities) factorLocked(ctx context.Context, userID, factor string, now time.Time) (bool, error) {
	locks, err := a.store.FactorLocks(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, l := range locks {
		if l.Factor == factor && l.Locked(now) {
			return true, nil
		}
	}
	return false, nil
}

// verifyPassword opens the submitted password and compares it with the
// user's hash. rehash is the password hashed anew when the stored hash's
// parameters are out of date. A password that is gone (never stored, or
// its attempt ended) or a user without a password is simply wrong.
func (a *Activities) verifyPassword(ctx context.Context, in PasswordInput, user store.User) (ok bool, rehash string, err error) {
	sec, err := a.store.AttemptSecret(ctx, in.AttemptID, in.SecretKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	plain, err := a.keys.Open(sec.Sealed, attempt.SecretAAD(in.AttemptID, in.SecretKey))
	if err != nil {
		return false, "", fmt.Errorf("open submitted password: %w", err)
	}
	if user.PasswordHash == "" || !user.EmailPasswordLogin {
		return false, "", nil
	}
	select {
	case a.hashSlots <- struct{}{}:
		defer func() { <-a.hashSlots }()
	case <-ctx.Done():
		return false, "", fmt.Errorf("wait to verify a password: %w", ctx.Err())
	}
	ok, needsRehash, err := a.cfg.Passwords.Verify(string(plain), user.PasswordHash)
	if err != nil {
		// A stored hash flexauth cannot read is its own fault, not the
		// user's: fail closed, loudly, without counting a failure.
		return false, "", fmt.Errorf("verify password of user %s: %w", user.ID, err)
	}
	if ok && needsRehash {
		if rehash, err = a.cfg.Passwords.Hash(string(plain)); err != nil {
			return false, "", fmt.Errorf("rehash password: %w", err)
		}
	}
	return ok, rehash, nil
}

// preparePendingSeed draws the seed the user will enrol, replacing any
// pending one: a seed an administrator's enrolment left pending was shown
// to the administrator, and must not become the user's second factor.
// The page reads the seed from the user's row, so refreshing it shows the
// same QR code.
func (a *Activities) preparePendingSeed(ctx context.Context, user store.User, now time.Time) error {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: attempt.TOTPIssuer, AccountName: user.AuthID,
		Period: attempt.TOTPPeriod, Digits: attempt.TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return fmt.Errorf("generate totp seed: %w", err)
	}
	sealed, err := a.keys.Seal([]byte(key.Secret()), user.ID)
	if err != nil {
		return fmt.Errorf("seal totp seed: %w", err)
	}
	if err := a.store.SetTOTPPending(ctx, user.ID, sealed, now); err != nil {
		return fmt.Errorf("keep pending totp seed: %w", err)
	}
	return nil
}

// EnrolmentInput is the code that confirms a user's first authenticator on
// a password attempt's page, as its digest bound to the attempt.
type EnrolmentInput struct {
	Subject
	UserID string
	Effect string
	Digest string
}

// ConfirmEnrolment activates the user's pending seed when the code matches
// it (now ±attempt.TOTPSkew steps), draws a set of recovery codes and keeps them,
// sealed, for the page to show once. Once per effect.
func (a *Activities) ConfirmEnrolment(ctx context.Context, in EnrolmentInput) (store.EnrolmentOutcome, error) {
	var done store.EnrolmentOutcome
	if found, err := a.store.LoadEffect(ctx, in.AttemptID, in.Effect, &done); err != nil || found {
		return done, err
	}
	now := a.now().UTC()
	user, err := a.store.UserByID(ctx, in.UserID)
	if err != nil {
		return store.EnrolmentOutcome{}, fmt.Errorf("load user for enrolment: %w", err)
	}
	e := store.Enrolment{AttemptID: in.AttemptID, Effect: in.Effect, UserID: user.ID, At: now}
	if user.TOTPPending != nil && !user.TOTPEnabled {
		seed, err := a.keys.Open(user.TOTPPending, user.ID)
		if err != nil {
			return store.EnrolmentOutcome{}, fmt.Errorf("open pending totp seed: %w", err)
		}
		step, ok, err := a.matchSeed(string(seed), in.AttemptID, in.Digest, now)
		if err != nil {
			return store.EnrolmentOutcome{}, err
		}
		if ok {
			if err := a.fillEnrolment(&e, in, seed, step, now); err != nil {
				return store.EnrolmentOutcome{}, err
			}
			e.Notice = noticeTo(user, in.Subject, store.NoticeTOTPEnabled, store.NoticeBySignIn, now)
		}
	}
	return a.store.CompleteEnrolment(ctx, e)
}

// matchSeed finds the time step (now ±attempt.TOTPSkew) whose code from seed has
// the submitted digest.
func (a *Activities) matchSeed(seed, attemptID, digest string, now time.Time) (int64, bool, error) {
	step := now.Unix() / attempt.TOTPPeriod
	for d := int64(-attempt.TOTPSkew); d <= attempt.TOTPSkew; d++ {
		code, err := attempt.TOTPCode(seed, time.Unix((step+d)*attempt.TOTPPeriod, 0))
		if err != nil {
			return 0, false, err
		}
		if secret.Equal(attempt.CodeDigest(a.keys, attemptID, code), digest) {
			return step + d, true, nil
		}
	}
	return 0, false, nil
}

// fillEnrolment completes a valid enrolment: the seed sealed for the
// active column, a new set of recovery codes (digests to store, the set in
// clear sealed for one display) and the audit events.
func (a *Activities) fillEnrolment(e *store.Enrolment, in EnrolmentInput, seed []byte, step int64, now time.Time) error {
	sealed, err := a.keys.Seal(seed, in.UserID)
	if err != nil {
		return fmt.Errorf("seal totp seed: %w", err)
	}
	shown, digests, err := attempt.DrawRecoveryCodes(a.keys)
	if err != nil {
		return err
	}
	sealedCodes, err := attempt.SealRecoveryCodes(a.keys, in.AttemptID, shown)
	if err != nil {
		return err
	}
	enrolled := in.event(now, attempt.EventTOTPEnrolled, "enrolled on the hosted sign-in page")
	enrolled.Detail = map[string]any{"actor": "user:" + in.AuthID}
	codes := in.event(now, attempt.EventRecoveryCodes, "drawn at enrolment, shown once")
	codes.Detail = map[string]any{"actor": "user:" + in.AuthID, "count": attempt.RecoveryCodeCount}
	e.Valid, e.TOTPStep, e.Sealed = true, step, sealed
	e.RecoveryCodes, e.ShownCodes = store.NewRecoveryCodes(in.UserID, digests, now), sealedCodes
	e.Events = []store.AuditEvent{enrolled, codes}
	return nil
}
