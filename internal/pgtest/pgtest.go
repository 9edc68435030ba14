package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// DatabaseURLEnv names the variable holding an admin DSN of an existing
// server to use instead of a throw-away cluster.
const DatabaseURLEnv = "FLEXAUTH_TEST_DATABASE_URL"

// Cluster is a PostgreSQL server used by one test binary.
type Cluster struct {
	adminDSN *url.URL
	admin    *sql.DB
	local    *localCluster // nil for an external server
}

// Start returns a cluster: the server named by FLEXAUTH_TEST_DATABASE_URL
// (an admin connection) when it is set, otherwise a throw-away cluster made
// with the system's initdb and pg_ctl in a temporary folder, listening on a
// free port of 127.0.0.1 only, with trust authentication and fsync off.
func Start() (*Cluster, error) {
	if dsn := os.Getenv(DatabaseURLEnv); dsn != "" {
		c, err := Connect(dsn)
		if err != nil {
			return nil, fmt.Errorf("use %s: %w", DatabaseURLEnv, err)
		}
		return c, nil
	}
	return StartLocal()
}

// StartLocal makes and starts a throw-away cluster whatever
// FLEXAUTH_TEST_DATABASE_URL says: a benchmark that measures the server's
// CPU wants one that serves it alone.
func StartLocal() (*Cluster, error) {
	local, err := startLocal()
	if err != nil {
		return nil, fmt.Errorf("start throw-away postgres: %w", err)
	}
	c, err := Connect(local.dsn())
	if err != nil {
		local.stop()
		return nil, fmt.Errorf("start throw-away postgres: %w", err)
	}
	c.local = local
	return c, nil
}

// Connect uses the existing server of dsn, an admin connection.
func Connect(dsn string) (*Cluster, error) {
	return connect(dsn)
}

// AdminDSN is the admin connection's DSN.
func (c *Cluster) AdminDSN() string { return c.adminDSN.String() }

// PostmasterPID is the server's main process when this package started
// it; ok is false for an external server.
func (c *Cluster) PostmasterPID() (pid int, ok bool, err error) {
	if c.local == nil {
		return 0, false, nil
	}
	pid, err = c.local.postmasterPID()
	return pid, err == nil, err
}

// connect opens and pings the admin connection.
func connect(dsn string) (*Cluster, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse's error quotes the DSN, password included.
		return nil, errors.New("parse dsn: not a URL")
	}
	db, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	return &Cluster{adminDSN: u, admin: db}, nil
}

// openDB turns pgdriver's panic on a malformed DSN into an error.
func openDB(dsn string) (db *sql.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parse dsn: %v", r)
		}
	}()
	return sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn))), nil
}

// NewDatabase creates a fresh empty database with a random name and returns
// its DSN; the database is dropped, with any connections left open to it,
// when t's test ends.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name, dsn, err := c.CreateDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.DropDatabase(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

// CreateDatabase creates a fresh empty database with a random name and
// returns its name and DSN; DropDatabase drops it.
func (c *Cluster) CreateDatabase() (name, dsn string, err error) {
	name = "pgtest_" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	u := *c.adminDSN
	u.Path = "/" + name
	u.RawPath = ""
	return name, u.String(), nil
}

// DropDatabase drops the database name with any connections left open to
// it.
func (c *Cluster) DropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// FORCE (PostgreSQL 13+) ends the connections a test left open.
	if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Stop closes the admin connection and, for a cluster this package started,
// stops it (pg_ctl stop -m immediate) and removes its folder. Errors are
// ignored: there is nothing a finished test binary could do about them.
func (c *Cluster) Stop() {
	_ = c.admin.Close()
	if c.local != nil {
		c.local.stop()
	}
}

// Main is a TestMain helper: it starts a cluster into *c, runs the tests,
// stops the cluster and returns the exit code for os.Exit.
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }
func Main(m *testing.M, c **Cluster) int {
	cluster, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	defer cluster.Stop()
	*c = cluster
	return m.Run()
}

func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
