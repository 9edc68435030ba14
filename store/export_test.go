package store

import (
	"context"
	"fmt"

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
	m := migrate.NewMigrator(s.db, some)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate until %s: %w", name, err)
	}
	return nil
}
