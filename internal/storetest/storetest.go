// Package storetest opens throw-away stores for tests.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/flexauth/flexauth/store"
)

// SQLite returns a migrated store on a SQLite file in t's temporary
// folder, closed when the test ends.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "flexauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
