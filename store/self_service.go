package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The changes users make to their own credentials in the security settings
// flexauth hosts, and the links those settings send. Each change is one
// transaction with its audit events and its notice (ChangeRecord).

// Errors of self-service changes.
var (
	// ErrTooManyLinks refuses a link the user asked for: they were sent
	// as many of that purpose lately as the request allows.
	ErrTooManyLinks = errors.New("too many links of this kind for this user lately")
	// ErrEmailNotVerified refuses a recover link to an address no link
	// has proved (or whose proof was used).
	ErrEmailNotVerified = errors.New("the user's email address is not verified")
	// ErrAttemptMovedOn refuses a recover link for an attempt that is no
	// longer waiting for its TOTP code.
	ErrAttemptMovedOn = errors.New("the attempt is not at its TOTP step")
)

// PasswordUsersByEmail returns up to limit users of the account whose
// email is email (compared without regard to case) and who can sign in
// with it and a password: the account's and their own switch on, a
// password set, active.
func (s *Store) PasswordUsersByEmail(ctx context.Context, accountID, email string, limit int) ([]User, error) {
	users := []User{}
	err := s.db.NewSelect().Model(&users).
		Where("?TableAlias.account_id = ? AND lower(?TableAlias.email) = lower(?)", accountID, email).
		Where("?TableAlias.email_password_login AND ?TableAlias.password_hash IS NOT NULL AND ?TableAlias.status = ?", UserActive).
		Where(topSwitch, accountID).
		Order("authid").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "users by email")
	}
	return users, nil
}

// ResetTwoFactorWith removes the user's TOTP seed (active and pending) and
// recovery codes and dates the reset, with rec, in one transaction: the
// user enrols again from scratch.
func (s *Store) ResetTwoFactorWith(ctx context.Context, userID string, at time.Time, rec ChangeRecord) error {
	return s.recorded(ctx, rec, func(ctx context.Context, db bun.IDB) error {
		return resetTwoFactor(ctx, db, userID, at)
	})
}

func resetTwoFactor(ctx context.Context, db bun.IDB, userID string, at time.Time) error {
	res, err := db.NewUpdate().Model((*User)(nil)).
		Set("totp_secret = NULL").Set("totp_pending = NULL").Set("totp_enabled = ?", false).
		Set("totp_enabled_at = NULL").Set("two_factor_reset_at = ?", at).Set("updated_at = ?", at).
		Where("id = ?", userID).Exec(ctx)
	if err := affected(res, err, "user"); err != nil {
		return err
	}
	if _, err := db.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return fmt.Errorf("remove recovery codes: %w", err)
	}
	return nil
}

// ActivateTOTPWith promotes the pending seed (sealed again for its new
// column), records step as used, so the enrolment code cannot sign in,
// and dates the enrolment, with rec.
func (s *Store) ActivateTOTPWith(ctx context.Context, userID string, sealed []byte, step int64, at time.Time, rec ChangeRecord) error {
	return s.recorded(ctx, rec, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("totp_secret = ?", sealed).Set("totp_pending = NULL").Set("totp_enabled = ?", true).
			Set("totp_last_step = ?", step).Set("totp_enabled_at = ?", at).Set("updated_at = ?", at).
			Where("id = ?", userID).Exec(ctx)
		return affected(res, err, "user")
	})
}

// TOTPEnrolment is an authenticator a user enrols in the security
// settings: the pending seed whose code matched, the same seed sealed for
// the active column, and the first set of recovery codes.
type TOTPEnrolment struct {
	UserID  string
	Pending []byte // the pending seed as read: another one pending since is not enrolled
	Sealed  []byte
	Step    int64
	Codes   []RecoveryCode
	At      time.Time
	Record  ChangeRecord
}

// EnrolTOTP activates the pending seed and replaces the recovery codes,
// with the record, in one transaction. ErrConflict, with nothing changed,
// when the user has an active authenticator or the pending seed changed
// meanwhile: an active seed is never replaced.
func (s *Store) EnrolTOTP(ctx context.Context, e TOTPEnrolment) error {
	return s.recorded(ctx, e.Record, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("totp_secret = ?", e.Sealed).Set("totp_pending = NULL").Set("totp_enabled = ?", true).
			Set("totp_last_step = ?", e.Step).Set("totp_enabled_at = ?", e.At).Set("updated_at = ?", e.At).
			Where("id = ? AND totp_enabled = ? AND totp_pending = ?", e.UserID, false, e.Pending).Exec(ctx)
		if err != nil {
			return fmt.Errorf("activate totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("enrol totp of user %s: no such enrolment pending: %w", e.UserID, ErrConflict)
		}
		return replaceRecoveryCodes(ctx, db, e.UserID, e.Codes)
	})
}

// ReplaceRecoveryCodesWith is ReplaceRecoveryCodes with a notice.
func (s *Store) ReplaceRecoveryCodesWith(ctx context.Context, userID string, codes []RecoveryCode, rec ChangeRecord) error {
	return s.recorded(ctx, rec, func(ctx context.Context, db bun.IDB) error {
		return replaceRecoveryCodes(ctx, db, userID, codes)
	})
}

func replaceRecoveryCodes(ctx context.Context, db bun.IDB, userID string, codes []RecoveryCode) error {
	if _, err := db.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return fmt.Errorf("remove recovery codes: %w", err)
	}
	if len(codes) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&codes).Exec(ctx); err != nil {
		return fmt.Errorf("store recovery codes: %w", err)
	}
	return nil
}

// PasswordChange is a password a user changes with the current one.
type PasswordChange struct {
	UserID string
	// OldHash is the hash the current password was checked against: a
	// password changed meanwhile (by a reset link, another session) is
	// not replaced.
	OldHash string
	Hash    string
	At      time.Time
	// Session is the settings session making the change: it goes on, the
	// user's other sessions end.
	Session string
	Record  ChangeRecord
}

// ChangePassword replaces the user's password hash, with the record, in
// one transaction. ErrPasswordLoginOff when the account's or the user's
// switch is off, ErrConflict when the hash is no longer OldHash.
func (s *Store) ChangePassword(ctx context.Context, p PasswordChange) error {
	return s.recorded(ctx, p.Record, func(ctx context.Context, db bun.IDB) error {
		var u User
		err := db.NewSelect().Model(&u).Column("account_id", "email_password_login", "password_hash").Where("id = ?", p.UserID).Scan(ctx)
		if err != nil {
			return notFound(err, "user "+p.UserID)
		}
		if err := s.passwordLoginAllowed(ctx, db, u.AccountID); err != nil {
			return err
		}
		if !u.EmailPasswordLogin {
			return ErrPasswordLoginOff
		}
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("password_hash = ?", p.Hash).Set("password_set_at = ?", p.At).Set("password_changed_at = ?", p.At).
			Set("updated_at = ?", p.At).
			Where("id = ? AND password_hash = ?", p.UserID, p.OldHash).Exec(ctx)
		if err != nil {
			return fmt.Errorf("change password of user %s: %w", p.UserID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("change password of user %s: it changed meanwhile: %w", p.UserID, ErrConflict)
		}
		return endSessionsOf(ctx, db, p.UserID, p.At, p.Session)
	})
}

// SelfServiceLink is a link a user asks for themselves: an email verification
// from the security settings, or a recover link from a password attempt's
// TOTP step.
type SelfServiceLink struct {
	// Link is the link to issue (purpose LinkVerifyEmail or LinkRecover,
	// the latter with its AttemptID); it voids the user's unused links of
	// its purpose.
	Link CredentialLink
	// At most Max links of the purpose may have been created for the user
	// since Since; beyond, ErrTooManyLinks.
	Since time.Time
	Max   int
}

// RequestSelfServiceLink issues a link a user asked for, with events, in
// one transaction: ErrPasswordLoginOff when the account's or the user's
// email and password sign-in is off (or the user has no email),
// ErrTooManyLinks past the bound, and for a recover link
// ErrEmailNotVerified when the address is not verified and
// ErrAttemptMovedOn when its attempt is not the user's, pending at its
// TOTP step.
func (s *Store) RequestSelfServiceLink(ctx context.Context, r SelfServiceLink, events ...AuditEvent) error {
	l := r.Link
	if l.Purpose != LinkVerifyEmail && l.Purpose != LinkRecover {
		return fmt.Errorf("request a %s link: only email verifications and recover links are asked for here", l.Purpose)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.passwordLoginAllowed(ctx, tx, l.AccountID); err != nil {
			return err
		}
		var u User
		q := tx.NewSelect().Model(&u).Where("id = ? AND account_id = ?", l.UserID, l.AccountID)
		if s.postgres {
			// Concurrent requests must not all pass one count.
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
			return ErrPasswordLoginOff
		} else if err != nil {
			return fmt.Errorf("load user %s: %w", l.UserID, err)
		}
		switch {
		case !u.EmailPasswordLogin || u.Email == "" || u.Status != UserActive:
			return ErrPasswordLoginOff
		case l.Purpose == LinkRecover && u.EmailVerifiedAt == nil:
			return ErrEmailNotVerified
		}
		if l.Purpose == LinkRecover {
			waiting, err := tx.NewSelect().Model((*Attempt)(nil)).
				Where("id = ? AND account_id = ? AND authid = ? AND state = ? AND step = ?", l.AttemptID, l.AccountID, u.AuthID, AttemptPending, StepTOTP).
				Exists(ctx)
			if err != nil {
				return fmt.Errorf("look up attempt %s: %w", l.AttemptID, err)
			}
			if !waiting {
				return ErrAttemptMovedOn
			}
		}
		n, err := tx.NewSelect().Model((*CredentialLink)(nil)).
			Where("user_id = ? AND purpose = ? AND created_at > ?", l.UserID, l.Purpose, r.Since).Count(ctx)
		if err != nil {
			return fmt.Errorf("count recent %s links of user %s: %w", l.Purpose, l.UserID, err)
		}
		if n >= int64(r.Max) {
			return ErrTooManyLinks
		}
		if err := issueLinks(ctx, tx, []CredentialLink{l}, l.CreatedAt); err != nil {
			return err
		}
		return appendAudit(ctx, tx, events)
	})
}

// EmailVerification is an email verification link used on its page.
type EmailVerification struct {
	LinkID string
	Digest string // the digest of the token presented: the link is used only with its own token
	UserID string
	At     time.Time
}

// VerifyEmail uses the link and marks the user's email verified, with
// events, in one transaction: ErrLinkGone, with nothing changed, when the
// link is not live at v.At or its user has no email.
func (s *Store) VerifyEmail(ctx context.Context, v EmailVerification, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		if err := useLink(ctx, db, v.LinkID, v.Digest, LinkVerifyEmail, v.UserID, v.At); err != nil {
			return err
		}
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("email_verified_at = ?", v.At).Set("updated_at = ?", v.At).
			Where("id = ? AND email <> ''", v.UserID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark email of user %s verified: %w", v.UserID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkGone
		}
		return nil
	})
}

// useLink claims a live link of purpose with its own token for its user,
// or answers ErrLinkGone: of concurrent uses one wins, the others wait on
// its row and find it used.
func useLink(ctx context.Context, db bun.IDB, id, digest, purpose, userID string, at time.Time) error {
	res, err := db.NewUpdate().Model((*CredentialLink)(nil)).
		Set("used_at = ?", at).Set("sealed = NULL").
		Where("id = ? AND digest = ? AND purpose = ? AND user_id = ?", id, digest, purpose, userID).
		Where("used_at IS NULL AND voided_at IS NULL AND expires_at > ?", at).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("use credential link %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLinkGone
	}
	return nil
}

// EmailRecovery is a recover link used, in the browser that gave the
// password, at the TOTP step of its attempt.
type EmailRecovery struct {
	AttemptID string
	// Effect names the workflow update that carried it: it is applied
	// once however often Temporal runs it.
	Effect     string
	UserID     string
	LinkDigest string
	// Pending is the new seed to enrol, sealed for the pending column.
	Pending []byte
	At      time.Time
	Record  ChangeRecord
}

// RecoveryOutcome says what a recover link came to.
type RecoveryOutcome struct {
	Valid  bool
	Reason string
}

// errRecoveryRefused rolls a refused recovery back; its reason is kept.
type errRecoveryRefused struct{ reason string }

func (e errRecoveryRefused) Error() string { return e.reason }

// RecoverByEmail applies a recover link once per effect, in one
// transaction: the link is used, the user's authenticator and recovery
// codes are removed, the new seed waits for enrolment, the attempt moves
// to its enrolment step, and the email's verification is used up (it is a
// way back in once). A link that is not live, not the attempt's or not
// the user's, an address no longer verified, or an attempt that moved on
// changes nothing and is an invalid outcome with its reason.
func (s *Store) RecoverByEmail(ctx context.Context, r EmailRecovery) (RecoveryOutcome, error) {
	var out RecoveryOutcome
	if found, err := s.LoadEffect(ctx, r.AttemptID, r.Effect, &out); err != nil || found {
		return out, err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if found, err := s.on(tx).loadEffect(ctx, r.AttemptID, r.Effect, &out); err != nil || found {
			return err
		}
		refuse := func(reason string) error { return errRecoveryRefused{reason} }
		res, err := tx.NewUpdate().Model((*CredentialLink)(nil)).
			Set("used_at = ?", r.At).Set("sealed = NULL").
			Where("digest = ? AND purpose = ? AND user_id = ? AND attempt_id = ?", r.LinkDigest, LinkRecover, r.UserID, r.AttemptID).
			Where("used_at IS NULL AND voided_at IS NULL AND expires_at > ?", r.At).Exec(ctx)
		if err != nil {
			return fmt.Errorf("use recover link: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return refuse("the recover link is unknown, used, voided or expired")
		}
		res, err = tx.NewUpdate().Model((*Attempt)(nil)).Set("step = ?", StepEnrol).Set("updated_at = ?", r.At).
			Where("id = ? AND state = ? AND step = ?", r.AttemptID, AttemptPending, StepTOTP).Exec(ctx)
		if err != nil {
			return fmt.Errorf("move attempt %s to enrolment: %w", r.AttemptID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return refuse("the attempt is no longer waiting for its TOTP code")
		}
		res, err = tx.NewUpdate().Model((*User)(nil)).
			Set("totp_secret = NULL").Set("totp_pending = ?", r.Pending).Set("totp_enabled = ?", false).
			Set("totp_enabled_at = NULL").Set("two_factor_reset_at = ?", r.At).Set("email_verified_at = NULL").
			Set("updated_at = ?", r.At).
			Where("id = ? AND email_verified_at IS NOT NULL", r.UserID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("reset two-factor of user %s: %w", r.UserID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return refuse("the user's email address is no longer verified")
		}
		if _, err := tx.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", r.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("remove recovery codes: %w", err)
		}
		if err := voidLinks(ctx, tx, LinkRecover, []string{r.UserID}, r.At); err != nil {
			return err
		}
		if err := writeRecord(ctx, tx, r.Record); err != nil {
			return err
		}
		out = RecoveryOutcome{Valid: true}
		return saveEffect(ctx, tx, r.AttemptID, r.Effect, out, r.At)
	})
	var refused errRecoveryRefused
	if errors.As(err, &refused) {
		// Rolled back: nothing changed. The refusal is the effect.
		out = RecoveryOutcome{Reason: refused.reason}
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if found, err := s.on(tx).loadEffect(ctx, r.AttemptID, r.Effect, &out); err != nil || found {
				return err
			}
			return saveEffect(ctx, tx, r.AttemptID, r.Effect, out, r.At)
		})
	}
	if err != nil {
		return RecoveryOutcome{}, fmt.Errorf("recover attempt %s by email: %w", r.AttemptID, err)
	}
	return out, nil
}
