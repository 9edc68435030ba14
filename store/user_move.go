package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// UserMove moves one user from one organisation to another of the same
// branch. The user keeps its ID, so everything keyed by it goes along:
// password, authenticator, recovery codes, verified address, lock-outs and
// known addresses. What belongs to the organisation it leaves does not:
// its assignments are replaced by Assignments (systems of To; the caller
// chose which carry over), its sessions end, and its pending attempts,
// started for the old organisation's systems, are cancelled.
type UserMove struct {
	UserID      string
	AuthID      string
	From, To    string
	Assignments []Assignment
	At          time.Time
}

// MoveUser applies m in one transaction with events. From and To must lie
// in the branch of within (else ErrNotFound), and the user must still be
// in From (else ErrNotFound: it moved or went since the caller looked).
// ErrConflict when To has a user with the same authid or the same single
// sign-on identity, or when an assignment's system is gone.
// ErrLastConsoleAdmin when the user is From's last console administrator.
func (s *Store) MoveUser(ctx context.Context, within string, m UserMove, events ...AuditEvent) error {
	if m.From == m.To {
		return fmt.Errorf("move user %s: it is in %s already", m.AuthID, m.To)
	}
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		guard, err := s.guardConsoleAdmins(ctx, db, m.From)
		if err != nil {
			return err
		}
		for _, o := range []string{m.From, m.To} {
			if err := requireInBranch(ctx, db, within, o); err != nil {
				return err
			}
		}
		// The foreign key check share-locks To's row, so a concurrent
		// DeleteOrganisation (which locks it for update) either sees this
		// user or makes this update fail; it never cascades over it.
		res, err := db.NewUpdate().Model((*User)(nil)).
			Set("account_id = ?", m.To).Set("updated_at = ?", m.At).
			Where("id = ? AND account_id = ?", m.UserID, m.From).Exec(ctx)
		if err != nil {
			return conflict(err, "user "+m.AuthID+" in "+m.To)
		}
		if err := affected(res, nil, "user "+m.AuthID); err != nil {
			return err
		}
		if _, err := db.NewDelete().Model((*Assignment)(nil)).Where("user_id = ?", m.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("clear the assignments of %s: %w", m.AuthID, err)
		}
		if len(m.Assignments) > 0 {
			if _, err := db.NewInsert().Model(&m.Assignments).Exec(ctx); err != nil {
				if goneReference(err) {
					return fmt.Errorf("assignments of %s: a system is gone: %w", m.AuthID, ErrConflict)
				}
				return conflict(err, "assignments of "+m.AuthID)
			}
		}
		for _, table := range []string{"console_sessions", "user_sessions"} {
			if _, err := db.NewDelete().Table(table).Where("user_id = ?", m.UserID).Exec(ctx); err != nil {
				return fmt.Errorf("end the sessions of %s (%s): %w", m.AuthID, table, err)
			}
		}
		// Links already sent (welcome, reset, verification) stay good:
		// they are the user's, and now answer for its new organisation.
		if _, err := db.NewUpdate().Model((*CredentialLink)(nil)).Set("account_id = ?", m.To).
			Where("user_id = ?", m.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("carry the links of %s: %w", m.AuthID, err)
		}
		if err := cancelPendingOf(ctx, db, m.From, m.AuthID, m.At, "the user moved to another organisation"); err != nil {
			return err
		}
		return guard.check(ctx, db)
	})
}

// cancelPendingOf ends the pending attempts of authid in account as
// cancelled (see cancelAttempts) and audits each.
func cancelPendingOf(ctx context.Context, db bun.IDB, accountID, authid string, at time.Time, reason string) error {
	var pending []Attempt
	err := db.NewSelect().Model(&pending).Column("id", "system", "ip").
		Where("account_id = ? AND authid = ? AND state = ?", accountID, authid, AttemptPending).Scan(ctx)
	if err != nil {
		return fmt.Errorf("find the pending attempts of %s: %w", authid, err)
	}
	if len(pending) == 0 {
		return nil
	}
	ids := make([]string, len(pending))
	events := make([]AuditEvent, len(pending))
	for i, a := range pending {
		ids[i] = a.ID
		events[i] = AuditEvent{
			AccountID: accountID, Time: at, Type: "attempt.cancelled", System: a.System,
			AuthID: authid, AttemptID: a.ID, IP: a.IP, Reasons: []string{reason},
		}
	}
	if err := cancelAttempts(ctx, db, ids, at); err != nil {
		return fmt.Errorf("cancel the pending attempts of %s: %w", authid, err)
	}
	return appendAudit(ctx, db, events)
}

// goneReference reports a foreign key violation: a row refers to one that
// a concurrent change removed.
func goneReference(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}
