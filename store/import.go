package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"
)

// importBatch is how many rows one INSERT or DELETE of an import carries:
// 10 000 users in one statement would make a query of megabytes.
const importBatch = 500

// ImportedUser is one user an import creates or changes.
type ImportedUser struct {
	// User is the whole new user when Create is set; otherwise its ID and
	// the profile (name, email, phone, status, updated_at) to save.
	User        User
	Create      bool
	SaveProfile bool
	// ReplaceAssignments replaces all the user's assignments with
	// Assignments (none when empty).
	ReplaceAssignments bool
	Assignments        []Assignment
}

// ApplyImport creates and updates an account's users and replaces their
// assignments, with events, in one transaction: every change or none.
// ErrConflict when a user to create exists, ErrNotFound when one to update
// is gone: the account changed since the caller compared the file with it.
// Users not listed are left alone.
func (s *Store) ApplyImport(ctx context.Context, accountID string, users []ImportedUser, events ...AuditEvent) error {
	var created []User
	var replaced []string // user IDs
	var assignments []Assignment
	for _, iu := range users {
		if iu.User.AccountID != accountID {
			return fmt.Errorf("import user %q: belongs to account %q, not %q", iu.User.AuthID, iu.User.AccountID, accountID)
		}
		if iu.Create {
			created = append(created, iu.User)
		}
		if iu.ReplaceAssignments {
			replaced = append(replaced, iu.User.ID)
			assignments = append(assignments, iu.Assignments...)
		}
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for batch := range slices.Chunk(created, importBatch) {
			if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
				return conflict(err, "imported users")
			}
		}
		for _, iu := range users {
			if iu.Create || !iu.SaveProfile {
				continue
			}
			res, err := tx.NewUpdate().Model(&iu.User).
				Column("name", "email", "phone", "status", "updated_at").
				WherePK().Where("account_id = ?", accountID).Exec(ctx)
			if err := affected(res, err, "user "+iu.User.AuthID); err != nil {
				return err
			}
		}
		for batch := range slices.Chunk(replaced, importBatch) {
			if _, err := tx.NewDelete().Model((*Assignment)(nil)).Where("user_id IN (?)", bun.In(batch)).Exec(ctx); err != nil {
				return fmt.Errorf("clear imported users' assignments: %w", err)
			}
		}
		for batch := range slices.Chunk(assignments, importBatch) {
			if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
				return conflict(err, "imported assignments")
			}
		}
		// Two events per user may be 20 000: in batches too.
		for batch := range slices.Chunk(events, importBatch) {
			if err := appendAudit(ctx, tx, batch); err != nil {
				return err
			}
		}
		return nil
	})
}

// UserAssignment is one assignment of an account, for listing them all at
// once.
type UserAssignment struct {
	UserID string `bun:"user_id"`
	System string `bun:"system"`
	Method string `bun:"method"`
}

// ListAccountAssignments returns every assignment of the account's users
// by user and system name: one query instead of one per user.
func (s *Store) ListAccountAssignments(ctx context.Context, accountID string) ([]UserAssignment, error) {
	out := []UserAssignment{}
	err := s.db.NewSelect().
		TableExpr("assignments AS a").
		Join("JOIN systems AS s ON s.id = a.system_id").
		ColumnExpr("a.user_id AS user_id, s.name AS system, a.method AS method").
		Where("s.account_id = ?", accountID).
		OrderExpr("a.user_id, s.name").
		Scan(ctx, &out)
	if err != nil {
		return nil, notFound(err, "account assignments")
	}
	return out, nil
}
