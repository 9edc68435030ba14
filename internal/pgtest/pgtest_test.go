package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// externalDSN is the server that CI or a developer may already run.
const externalDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func TestOwnClusterGivesIsolatedDatabases(t *testing.T) {
	t.Setenv(DatabaseURLEnv, "")
	began := time.Now()
	c, err := Start()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Logf("own cluster on %s started in %s", c.adminDSN.Host, time.Since(began))
	if c.local == nil {
		t.Fatal("no local cluster started with the variable unset")
	}
	dir := c.local.dir

	checkIsolatedDatabases(t, c)

	began = time.Now()
	c.Stop()
	t.Logf("stopped in %s", time.Since(began))
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("folder %s still there after Stop (stat: %v)", dir, err)
	}
	if conn, err := net.DialTimeout("tcp", c.adminDSN.Host, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("server still listens on %s after Stop", c.adminDSN.Host)
	}
}

func TestExternalServerGivesIsolatedDatabases(t *testing.T) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		t.Skipf("nothing listens on 127.0.0.1:5432, so the external-server case is not run (%v)", err)
	}
	_ = conn.Close()
	t.Setenv(DatabaseURLEnv, externalDSN)

	c, err := Start()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer c.Stop()
	if c.local != nil {
		t.Fatal("a local cluster was started although the variable names a server")
	}
	checkIsolatedDatabases(t, c)
}

// checkIsolatedDatabases makes two databases in a subtest, checks they work
// and do not see each other, and checks both are gone once it ends.
func checkIsolatedDatabases(t *testing.T, c *Cluster) {
	t.Helper()
	var names []string
	t.Run("databases", func(t *testing.T) {
		first, second := c.NewDatabase(t), c.NewDatabase(t)
		if first == second {
			t.Fatalf("two calls gave the same DSN %s", first)
		}
		for _, dsn := range []string{first, second} {
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatalf("parse dsn %s: %v", dsn, err)
			}
			if u.Query().Get("sslmode") != "disable" {
				t.Errorf("dsn %s lacks sslmode=disable", dsn)
			}
			names = append(names, strings.TrimPrefix(u.Path, "/"))
		}

		db1, db2 := open(t, first), open(t, second)
		mustExec(t, db1, `CREATE TABLE widgets (name text)`)
		mustExec(t, db1, `INSERT INTO widgets VALUES ('one')`)
		var name string
		if err := db1.QueryRow(`SELECT name FROM widgets`).Scan(&name); err != nil || name != "one" {
			t.Errorf("read back from first database: %q, %v", name, err)
		}
		var visible bool
		if err := db2.QueryRow(`SELECT to_regclass('widgets') IS NOT NULL`).Scan(&visible); err != nil {
			t.Fatalf("look for widgets in second database: %v", err)
		}
		if visible {
			t.Error("second database sees the first one's table")
		}
		// db1 and db2 stay open: the drop must cope with connections a
		// test forgot to close.
	})

	for _, name := range names {
		var exists bool
		if err := c.admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			t.Fatalf("look for database %s: %v", name, err)
		}
		if exists {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestMissingInitdbSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findBinDir("/nonexistent/*/bin")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Errorf("err = %v, want advice to apt-get install -y postgresql", err)
	}
}

func TestBadExternalURLIsAnError(t *testing.T) {
	for _, dsn := range []string{"postgres://postgres:secret@127.0.0.1:1/postgres?sslmode=disable", "postgres://x?sslmode=bogus"} {
		t.Setenv(DatabaseURLEnv, dsn)
		_, err := Start()
		if err == nil {
			t.Errorf("Start with %s succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestVersionsSortNumerically(t *testing.T) {
	if compareVersions("9.6", "15") >= 0 || compareVersions("15", "15") != 0 || compareVersions("16", "15") <= 0 {
		t.Error("versions do not sort numerically")
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := openDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
