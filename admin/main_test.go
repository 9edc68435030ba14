package admin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flexauth/flexauth/internal/pgtest"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/store"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }

// eachDatabase runs fn on a fresh migrated store of each dialect.
func eachDatabase(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for name, dsn := range map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "flexauth.db"),
		"postgres": cluster.NewDatabase(t),
	} {
		t.Run(name, func(t *testing.T) { fn(t, storetest.Open(t, dsn)) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
