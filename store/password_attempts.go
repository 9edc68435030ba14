package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/flexauth/flexauth/attempt"
)

// Steps of a password attempt, as attempts.step publishes them for the
// hosted page.
const (
	StepPassword = "password" // waiting for the password
	StepTOTP     = "totp"     // the password was right: waiting for a TOTP or recovery code
	StepEnrol    = "enrol"    // the password was right and the user has no authenticator: enrolment
)

// FactorPassword is the factor of passwords: wrong ones count toward its
// lock-out like wrong codes.
const FactorPassword = attempt.FactorPassword

// SecretRecoveryCodes is the key of an attempt secret holding the recovery
// codes drawn at enrolment until the page shows them, once.
const SecretRecoveryCodes = attempt.SecretRecoveryCodes

// AttemptSecret is a value a step of an attempt passes to the activities
// without it entering workflow history: sealed with the attempt ID, kept
// until used.
type AttemptSecret struct {
	bun.BaseModel `bun:"table:attempt_secrets"`

	AttemptID string    `bun:"attempt_id,pk"`
	Key       string    `bun:"secret_key,pk"`
	Sealed    []byte    `bun:"sealed,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// PutAttemptSecret stores a sealed value for a pending attempt. It reports
// false, storing nothing, when the attempt is not pending.
func (s *Store) PutAttemptSecret(ctx context.Context, sec AttemptSecret) (bool, error) {
	stored := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		pending, err := tx.NewSelect().Model((*Attempt)(nil)).
			Where("id = ? AND state = ?", sec.AttemptID, AttemptPending).Exists(ctx)
		if err != nil || !pending {
			return err
		}
		if _, err := tx.NewInsert().Model(&sec).Exec(ctx); err != nil {
			return conflict(err, "attempt secret "+sec.Key)
		}
		stored = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store secret of attempt %s: %w", sec.AttemptID, err)
	}
	return stored, nil
}

// AttemptSecret loads a sealed value of an attempt.
func (s *Store) AttemptSecret(ctx context.Context, attemptID, key string) (AttemptSecret, error) {
	var sec AttemptSecret
	err := s.db.NewSelect().Model(&sec).Where("attempt_id = ? AND secret_key = ?", attemptID, key).Scan(ctx)
	if err != nil {
		return AttemptSecret{}, notFound(err, "attempt secret")
	}
	return sec, nil
}

// TakeAttemptSecret loads a sealed value of an attempt and deletes it, so
// that it is given out once: of two concurrent takers, one gets it and the
// other ErrNotFound.
func (s *Store) TakeAttemptSecret(ctx context.Context, attemptID, key string) ([]byte, error) {
	var sealed []byte
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var sec AttemptSecret
		err := tx.NewSelect().Model(&sec).Where("attempt_id = ? AND secret_key = ?", attemptID, key).Scan(ctx)
		if err != nil {
			return notFound(err, "attempt secret")
		}
		res, err := tx.NewDelete().Model((*AttemptSecret)(nil)).
			Where("attempt_id = ? AND secret_key = ?", attemptID, key).Exec(ctx)
		if err := affected(res, err, "attempt secret"); err != nil {
			return err
		}
		sealed = sec.Sealed
		return nil
	})
	return sealed, err
}

// AttemptByPageDigest finds the attempt a hosted page URL belongs to.
func (s *Store) AttemptByPageDigest(ctx context.Context, digest string) (Attempt, error) {
	var a Attempt
	if err := s.db.NewSelect().Model(&a).Where("page_digest = ?", digest).Scan(ctx); err != nil {
		return Attempt{}, notFound(err, "attempt")
	}
	return a, nil
}

// NextStep moves a password attempt on once its password is right: to the
// TOTP step or to enrolment, bound to the browser that gave it.
type NextStep struct {
	Step          string
	BrowserDigest string
	// Rehash, when set, replaces the user's password hash OldHash: the
	// stored one was made with parameters that have since changed. Only
	// that hash is replaced: a password changed or deleted meanwhile (a
	// reset, the account's switch turned off) stays as it is.
	Rehash  string
	OldHash string
}

// applyNextStep applies a right password's consequences in the
// transaction that records it: the attempt's next step, the upgraded
// hash, and the end of the password's run of failures.
func applyNextStep(ctx context.Context, db bun.IDB, c CodeCheck) error {
	n := c.Next
	res, err := db.NewUpdate().Model((*Attempt)(nil)).
		Set("step = ?", n.Step).Set("browser_digest = ?", n.BrowserDigest).Set("updated_at = ?", c.At).
		Where("id = ? AND state = ?", c.AttemptID, AttemptPending).Exec(ctx)
	if err != nil {
		return fmt.Errorf("move attempt to step %s: %w", n.Step, err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return nil // ended meanwhile: nothing more to do
	}
	if n.Rehash != "" {
		_, err := db.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", n.Rehash).
			Where("id = ? AND password_hash = ?", c.UserID, n.OldHash).Exec(ctx)
		if err != nil {
			return fmt.Errorf("upgrade password hash: %w", err)
		}
	}
	_, err = db.NewDelete().Model((*FactorLock)(nil)).Where("user_id = ? AND factor = ?", c.UserID, c.Factor).Exec(ctx)
	if err != nil {
		return fmt.Errorf("end %s failures: %w", c.Factor, err)
	}
	return nil
}

// Enrolment is a user's first authenticator, confirmed on the hosted page
// of a password attempt.
type Enrolment struct {
	AttemptID string
	Effect    string // the workflow update that carried the code
	UserID    string
	// Valid is whether the code matched the pending seed at TOTPStep.
	Valid    bool
	TOTPStep int64
	// Sealed is the seed sealed for the active column.
	Sealed []byte
	// RecoveryCodes are the new set's rows (digests only); ShownCodes is
	// the set in clear, sealed with the attempt ID, kept until the page
	// shows it once.
	RecoveryCodes []RecoveryCode
	ShownCodes    []byte
	At            time.Time
	Events        []AuditEvent
	// Notice, when set, tells the user an authenticator was enrolled.
	Notice *CredentialLink
}

// EnrolmentOutcome is what a confirmed enrolment came to.
type EnrolmentOutcome struct {
	Valid  bool
	Reason string
}

// CompleteEnrolment activates the user's pending seed, replaces the
// recovery codes and keeps the new set for one display, once per effect
// and in one transaction. A user who meanwhile enrolled elsewhere, or whose
// pending seed changed, is not enrolled again: the outcome is invalid.
func (s *Store) CompleteEnrolment(ctx context.Context, e Enrolment) (EnrolmentOutcome, error) {
	var out EnrolmentOutcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out = EnrolmentOutcome{}
		if found, err := s.on(tx).loadEffect(ctx, e.AttemptID, e.Effect, &out); err != nil || found {
			return err
		}
		if !e.Valid {
			out.Reason = "wrong enrolment code"
			return saveEffect(ctx, tx, e.AttemptID, e.Effect, out, e.At)
		}
		res, err := tx.NewUpdate().Model((*User)(nil)).
			Set("totp_secret = ?", e.Sealed).Set("totp_pending = NULL").Set("totp_enabled = ?", true).
			Set("totp_last_step = ?", e.TOTPStep).Set("totp_enabled_at = ?", e.At).Set("updated_at = ?", e.At).
			Where("id = ? AND totp_enabled = ? AND totp_pending IS NOT NULL", e.UserID, false).Exec(ctx)
		if err != nil {
			return fmt.Errorf("activate totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Reason = "no enrolment pending"
			return saveEffect(ctx, tx, e.AttemptID, e.Effect, out, e.At)
		}
		if _, err := tx.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", e.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("remove recovery codes: %w", err)
		}
		if len(e.RecoveryCodes) > 0 {
			if _, err := tx.NewInsert().Model(&e.RecoveryCodes).Exec(ctx); err != nil {
				return fmt.Errorf("store recovery codes: %w", err)
			}
		}
		shown := AttemptSecret{AttemptID: e.AttemptID, Key: SecretRecoveryCodes, Sealed: e.ShownCodes, CreatedAt: e.At}
		if _, err := tx.NewInsert().Model(&shown).Exec(ctx); err != nil {
			return conflict(err, "attempt secret "+shown.Key)
		}
		if err := writeRecord(ctx, tx, ChangeRecord{Events: e.Events, Notice: e.Notice}); err != nil {
			return err
		}
		out.Valid = true
		return saveEffect(ctx, tx, e.AttemptID, e.Effect, out, e.At)
	})
	if err != nil {
		return EnrolmentOutcome{}, fmt.Errorf("complete enrolment of attempt %s: %w", e.AttemptID, err)
	}
	return out, nil
}
