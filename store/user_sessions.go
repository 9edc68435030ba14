package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// UserSession is a user signed in to the security settings flexauth hosts.
// ID is a keyed digest of the session cookie; the cookie itself is stored
// nowhere. A session is opened once by the password sign-in (AttemptID)
// that proved both factors at AuthenticatedAt.
type UserSession struct {
	bun.BaseModel `bun:"table:user_sessions"`

	ID              string    `bun:"id,pk"`
	AccountID       string    `bun:"account_id,notnull"`
	UserID          string    `bun:"user_id,notnull"`
	AttemptID       string    `bun:"attempt_id,notnull"`
	AuthenticatedAt time.Time `bun:"authenticated_at,notnull"`
	LastSeenAt      time.Time `bun:"last_seen_at,notnull"`
	ExpiresAt       time.Time `bun:"expires_at,notnull"`
	// PasswordFailures counts wrong current passwords typed in the session
	// (changing the password): a few end it.
	PasswordFailures int    `bun:"password_failures,notnull"`
	IP               string `bun:"ip,notnull"`
	UserAgent        string `bun:"user_agent,notnull"`
}

// userSessionRetention is how long an ended session's row is kept: while
// it stands, its sign-in cannot open another session.
const userSessionRetention = 24 * time.Hour

// CreateUserSession stores a session with its audit events. ErrConflict
// when its sign-in opened a session already: one sign-in, one session
// (an ended session's row stays a day for this). The user's sessions that
// ended more than a day ago are cleared on the way.
func (s *Store) CreateUserSession(ctx context.Context, sess *UserSession, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewDelete().Model((*UserSession)(nil)).
			Where("user_id = ? AND expires_at < ?", sess.UserID, sess.LastSeenAt.Add(-userSessionRetention)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clear ended user sessions: %w", err)
		}
		_, err = db.NewInsert().Model(sess).Exec(ctx)
		return conflict(err, "user session of sign-in "+sess.AttemptID)
	})
}

// GetUserSession loads a session by the digest of its cookie.
func (s *Store) GetUserSession(ctx context.Context, id string) (UserSession, error) {
	var sess UserSession
	if err := s.db.NewSelect().Model(&sess).Where("id = ?", id).Scan(ctx); err != nil {
		return UserSession{}, notFound(err, "user session")
	}
	return sess, nil
}

// TouchUserSession records that the session was used at.
func (s *Store) TouchUserSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.NewUpdate().Model((*UserSession)(nil)).Set("last_seen_at = ?", at).Where("id = ?", id).Exec(ctx)
	return affected(res, err, "user session")
}

// EndUserSession ends a session at at, with its audit events. The row
// stays (expired) so that its sign-in cannot open another; ErrNotFound
// when it is gone or ended already.
func (s *Store) EndUserSession(ctx context.Context, id string, at time.Time, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model((*UserSession)(nil)).Set("expires_at = ?", at).
			Where("id = ? AND expires_at > ?", id, at).Exec(ctx)
		return affected(res, err, "user session")
	})
}

// endSessionsOf ends, at at, the user's live sessions of the security
// settings and of the console, but for the settings session keep (the one
// making the change, or ""). A new password ends every session its old one
// (or whoever held it) opened: a reset is what someone does who fears the
// password is known.
func endSessionsOf(ctx context.Context, db bun.IDB, userID string, at time.Time, keep string) error {
	for _, table := range []string{"user_sessions", "console_sessions"} {
		q := db.NewUpdate().Table(table).Set("expires_at = ?", at).Where("user_id = ? AND expires_at > ?", userID, at)
		if keep != "" && table == "user_sessions" {
			q = q.Where("id <> ?", keep)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("end the sessions of user %s (%s): %w", userID, table, err)
		}
	}
	return nil
}

// CountSessionPasswordFailure adds a wrong current password to the
// session's count and returns the count.
func (s *Store) CountSessionPasswordFailure(ctx context.Context, id string) (int, error) {
	var n int
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*UserSession)(nil)).Set("password_failures = password_failures + 1").Where("id = ?", id).Exec(ctx)
		if err := affected(res, err, "user session"); err != nil {
			return err
		}
		return tx.NewSelect().Model((*UserSession)(nil)).Column("password_failures").Where("id = ?", id).Scan(ctx, &n)
	})
	if err != nil {
		return 0, fmt.Errorf("count a wrong password of a user session: %w", err)
	}
	return n, nil
}
