package embedtemporal

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.temporal.io/server/common/config"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver Temporal's plugin also uses
)

// schemaSentinel is the last object Temporal's SQLite schema creates (a
// trigger of the visibility schema, v1.32). Its presence tells a complete
// schema from one whose creation was interrupted.
const schemaSentinel = "executions_visibility_au"

// ensureSchema creates Temporal's schema in a new database file, accepts a
// file that holds the complete schema, and refuses a partial one.
func ensureSchema(sqlCfg *config.SQL) error {
	path := sqlCfg.DatabaseName
	objects, complete, err := inspectSchema(path)
	if err != nil {
		return err
	}
	switch {
	case complete:
		return nil
	case objects == 0:
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return fmt.Errorf("create temporal schema in %s: %w", path, err)
		}
		return nil
	default:
		return fmt.Errorf("database %s holds an incomplete temporal schema (was its first start interrupted?): remove it to start afresh", path)
	}
}

// inspectSchema counts the schema objects in the file at path (0 when there
// is no file) and says whether the sentinel is among them.
func inspectSchema(path string) (objects int, complete bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("inspect database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		return 0, false, fmt.Errorf("open database %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()

	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&objects); err != nil {
		return 0, false, fmt.Errorf("inspect database %s: %w", path, err)
	}
	var sentinels int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?`, schemaSentinel).Scan(&sentinels); err != nil {
		return 0, false, fmt.Errorf("inspect database %s: %w", path, err)
	}
	return objects, sentinels == 1, nil
}

// prepareDirectory creates the folder that will hold the database file.
func prepareDirectory(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	return nil
}
