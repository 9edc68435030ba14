package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ConsoleSession is a signed-in console administrator. ID is a keyed
// digest of the session cookie; the cookie itself is stored nowhere.
type ConsoleSession struct {
	bun.BaseModel `bun:"table:console_sessions"`

	ID         string    `bun:"id,pk"`
	AccountID  string    `bun:"account_id,notnull"`
	UserID     string    `bun:"user_id,notnull"`
	AuthID     string    `bun:"authid,notnull"`
	AttemptID  string    `bun:"attempt_id,notnull"`
	SignedInAt time.Time `bun:"signed_in_at,notnull"`
	LastSeenAt time.Time `bun:"last_seen_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
	IP         string    `bun:"ip,notnull"`
	UserAgent  string    `bun:"user_agent,notnull"`
}

// consoleSignIn marks a sign-in attempt as spent.
type consoleSignIn struct {
	bun.BaseModel `bun:"table:console_sign_ins"`

	AttemptID string    `bun:"attempt_id,pk"`
	UsedAt    time.Time `bun:"used_at,notnull"`
}

// CreateConsoleSession spends the session's sign-in attempt and stores the
// session with its audit events, in one transaction. An attempt that has
// already opened a session is ErrConflict: one sign-in, one session. The
// user's sessions that ended before idleBefore or expired are cleared on
// the way.
func (s *Store) CreateConsoleSession(ctx context.Context, sess *ConsoleSession, idleBefore time.Time, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewInsert().Model(&consoleSignIn{AttemptID: sess.AttemptID, UsedAt: sess.SignedInAt}).Exec(ctx)
		if err := conflict(err, "sign-in attempt "+sess.AttemptID); err != nil {
			return err
		}
		_, err = db.NewDelete().Model((*ConsoleSession)(nil)).
			Where("user_id = ?", sess.UserID).
			WhereGroup(" AND ", func(q *bun.DeleteQuery) *bun.DeleteQuery {
				return q.Where("expires_at <= ?", sess.SignedInAt).WhereOr("last_seen_at < ?", idleBefore)
			}).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clear ended console sessions: %w", err)
		}
		_, err = db.NewInsert().Model(sess).Exec(ctx)
		return conflict(err, "console session")
	})
}

// ConsoleSignInUsedAt says when the sign-in attempt opened its session;
// ErrNotFound while it has opened none.
func (s *Store) ConsoleSignInUsedAt(ctx context.Context, attemptID string) (time.Time, error) {
	var used consoleSignIn
	if err := s.db.NewSelect().Model(&used).Where("attempt_id = ?", attemptID).Scan(ctx); err != nil {
		return time.Time{}, notFound(err, "console sign-in "+attemptID)
	}
	return used.UsedAt, nil
}

// GetConsoleSession loads a session by the digest of its cookie.
func (s *Store) GetConsoleSession(ctx context.Context, id string) (ConsoleSession, error) {
	var sess ConsoleSession
	if err := s.db.NewSelect().Model(&sess).Where("id = ?", id).Scan(ctx); err != nil {
		return ConsoleSession{}, notFound(err, "console session")
	}
	return sess, nil
}

// TouchConsoleSession records that the session was used at.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.NewUpdate().Model((*ConsoleSession)(nil)).Set("last_seen_at = ?", at).Where("id = ?", id).Exec(ctx)
	return affected(res, err, "console session")
}

// DeleteConsoleSession ends a session with its audit events; ErrNotFound
// when it is already gone.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewDelete().Model((*ConsoleSession)(nil)).Where("id = ?", id).Exec(ctx)
		return affected(res, err, "console session")
	})
}

// CountConsoleUsers counts the account's active users assigned system,
// leaving out exceptUserID.
func (s *Store) CountConsoleUsers(ctx context.Context, accountID, system, exceptUserID string) (int, error) {
	return countConsoleUsers(ctx, s.db, accountID, system, exceptUserID)
}

// ConsoleUser returns the user with userID if it is active and assigned
// the account's system named system; ErrNotFound otherwise. Sessions are
// checked with it on every request, so that disabling or unassigning an
// administrator revokes their sessions at once.
func (s *Store) ConsoleUser(ctx context.Context, userID, system string) (User, error) {
	var u User
	err := s.db.NewSelect().Model(&u).
		Where("?TableAlias.id = ? AND ?TableAlias.status = ?", userID, UserActive).
		Where(`EXISTS (SELECT 1 FROM assignments AS a JOIN systems AS s ON s.id = a.system_id
			WHERE a.user_id = ?TableAlias.id AND s.account_id = ?TableAlias.account_id AND s.name = ?)`, system).
		Scan(ctx)
	if err != nil {
		return User{}, notFound(err, "console user")
	}
	return u, nil
}
