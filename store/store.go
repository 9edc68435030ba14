package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/flexauth/flexauth/internal/fileperm"
)

// Sentinel errors; api/ maps them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// postgresMaxConns bounds each process's PostgreSQL pool. A request holds
// a connection for a query or a short transaction, so a handful serves
// thousands of polls a second; waiting for one is bounded by the
// request's context.
const postgresMaxConns = 10

// Store is flexauth's persistence. It is safe for concurrent use.
type Store struct {
	root *bun.DB
	// db is root, or a transaction for a Store that reads and writes
	// within one (see BeginAttempt).
	db       bun.IDB
	postgres bool
	prepared *preparedStatements // shared with the Store's transactions
}

// Open connects to dsn: a postgres:// URL selects PostgreSQL, anything else
// is a SQLite file path. A SQLite file, its -wal and -shm are created (or
// tightened to) mode 0600: they hold users' personal data and sealed
// secrets. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	st, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if o.tracer != nil {
		// A copy of the handle with the hook, sharing its connection pool;
		// nothing has used the Store yet.
		st.root = st.root.WithQueryHook(newQueryTracer(o.tracer, st.postgres))
		st.db = st.root
	}
	return st, nil
}

// postgresConnector is pgdriver's connector for dsn. pgdriver panics on a
// URL it cannot read, and Go's URL errors quote the whole URL, password
// included (a password with "/" — as base64 keys have — or "?" breaks the
// URL): that would print the password in the logs. The error here names
// neither.
func postgresConnector(dsn string) (c *pgdriver.Connector, err error) {
	if _, perr := url.Parse(dsn); perr != nil {
		return nil, errors.New("read the database URL: it is not a valid URL (percent-encode any /, ?, #, @ or % in the user name or password)")
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, errors.New("read the database URL: the PostgreSQL driver refused it (check its parameters, such as sslmode)")
		}
	}()
	return pgdriver.NewConnector(pgdriver.WithDSN(dsn)), nil
}

func open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		connector, err := postgresConnector(dsn)
		if err != nil {
			return nil, err
		}
		sqldb := sql.OpenDB(connector)
		// database/sql keeps only 2 idle connections by default: under
		// load every further request opened and closed a PostgreSQL
		// backend (a fork and an authentication each time, which was
		// half of PostgreSQL's CPU per sign-in). Keep as many idle as
		// may be open, bounded so that a few replicas and Temporal stay
		// within PostgreSQL's default 100 connections; recycle them
		// slowly so that a failover or a changed password is picked up.
		sqldb.SetMaxOpenConns(postgresMaxConns)
		sqldb.SetMaxIdleConns(postgresMaxConns)
		sqldb.SetConnMaxIdleTime(10 * time.Minute)
		sqldb.SetConnMaxLifetime(time.Hour)
		db := bun.NewDB(sqldb, pgdialect.New())
		if err := db.PingContext(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("connect to postgres: %w", err), db.Close())
		}
		return &Store{root: db, db: db, postgres: true, prepared: newPreparedStatements(db, true)}, nil
	}
	if path, ok := sqliteFile(dsn); ok {
		if err := fileperm.PrivateSQLite(path); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
	}
	// WAL lets readers (check polls) proceed while a writer commits;
	// busy_timeout makes writers queue instead of failing with SQLITE_BUSY.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	full := "file:" + strings.TrimPrefix(dsn, "file:") + sep +
		"_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	// One writer at a time is all SQLite allows; a small pool keeps reads
	// concurrent without piling up writers.
	sqldb.SetMaxOpenConns(4)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite %s: %w", dsn, err), db.Close())
	}
	return &Store{root: db, db: db, prepared: newPreparedStatements(db, false)}, nil
}

// sqliteFile is the file a SQLite dsn names ("path", "file:path?query"),
// or false for an in-memory database.
func sqliteFile(dsn string) (string, bool) {
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return "", false
	}
	return path, true
}

// DB exposes the bun handle for migrations and tests.
func (s *Store) DB() *bun.DB { return s.root }

// Ping reports whether the database answers (readiness probes).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.root.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	return errors.Join(s.prepared.close(), s.root.Close())
}

// notFound turns sql.ErrNoRows into ErrNotFound, naming what was looked up.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("load %s: %w", what, err)
}

// conflict turns a unique-constraint violation into ErrConflict.
func conflict(err error, what string) error {
	if err == nil {
		return nil
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) && pgErr.Field('C') == "23505" {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return fmt.Errorf("save %s: %w", what, err)
}
