package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// CodeInput is one submitted PIN, TOTP or recovery code, as its digest.
type CodeInput struct {
	Subject
	UserID string
	// Effect names the submission (the workflow update carrying it): the
	// check is recorded once however often Temporal runs it.
	Effect string
	// Factor is what the code is: pin, totp or recovery (the API tells them
	// apart by their form).
	Factor string
	// Expected is the digest of the delivered PIN; unused for TOTP and
	// recovery codes, which are looked up here.
	Expected string
	Digest   string
	// Alternates are the submitted recovery code's digests as previous
	// master keys made them (during a key rotation), bound to the attempt.
	Alternates  []string
	MaxAttempts int
	// OnValid (ShapeCompact) ends the attempt authenticated when the code
	// is valid, in the check's own transaction: what Finish would publish
	// (the state, the user's login with the factor and IP, the audit
	// event), so that the workflow runs no Finish after it.
	OnValid *Conclusion `json:",omitempty"`
}

// Conclusion is how a check that succeeds ends its attempt.
type Conclusion struct {
	Reasons []string
}

// CodeResult is the verdict on a submitted code.
type CodeResult struct {
	Valid bool
	// Refused is true when the code was not looked at because its factor
	// is locked; a refusal is not counted as a failure.
	Refused  bool
	Reason   string
	Failures int  // the factor's consecutive failures after this code
	Locked   bool // the factor is locked after this code
	// Published is true when the check ended the attempt authenticated
	// (CodeInput.OnValid): the attempt was still pending in the store.
	Published bool `json:",omitempty"`
}

// CheckCode checks a submitted code against its factor and records the
// outcome once: a locked factor refuses it unseen; a valid TOTP step or
// recovery code is spent; a wrong code adds to the factor's run of
// failures, which may lock the factor. The seeds are opened only here,
// and only digests bound to the attempt are compared.
func (a *Activities) CheckCode(ctx context.Context, in CodeInput) (CodeResult, error) {
	// A PIN is compared here at no cost, and RecordCodeCheck finds a
	// recorded check in its own transaction: only a TOTP or recovery code,
	// whose matching opens seeds and reads codes, looks for the effect
	// first.
	if in.Factor != store.FactorPIN {
		var done store.CodeOutcome
		if found, err := a.store.LoadEffect(ctx, in.AttemptID, in.Effect, &done); err != nil || found {
			return a.codeResult(done), err
		}
	}
	now := a.now().UTC()
	check := store.CodeCheck{
		AttemptID: in.AttemptID, Effect: in.Effect, UserID: in.UserID, Factor: in.Factor, At: now,
		Rule: a.cfg.lockoutRule(in.MaxAttempts),
	}
	switch in.Factor {
	case store.FactorPIN:
		check.Valid = in.Expected != "" && secret.Equal(in.Expected, in.Digest)
		check.FailReason = "wrong pin"
	case store.FactorTOTP:
		step, ok, reason, err := a.matchTOTP(ctx, in)
		if err != nil {
			return CodeResult{}, err
		}
		check.Valid, check.FailReason = ok, reason
		if ok {
			check.TOTPStep = &step
		}
	case store.FactorRecovery:
		id, ok, err := a.matchRecoveryCode(ctx, in)
		if err != nil {
			return CodeResult{}, err
		}
		check.Valid, check.RecoveryCodeID, check.FailReason = ok, id, "wrong recovery code"
		if ok {
			// A recovery code that signs in is a recovery: the user hears of it.
			user, err := a.store.UserByID(ctx, in.UserID)
			if err != nil {
				return CodeResult{}, fmt.Errorf("load user for recovery notice: %w", err)
			}
			check.Notice = func(o store.CodeOutcome) *store.CredentialLink {
				if !o.Valid {
					return nil
				}
				return noticeTo(user, in.Subject, store.NoticeRecoveryCodeUsed, store.NoticeBySignIn, now)
			}
		}
	default:
		return CodeResult{}, temporal.NewNonRetryableApplicationError("unknown factor "+in.Factor, ErrTypeBadInput, nil)
	}
	check.Events = func(o store.CodeOutcome) []store.AuditEvent { return a.codeEvents(in, now, o) }
	if in.OnValid != nil {
		check.OnValid = &store.Publication{
			Update: store.AttemptUpdate{
				State: store.AttemptAuthenticated, At: now,
				LoginUserID: in.UserID, LoginIP: in.IP, LoginFactor: in.Factor,
			},
			Events: []store.AuditEvent{in.event(now, attempt.EventAuthenticated, in.OnValid.Reasons...)},
		}
	}
	out, err := a.store.RecordCodeCheck(ctx, check)
	if err != nil {
		return CodeResult{}, err
	}
	if out.NewlyLocked && !out.Replayed {
		a.metrics.lockouts.WithLabelValues(in.Factor).Inc()
	}
	if out.Published && !out.Replayed {
		a.metrics.ended.WithLabelValues(store.AttemptAuthenticated).Inc()
	}
	return a.codeResult(out), nil
}

func (a *Activities) codeResult(o store.CodeOutcome) CodeResult {
	return CodeResult{Valid: o.Valid, Refused: o.Refused, Reason: o.Reason, Failures: o.Failures, Locked: o.Locked(a.now()), Published: o.Published}
}

// codeEvents audits a code check: a spent recovery code, a wrong code and
// the lock it may have caused. A refusal (the factor was locked already)
// adds nothing: the lock was audited when it began, and someone hammering
// a locked factor must not grow the trail.
func (a *Activities) codeEvents(in CodeInput, now time.Time, o store.CodeOutcome) []store.AuditEvent {
	switch {
	case o.Refused:
		return nil
	case o.Valid && in.Factor == store.FactorRecovery:
		ev := in.event(now, attempt.EventRecoveryCodeUsed, "a recovery code stood in for the authenticator app; it is spent")
		ev.Detail = map[string]any{"actor": "user:" + in.AuthID}
		return []store.AuditEvent{ev}
	case o.Valid:
		return nil
	}
	rejected := in.event(now, attempt.EventRejected, o.Reason)
	rejected.Detail = map[string]any{"factor": in.Factor, "failures": o.Failures, "max_attempts": in.MaxAttempts}
	events := []store.AuditEvent{rejected}
	if o.NewlyLocked {
		locked := in.event(now, attempt.EventFactorLocked, fmt.Sprintf("%s locked after %d consecutive failures", in.Factor, o.Failures))
		locked.Detail = map[string]any{"factor": in.Factor, "failures": o.Failures, "hard": o.HardLocked}
		if o.LockedUntil != nil {
			locked.Detail["until"] = o.LockedUntil.UTC().Format(time.RFC3339)
		}
		if o.HardLocked {
			locked.Reasons = append(locked.Reasons, "an administrator must clear the lock")
		}
		events = append(events, locked)
	}
	return events
}

// matchTOTP finds the time step (now ±attempt.TOTPSkew) whose code has the
// submitted digest.
func (a *Activities) matchTOTP(ctx context.Context, in CodeInput) (step int64, ok bool, reason string, err error) {
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if err != nil {
		return 0, false, "", fmt.Errorf("load user for totp: %w", err)
	}
	if !user.TOTPEnabled || user.TOTPSecret == nil {
		return 0, false, "totp not enrolled", nil
	}
	seed, err := a.keys.Open(user.TOTPSecret, user.ID)
	if err != nil {
		return 0, false, "", fmt.Errorf("open totp seed: %w", err)
	}
	now := a.now().Unix() / attempt.TOTPPeriod
	for d := int64(-attempt.TOTPSkew); d <= attempt.TOTPSkew; d++ {
		code, err := attempt.TOTPCode(string(seed), time.Unix((now+d)*attempt.TOTPPeriod, 0))
		if err != nil {
			return 0, false, "", err
		}
		if secret.Equal(attempt.CodeDigest(a.keys, in.AttemptID, code), in.Digest) {
			if now+d <= user.TOTPLastStep {
				return 0, false, "totp code already used", nil
			}
			return now + d, true, "", nil
		}
	}
	return 0, false, "wrong totp code", nil
}

// matchRecoveryCode finds the user's unused recovery code whose digest,
// bound to the attempt, was submitted.
func (a *Activities) matchRecoveryCode(ctx context.Context, in CodeInput) (string, bool, error) {
	codes, err := a.store.UnusedRecoveryCodes(ctx, in.UserID)
	if err != nil {
		return "", false, err
	}
	for _, c := range codes {
		if c.Digest == "" {
			continue
		}
		stored := attempt.CodeDigest(a.keys, in.AttemptID, c.Digest)
		if secret.Equal(stored, in.Digest) {
			return c.ID, true, nil
		}
		for _, alt := range in.Alternates {
			if secret.Equal(stored, alt) {
				return c.ID, true, nil
			}
		}
	}
	return "", false, nil
}

// Attempts begun before CheckCode (workflow version DefaultVersion of
// versionCodeCheck) verify TOTP and record failures in two steps. These
// two activities serve them, over the same store records, until they end
// (an attempt lives an hour at most).

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

// VerifyTOTP checks a TOTP or recovery code for an attempt of an earlier
// version and spends it when valid; a wrong code is counted by RecordFailure.
func (a *Activities) VerifyTOTP(ctx context.Context, in VerifyTOTPInput) (VerifyTOTPResult, error) {
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if err != nil {
		return VerifyTOTPResult{}, fmt.Errorf("load user for totp: %w", err)
	}
	code := CodeInput{Subject: in.Subject, UserID: user.ID, Digest: in.Digest}
	check := store.CodeCheck{AttemptID: in.AttemptID, Effect: "verify:" + uuid.NewString(), UserID: user.ID, At: a.now().UTC()}
	step, ok, reason, err := a.matchTOTP(ctx, code)
	if err != nil {
		return VerifyTOTPResult{}, err
	}
	check.Factor, check.Valid, check.TOTPStep = store.FactorTOTP, ok, &step
	if !ok {
		id, found, err := a.matchRecoveryCode(ctx, code)
		if err != nil || !found {
			return VerifyTOTPResult{Reason: reason}, err
		}
		check.Factor, check.Valid, check.TOTPStep, check.RecoveryCodeID = store.FactorRecovery, true, nil, id
	}
	out, err := a.store.RecordCodeCheck(ctx, check)
	if err != nil {
		return VerifyTOTPResult{}, err
	}
	return VerifyTOTPResult{Valid: out.Valid, Reason: out.Reason}, nil
}

// FailureInput records a wrong code of an attempt of an earlier version.
type FailureInput struct {
	Subject
	UserID      string
	Reason      string
	MaxAttempts int
	Factor      string // "" in histories of earlier versions: pin
	Effect      string // "" in histories of earlier versions
}

// RecordFailure counts a wrong code against the user's factor and returns
// the factor's run of failures.
func (a *Activities) RecordFailure(ctx context.Context, in FailureInput) (int, error) {
	if in.Factor == "" {
		in.Factor = store.FactorPIN
	}
	if in.Effect == "" {
		in.Effect = "failure:" + uuid.NewString()
	}
	now := a.now().UTC()
	code := CodeInput{Subject: in.Subject, UserID: in.UserID, Factor: in.Factor, MaxAttempts: in.MaxAttempts}
	out, err := a.store.RecordCodeCheck(ctx, store.CodeCheck{
		AttemptID: in.AttemptID, Effect: in.Effect, UserID: in.UserID, Factor: in.Factor, At: now,
		FailReason: in.Reason, Rule: a.cfg.lockoutRule(in.MaxAttempts),
		Events: func(o store.CodeOutcome) []store.AuditEvent { return a.codeEvents(code, now, o) },
	})
	if err != nil {
		return 0, err
	}
	return out.Failures, nil
}

// FinishInput publishes an attempt's final state.
type FinishInput struct {
	Subject
	UserID  string
	State   string
	Reasons []string
	// Factor is the factor that signed in (pin, totp, recovery, sso; ""
	// for a link): a success ends its run of failures.
	Factor string
}

// Finish publishes the final state with its audit event and, for a
// successful sign-in, updates the user's last login, count and IP in the
// same transaction. Run again, it changes nothing: only a pending attempt
// takes a final state.
func (a *Activities) Finish(ctx context.Context, in FinishInput) error {
	now := a.now().UTC()
	types := map[string]string{
		store.AttemptAuthenticated: attempt.EventAuthenticated,
		store.AttemptExpired:       attempt.EventExpired,
		store.AttemptLocked:        attempt.EventLocked,
		store.AttemptDenied:        attempt.EventDenied,
	}
	typ, ok := types[in.State]
	if !ok {
		return fmt.Errorf("finish attempt: unknown final state %q", in.State)
	}
	u := store.AttemptUpdate{State: in.State, At: now}
	if in.State == store.AttemptAuthenticated {
		u.LoginUserID, u.LoginIP, u.LoginFactor = in.UserID, in.IP, in.Factor
	}
	applied, err := a.store.PublishAttempt(ctx, in.AttemptID, u, in.event(now, typ, in.Reasons...))
	if applied {
		a.metrics.ended.WithLabelValues(in.State).Inc()
	}
	return err
}
