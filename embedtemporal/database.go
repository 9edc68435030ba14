package embedtemporal

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.temporal.io/server/common/config"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver Temporal's plugin also uses
)

// schemaSentinel is the last object Temporal's SQLite schema creates (a
// trigger of the visibility schema, v1.32). Its presence tells a complete
// schema from one whose creation was interrupted.
const schemaSentinel = "executions_visibility_au"

// prepareDatabase readies the file for a server that holds its lock: it
// creates Temporal's schema in a new file, refuses a partial
// schema, and forgets the cluster members of earlier runs.
//
// Why the last step: every service records its membership address in the
// database and, at start, joins the members that heartbeated in the last 20
// seconds. After a stop or a kill those are dead addresses (all ports but the
// frontend's change at each start), and joining them stalls the start for
// 30 s or more. The lock proves no other server uses the file, so every row
// is stale.
func prepareDatabase(sqlCfg *config.SQL) error {
	path := sqlCfg.DatabaseName
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return createSchema(sqlCfg)
	} else if err != nil {
		return fmt.Errorf("inspect database %s: %w", path, err)
	}

	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()

	var objects, sentinels int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&objects); err != nil {
		return fmt.Errorf("inspect database %s: %w", path, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?`, schemaSentinel).Scan(&sentinels); err != nil {
		return fmt.Errorf("inspect database %s: %w", path, err)
	}
	switch {
	case objects == 0: // an empty file, e.g. made by touch
		return createSchema(sqlCfg)
	case sentinels == 0:
		return fmt.Errorf("database %s holds an incomplete temporal schema (was its first start interrupted?): remove it to start afresh", path)
	}
	if _, err := db.Exec(`DELETE FROM cluster_membership`); err != nil {
		return fmt.Errorf("forget cluster members of earlier runs in %s: %w", path, err)
	}
	return nil
}

func createSchema(sqlCfg *config.SQL) error {
	if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
		return fmt.Errorf("create temporal schema in %s: %w", sqlCfg.DatabaseName, err)
	}
	return nil
}
