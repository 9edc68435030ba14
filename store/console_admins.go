package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/uptrace/bun"
)

// ConsoleSystem is the name of the system whose active users administer an
// account: its console administrators.
const ConsoleSystem = "console"

// ErrLastConsoleAdmin refuses a change that would leave an account that has
// an active console administrator without one. The account would still be
// reachable with admin API keys, but nobody could sign in to the console.
var ErrLastConsoleAdmin = errors.New("the change would leave the account without an active console administrator")

// The rule is kept here, inside the write transactions that can take a
// console administrator away (disable, delete, unassign, move), like a
// constraint rather than a business rule: checked by the caller before the
// transaction, two administrators removing each other at once would both
// pass. consoleAdminGuard serialises those transactions per account and
// compares the count before and after the change.
type consoleAdminGuard struct {
	accounts []string
	before   []int
}

// guardConsoleAdmins locks the console administrators of accounts for the
// rest of the transaction and counts them; check, called after the change,
// refuses it with ErrLastConsoleAdmin when an account had administrators
// and has none left. On PostgreSQL the lock is a transaction-scoped
// advisory lock per account, taken in a fixed order (so that two guards
// cannot deadlock) and before any row lock of the transaction; it is
// released at commit, after which the next guard's count, a new statement
// under READ COMMITTED, sees this one's change. SQLite needs none: its
// write transactions begin IMMEDIATE and so run one at a time.
func (s *Store) guardConsoleAdmins(ctx context.Context, db bun.IDB, accounts ...string) (consoleAdminGuard, error) {
	g := consoleAdminGuard{accounts: slices.Compact(slices.Sorted(slices.Values(accounts)))}
	for _, id := range g.accounts {
		if s.postgres {
			if _, err := db.NewRaw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "console-admins/"+id).Exec(ctx); err != nil {
				return consoleAdminGuard{}, fmt.Errorf("lock the console administrators of %s: %w", id, err)
			}
		}
		n, err := countConsoleUsers(ctx, db, id, ConsoleSystem, "")
		if err != nil {
			return consoleAdminGuard{}, err
		}
		g.before = append(g.before, n)
	}
	return g, nil
}

// check recounts the guarded accounts' console administrators.
func (g consoleAdminGuard) check(ctx context.Context, db bun.IDB) error {
	for i, id := range g.accounts {
		if g.before[i] == 0 {
			continue
		}
		n, err := countConsoleUsers(ctx, db, id, ConsoleSystem, "")
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("account %s: %w", id, ErrLastConsoleAdmin)
		}
	}
	return nil
}

// countConsoleUsers counts the account's active users assigned system,
// leaving out exceptUserID.
func countConsoleUsers(ctx context.Context, db bun.IDB, accountID, system, exceptUserID string) (int, error) {
	n, err := db.NewSelect().Model((*User)(nil)).
		Where("?TableAlias.account_id = ? AND ?TableAlias.status = ? AND ?TableAlias.id <> ?", accountID, UserActive, exceptUserID).
		Where(`EXISTS (SELECT 1 FROM assignments AS a JOIN systems AS s ON s.id = a.system_id
			WHERE a.user_id = ?TableAlias.id AND s.account_id = ?TableAlias.account_id AND s.name = ?)`, system).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users of %s: %w", system, err)
	}
	return int(n), nil
}
