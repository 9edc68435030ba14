package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// CreateSystem inserts a system with its audit events; ErrConflict when the
// name is taken.
func (s *Store) CreateSystem(ctx context.Context, sys *System, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		_, err := db.NewInsert().Model(sys).Exec(ctx)
		return conflict(err, "system "+sys.Name)
	})
}

// ListSystems returns the account's systems by name.
func (s *Store) ListSystems(ctx context.Context, accountID string) ([]System, error) {
	systems := []System{}
	err := s.db.NewSelect().Model(&systems).Where("account_id = ?", accountID).Order("name").Scan(ctx)
	if err != nil {
		return nil, notFound(err, "systems")
	}
	return systems, nil
}

// systemSQL is GetSystem's statement (see preparedStatements), with ? for
// the account's ID and the name.
func systemSQL(db *bun.DB) string {
	return db.NewSelect().Model((*System)(nil)).Where("account_id = ? AND name = ?", bun.Safe("?"), bun.Safe("?")).String()
}

// GetSystem loads a system by name.
func (s *Store) GetSystem(ctx context.Context, accountID, name string) (System, error) {
	var sys System
	err := s.scanPrepared(ctx, &s.prepared.system, []any{accountID, name}, &sys)
	if err != nil {
		return System{}, notFound(err, "system "+name)
	}
	return sys, nil
}

// UpdateSystem saves a system's settings with their audit events.
func (s *Store) UpdateSystem(ctx context.Context, sys *System, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewUpdate().Model(sys).
			Column("methods", "sensitivity", "ttl_seconds", "return_url", "updated_at").
			WherePK().Exec(ctx)
		return affected(res, err, "system "+sys.Name)
	})
}

// DeleteSystem removes a system and, by cascade, its assignments, and its
// message templates (kept by name, so that a new system of the same name
// does not inherit them). Methods that a system drops are pruned from
// assignments by the caller through PruneAssignments.
func (s *Store) DeleteSystem(ctx context.Context, accountID, name string, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) error {
		res, err := db.NewDelete().Model((*System)(nil)).
			Where("account_id = ? AND name = ?", accountID, name).Exec(ctx)
		if err := affected(res, err, "system "+name); err != nil {
			return err
		}
		_, err = db.NewDelete().Model((*MessageTemplate)(nil)).
			Where("account_id = ? AND system = ?", accountID, name).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete message templates of system %s: %w", name, err)
		}
		return nil
	})
}

// AssignmentsUsingOtherMethods counts assignments of the system whose method
// is not in methods, so an admin cannot silently strand users.
func (s *Store) AssignmentsUsingOtherMethods(ctx context.Context, systemID string, methods []string) (int64, error) {
	q := s.db.NewSelect().Model((*Assignment)(nil)).Where("system_id = ?", systemID)
	if len(methods) > 0 {
		q = q.Where("method NOT IN (?)", bun.List(methods))
	}
	n, err := q.Count(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(err, "assignments")
	}
	return n, nil
}
