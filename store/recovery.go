package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// RecoveryCode is one of a user's single-use TOTP recovery codes, kept
// only as a keyed digest: nothing needs the code in clear again.
type RecoveryCode struct {
	bun.BaseModel `bun:"table:recovery_codes"`

	ID     string `bun:"id,pk"`
	UserID string `bun:"user_id,notnull"`
	Digest string `bun:"digest,nullzero"`
	// Sealed is a code made before digests (sealed with the user's ID),
	// until ConvertSealedRecoveryCodes replaces it with its digest.
	Sealed    []byte     `bun:"sealed"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
}

// NewRecoveryCodes are the rows of a user's new set of recovery codes,
// from their digests (attempt.DrawRecoveryCodes draws the set).
func NewRecoveryCodes(userID string, digests []string, at time.Time) []RecoveryCode {
	rows := make([]RecoveryCode, len(digests))
	for i, d := range digests {
		rows[i] = RecoveryCode{ID: uuid.NewString(), UserID: userID, Digest: d, CreatedAt: at}
	}
	return rows
}

// ReplaceRecoveryCodes removes the user's codes, used or not, and stores
// codes in their place, with the audit events, in one transaction: a new
// set always voids the old one.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []RecoveryCode, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		return replaceRecoveryCodes(ctx, db, userID, codes)
	})
}

// UnusedRecoveryCodes returns the user's codes that can still sign in.
func (s *Store) UnusedRecoveryCodes(ctx context.Context, userID string) ([]RecoveryCode, error) {
	codes := []RecoveryCode{}
	err := s.db.NewSelect().Model(&codes).Where("user_id = ? AND used_at IS NULL", userID).Order("id").Scan(ctx)
	if err != nil {
		return nil, notFound(err, "recovery codes")
	}
	return codes, nil
}

// CountUnusedRecoveryCodes counts the user's codes that can still sign in.
func (s *Store) CountUnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	n, err := s.db.NewSelect().Model((*RecoveryCode)(nil)).Where("user_id = ? AND used_at IS NULL", userID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return int(n), nil
}

// ConvertSealedRecoveryCodes replaces every sealed recovery code with its
// digest, computed by digest from the code's user and sealed bytes, and
// returns how many it converted. It is idempotent and safe to run from
// several processes at once.
func (s *Store) ConvertSealedRecoveryCodes(ctx context.Context, digest func(userID string, sealed []byte) (string, error)) (int, error) {
	var legacy []RecoveryCode
	if err := s.db.NewSelect().Model(&legacy).Where("sealed IS NOT NULL").Scan(ctx); err != nil {
		return 0, fmt.Errorf("load sealed recovery codes: %w", err)
	}
	n := 0
	for _, c := range legacy {
		d, err := digest(c.UserID, c.Sealed)
		if err != nil {
			return n, fmt.Errorf("digest recovery code %s: %w", c.ID, err)
		}
		res, err := s.db.NewUpdate().Model((*RecoveryCode)(nil)).
			Set("digest = ?", d).Set("sealed = NULL").
			Where("id = ? AND sealed IS NOT NULL", c.ID).Exec(ctx)
		if err != nil {
			return n, fmt.Errorf("convert recovery code %s: %w", c.ID, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	return n, nil
}

// UseRecoveryCode spends a code and appends the audit events, in one
// transaction. It reports false, appending nothing, when the code was
// already spent (or removed): of two concurrent uses, one wins.
func (s *Store) UseRecoveryCode(ctx context.Context, id string, at time.Time, events ...AuditEvent) (bool, error) {
	used := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*RecoveryCode)(nil)).
			Set("used_at = ?", at).
			Where("id = ? AND used_at IS NULL", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		used = true
		return appendAudit(ctx, tx, events)
	})
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	return used, nil
}

// ResetTwoFactor removes the user's TOTP seed (active and pending) and
// recovery codes and dates the reset, with the audit events, in one
// transaction: the user enrols again from scratch.
func (s *Store) ResetTwoFactor(ctx context.Context, userID string, at time.Time, events ...AuditEvent) error {
	return s.ResetTwoFactorWith(ctx, userID, at, ChangeRecord{Events: events})
}
