package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// MigrateUntil applies the migrations up to and including name, as an
// earlier flexauth would have, so that a test can fill the old schema and
// check what the later migrations do to its rows.
func (s *Store) MigrateUntil(ctx context.Context, name string) error {
	some := migrate.NewMigrations()
	for _, m := range migrations(s.postgres).Sorted() {
		if m.Name <= name {
			some.Add(m)
		}
	}
	m := migrate.NewMigrator(s.root, some)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate until %s: %w", name, err)
	}
	return nil
}

// ExplainLoginsByMethod returns the database's plan for LoginsByMethod's
// query. On PostgreSQL, sequential scans are priced out first, so that the
// plan shows which index a large table would use rather than what a few
// test rows make cheapest.
func (s *Store) ExplainLoginsByMethod(ctx context.Context, accountID, authid string) (string, error) {
	inner := s.loginsWindow(accountID, authid)
	query := s.db.NewSelect().TableExpr("(?) AS latest", inner).
		ColumnExpr("method, logins, last_login_at, last_ip").Where("rn = 1").OrderExpr("method").String()
	var lines []string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		explain := "EXPLAIN QUERY PLAN "
		if s.postgres {
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			explain = "EXPLAIN "
		}
		rows, err := tx.QueryContext(ctx, explain+query)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		return rows.Err()
	})
	return strings.Join(lines, "\n"), err
}

// PrepareAll prepares every statement of preparedStatements now, as their
// first calls outside a transaction would: a test then runs them prepared
// within transactions too, not by the first call's fallback.
func (s *Store) PrepareAll(ctx context.Context) error {
	for _, st := range s.prepared.all {
		if _, err := st.prepared(ctx, s.root.DB); err != nil {
			return err
		}
	}
	return nil
}
