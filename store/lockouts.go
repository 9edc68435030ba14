package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/flexauth/flexauth/attempt"
)

// Factors that can be guessed. Each has its own consecutive-failure count,
// so that guessing one locks that one: a user whose PIN an anonymous party
// has locked can still sign in by a delivered link, a user whose TOTP is
// locked can still use a recovery code. Package attempt owns the names
// (attempt.MethodFactor maps a method to its factor).
const (
	FactorPIN      = attempt.FactorPIN
	FactorTOTP     = attempt.FactorTOTP
	FactorRecovery = attempt.FactorRecovery
	FactorSSO      = attempt.FactorSSO
	// FactorPassword (password_attempts.go) counts wrong passwords.
)

// FactorLock is a user's run of consecutive failures with one factor and
// the lock it led to. Time does not clear it; a success with the factor or
// an administrator does.
type FactorLock struct {
	bun.BaseModel `bun:"table:factor_lockouts"`

	UserID        string     `bun:"user_id,pk" json:"-"`
	Factor        string     `bun:"factor,pk" json:"factor"`
	Failures      int        `bun:"failures,notnull" json:"failures"`
	LastFailureAt time.Time  `bun:"last_failure_at,notnull" json:"last_failure_at"`
	LockedUntil   *time.Time `bun:"locked_until" json:"locked_until,omitempty"`
	HardLocked    bool       `bun:"hard_locked,notnull" json:"hard_locked"`
}

// Locked reports whether the factor is refused at now.
func (f FactorLock) Locked(now time.Time) bool {
	return f.HardLocked || (f.LockedUntil != nil && now.Before(*f.LockedUntil))
}

// LockoutRule says when consecutive failures lock a factor: at Threshold
// for BaseWait, each further failure doubling the wait up to MaxWait, and
// for good (until an administrator clears it) at HardLimit.
type LockoutRule struct {
	Threshold int
	BaseWait  time.Duration
	MaxWait   time.Duration
	HardLimit int
}

// lockAfter returns the lock that failures consecutive failures at lead to.
func (r LockoutRule) lockAfter(failures int, at time.Time) (until *time.Time, hard bool) {
	if r.HardLimit > 0 && failures >= r.HardLimit {
		return nil, true
	}
	if r.Threshold <= 0 || failures < r.Threshold {
		return nil, false
	}
	wait := r.MaxWait
	if doublings := failures - r.Threshold; doublings < 32 && r.BaseWait<<doublings < r.MaxWait && r.BaseWait<<doublings > 0 {
		wait = r.BaseWait << doublings
	}
	t := at.Add(wait)
	return &t, false
}

// factorLocksSQL is FactorLocks' statement (see preparedStatements), with
// ? for the user's ID.
func factorLocksSQL(db *bun.DB) string {
	return db.NewSelect().Model((*FactorLock)(nil)).Where("user_id = ?", bun.Safe("?")).Order("factor").String()
}

// FactorLocks returns the user's failure runs, by factor.
func (s *Store) FactorLocks(ctx context.Context, userID string) ([]FactorLock, error) {
	locks := []FactorLock{}
	err := s.scanPrepared(ctx, &s.prepared.factorLocks, []any{userID}, &locks)
	if err != nil {
		return nil, fmt.Errorf("load factor locks: %w", err)
	}
	return locks, nil
}

// ClearFactorLocks forgets the user's failure runs (all of them, or those of
// factors) with the audit events, in one transaction, and returns how many
// there were.
func (s *Store) ClearFactorLocks(ctx context.Context, userID string, factors []string, events ...AuditEvent) (int, error) {
	var n int64
	err := s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		q := db.NewDelete().Model((*FactorLock)(nil)).Where("user_id = ?", userID)
		if len(factors) > 0 {
			q = q.Where("factor IN (?)", bun.List(factors))
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("clear factor locks: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// CodeCheck is the outcome of comparing one submitted code, to be recorded.
type CodeCheck struct {
	AttemptID string
	// Effect names the submission (one workflow update); recording the same
	// effect twice answers the first outcome and changes nothing.
	Effect string
	UserID string
	Factor string
	At     time.Time
	// Valid is whether the code matched. A valid TOTP code spends its
	// TOTPStep, a valid recovery code spends RecoveryCodeID; one that was
	// spent meanwhile is a failure.
	Valid          bool
	TOTPStep       *int64
	RecoveryCodeID string
	FailReason     string // why an invalid code failed, e.g. "wrong pin"
	Rule           LockoutRule
	// Events builds the audit events of the outcome; they are appended in
	// the same transaction.
	Events func(CodeOutcome) []AuditEvent
	// Notice, when set, builds the notice to the user the outcome calls
	// for (nil for none), queued in the same transaction.
	Notice func(CodeOutcome) *CredentialLink
	// SpendSecret names the attempt secret the check read (a submitted
	// password): it is deleted in the same transaction, whatever the
	// outcome.
	SpendSecret string
	// Next, for a password, is the attempt's next step when it is right.
	Next *NextStep
	// OnValid, when set, is the attempt's transition when the code is
	// valid (its final state, the user's login and the audit event, as
	// Finish publishes them), applied in the check's own transaction as
	// PublishAttempt would: a right code costs one transaction, not two.
	// CodeOutcome.Published says whether it applied.
	OnValid *Publication
}

// CodeOutcome is what a recorded code check came to.
type CodeOutcome struct {
	Valid bool
	// Refused is true when the code was not looked at: its factor was
	// locked. A refusal is not a failure and counts nothing.
	Refused     bool
	Reason      string
	Failures    int // the factor's consecutive failures after this check
	LockedUntil *time.Time
	HardLocked  bool
	// NewlyLocked is true when this failure locked the factor.
	NewlyLocked bool
	// Published is true when the check's OnValid transition applied: the
	// attempt was pending and now has its final state. It is kept with the
	// effect, so a check run again answers it too.
	Published bool `json:",omitempty"`
	// Replayed is true when the check was recorded before: the outcome is
	// the first run's and this call changed nothing.
	Replayed bool `json:"-"`
}

// Locked reports whether the factor is locked after the check.
func (o CodeOutcome) Locked(now time.Time) bool {
	return FactorLock{LockedUntil: o.LockedUntil, HardLocked: o.HardLocked}.Locked(now)
}

// RecordCodeCheck applies a code check once: a locked factor refuses it, a
// valid code is spent, an invalid one adds to the factor's failures and
// may lock it. Everything, the audit events and the effect, is written in
// one transaction.
func (s *Store) RecordCodeCheck(ctx context.Context, c CodeCheck) (CodeOutcome, error) {
	// Concurrent checks of one user's factor race to create its row, and
	// two runs of one check race to record its effect: the loser of either
	// race conflicts, and its next try sees the winner's row.
	var out CodeOutcome
	var err error
	for try := 0; try < 3; try++ {
		if out, err = s.recordCodeCheck(ctx, c); !errors.Is(err, ErrConflict) {
			break
		}
	}
	return out, err
}

func (s *Store) recordCodeCheck(ctx context.Context, c CodeCheck) (CodeOutcome, error) {
	var out CodeOutcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out = CodeOutcome{}
		if found, err := s.on(tx).loadEffect(ctx, c.AttemptID, c.Effect, &out); err != nil || found {
			out.Replayed = found
			return err
		}
		lock := FactorLock{UserID: c.UserID, Factor: c.Factor}
		q := tx.NewSelect().Model(&lock).WherePK()
		if s.postgres {
			// SQLite serialises writers already: its transactions begin IMMEDIATE.
			q = q.For("UPDATE")
		}
		exists := true
		if err := q.Scan(ctx); err != nil {
			if err := notFound(err, "factor lock"); !errors.Is(err, ErrNotFound) {
				return err
			}
			exists = false
		}
		out.Failures, out.LockedUntil, out.HardLocked = lock.Failures, lock.LockedUntil, lock.HardLocked
		switch {
		case exists && lock.Locked(c.At):
			out.Refused, out.Reason = true, c.Factor+" is locked after too many wrong codes"
		case c.Valid:
			spent, err := spend(ctx, tx, c)
			if err != nil {
				return err
			}
			out.Valid = spent
			if !spent {
				out.Reason = c.Factor + " code already used"
			}
		default:
			out.Reason = c.FailReason
		}
		if !out.Valid && !out.Refused {
			if err := countFailure(ctx, tx, c, &lock, exists, &out); err != nil {
				return err
			}
		}
		if out.Valid && c.OnValid != nil {
			applied, err := publish(ctx, tx, c.AttemptID, c.OnValid.Update, nil, c.OnValid.Events)
			if err != nil {
				return err
			}
			out.Published = applied
		}
		if out.Valid && c.Next != nil {
			if err := applyNextStep(ctx, tx, c); err != nil {
				return err
			}
		}
		if c.SpendSecret != "" {
			_, err := tx.NewDelete().Model((*AttemptSecret)(nil)).
				Where("attempt_id = ? AND secret_key = ?", c.AttemptID, c.SpendSecret).Exec(ctx)
			if err != nil {
				return fmt.Errorf("remove attempt secret: %w", err)
			}
		}
		if c.Events != nil {
			if err := appendAudit(ctx, tx, c.Events(out)); err != nil {
				return err
			}
		}
		if c.Notice != nil {
			if err := insertNotice(ctx, tx, c.Notice(out)); err != nil {
				return err
			}
		}
		return saveEffect(ctx, tx, c.AttemptID, c.Effect, out, c.At)
	})
	if err != nil {
		return CodeOutcome{}, fmt.Errorf("record code check of attempt %s: %w", c.AttemptID, err)
	}
	return out, nil
}

// spend uses up a valid code: its TOTP step or its recovery code. It
// reports false when the code was spent already.
func spend(ctx context.Context, db bun.IDB, c CodeCheck) (bool, error) {
	var q *bun.UpdateQuery
	switch {
	case c.TOTPStep != nil:
		q = db.NewUpdate().Model((*User)(nil)).Set("totp_last_step = ?", *c.TOTPStep).
			Where("id = ? AND totp_last_step < ?", c.UserID, *c.TOTPStep)
	case c.RecoveryCodeID != "":
		q = db.NewUpdate().Model((*RecoveryCode)(nil)).Set("used_at = ?", c.At).
			Where("id = ? AND user_id = ? AND used_at IS NULL", c.RecoveryCodeID, c.UserID)
	default:
		return true, nil // a PIN: the workflow holds its digest, nothing to spend
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("spend %s code: %w", c.Factor, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// countFailure adds a failure to the factor's run and locks it when the
// rule says so.
func countFailure(ctx context.Context, db bun.IDB, c CodeCheck, lock *FactorLock, exists bool, out *CodeOutcome) error {
	lock.Failures++
	lock.LastFailureAt = c.At
	if until, hard := c.Rule.lockAfter(lock.Failures, c.At); hard || until != nil {
		lock.LockedUntil, lock.HardLocked = until, hard
	}
	var err error
	if exists {
		_, err = db.NewUpdate().Model(lock).WherePK().Exec(ctx)
	} else {
		_, err = db.NewInsert().Model(lock).Exec(ctx)
	}
	if err != nil {
		return conflict(err, c.Factor+" failures")
	}
	out.Failures, out.LockedUntil, out.HardLocked = lock.Failures, lock.LockedUntil, lock.HardLocked
	// The factor was open when the code was checked, so a lock now is new.
	out.NewlyLocked = out.Locked(c.At)
	return nil
}
