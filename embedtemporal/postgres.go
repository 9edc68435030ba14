package embedtemporal

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	postgresplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// PostgresConfig says where a server persisted to PostgreSQL keeps its
// state and where it listens.
type PostgresConfig struct {
	// DatabaseURL and VisibilityURL are postgres:// URLs of two existing
	// databases (Temporal's own and its visibility store, "temporal" and
	// "temporal_visibility" in temporalio/auto-setup). Only sslmode is
	// read from the query.
	DatabaseURL, VisibilityURL string
	// Addr, Namespace and Logger are as in Config.
	Addr      string
	Namespace string
	Logger    *slog.Logger
}

// Temporal's PostgreSQL schemas, embedded in go.temporal.io/server/schema:
// what `temporal-sql-tool setup-schema -v 0.0` then `update-schema -d
// schema/postgresql/v12/...` applies in temporalio/auto-setup.
const (
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
)

// postgresHistoryShards is temporalio/auto-setup's default. It is fixed
// when the database is first used and can never change.
const postgresHistoryShards = 4

// postgresLockKey is the advisory lock (in Temporal's database) that a
// running server holds, so that a second one refuses to start and the
// membership table can be emptied safely.
const postgresLockKey = 0x666c6578_74656d70 // "flextemp"

// StartPostgres is Start for a server persisted to PostgreSQL with the
// postgres12_pgx plugin, the way temporalio/auto-setup runs it in the
// compose file (DB=postgres12_pgx):
// it creates or upgrades Temporal's schemas in both databases with
// Temporal's own schema tool, registers the namespace when missing, starts
// every service in this process, and returns once the frontend answers.
//
// It is a one-node cluster: an advisory lock in the database keeps a second
// server off it, which makes it safe to forget the cluster members of
// earlier runs (see the package documentation) after a kill.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Server, error) {
	namespace := cfg.Namespace
	if namespace == "" {
		namespace = DefaultNamespace
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	serverLogger := newSlogLogger(logger, slog.LevelWarn)
	main, err := postgresSQLConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("start temporal: database: %w", err)
	}
	visibility, err := postgresSQLConfig(cfg.VisibilityURL)
	if err != nil {
		return nil, fmt.Errorf("start temporal: visibility database: %w", err)
	}
	eps, err := resolveEndpoints(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	unlock, err := lockPostgres(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	srv, err := func() (*Server, error) {
		if err := setupPostgresSchema(main, postgresSchema, serverLogger); err != nil {
			return nil, err
		}
		if err := setupPostgresSchema(visibility, postgresVisibilitySchema, serverLogger); err != nil {
			return nil, err
		}
		if err := dropVisibilityIndexes(visibility, serverLogger); err != nil {
			return nil, err
		}
		if err := forgetMembers(main, serverLogger); err != nil {
			return nil, err
		}
		ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
		if err != nil {
			return nil, fmt.Errorf("describe namespace %q: %w", namespace, err)
		}
		// Despite its package, CreateNamespaces writes through Temporal's
		// generic SQL persistence: the plugin is cfg's.
		if err := sqliteschema.CreateNamespaces(main, ns); err != nil {
			return nil, fmt.Errorf("register namespace %q: %w", namespace, err)
		}
		conf := clusterConfig(config.Persistence{
			DefaultStore:     "default",
			VisibilityStore:  "visibility",
			NumHistoryShards: postgresHistoryShards,
			DataStores: map[string]config.DataStore{
				"default":    {SQL: main},
				"visibility": {SQL: visibility},
			},
		}, eps)
		ts, err := newServer(conf, serverLogger)
		if err != nil {
			return nil, err
		}
		return &Server{server: ts, unlock: unlock, hostPort: eps.frontendHostPort(), namespace: namespace}, nil
	}()
	if err != nil {
		_ = unlock()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if err := waitReady(ctx, srv.hostPort, namespace); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	return srv, nil
}

// postgresSQLConfig turns a postgres:// URL into the plugin's settings.
func postgresSQLConfig(raw string) (*config.SQL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL") // the URL may hold a password: not echoed
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("want a postgres:// URL, not %s://", u.Scheme)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil, errors.New("the URL names no database")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	password, _ := u.User.Password()
	attrs := map[string]string{}
	if mode := u.Query().Get("sslmode"); mode != "" {
		attrs["sslmode"] = mode
	}
	return &config.SQL{
		// pgx, not lib/pq (postgres12): it caches prepared statements per
		// connection, so PostgreSQL parses and plans Temporal's few dozen
		// statements once instead of at every call (measured: PostgreSQL
		// CPU per sign-in ×0.72, Temporal's ×0.87).
		PluginName:        postgresplugin.PluginNamePGX,
		DatabaseName:      name,
		ConnectAddr:       net.JoinHostPort(u.Hostname(), port),
		ConnectProtocol:   "tcp",
		User:              u.User.Username(),
		Password:          password,
		ConnectAttributes: attrs,
		// temporalio/auto-setup's defaults (SQL_MAX_CONNS etc.).
		MaxConns:        20,
		MaxIdleConns:    20,
		MaxConnLifetime: time.Hour,
	}, nil
}

// setupPostgresSchema does what temporalio/auto-setup does at every start:
// `temporal-sql-tool setup-schema -v 0.0` (version tables; a no-op on a
// database set up already), then `update-schema` to the newest version
// embedded in this server.
func setupPostgresSchema(cfg *config.SQL, name string, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect to %s for schema %s: %w", cfg.DatabaseName, name, err)
	}
	defer conn.Close()
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("set up schema %s in %s: %w", name, cfg.DatabaseName, err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: cfg.DatabaseName, SchemaName: name}, logger).Run(); err != nil {
		return fmt.Errorf("update schema %s in %s: %w", name, cfg.DatabaseName, err)
	}
	return nil
}

// visibilityIndexes drops the visibility indexes flexauth's namespace
// never reads (the file says which and why); docker-compose.yml applies
// the same file.
//
//go:embed visibility-indexes.sql
var visibilityIndexes string

// visibilityIndexStatements returns the statements of
// visibility-indexes.sql, one DROP INDEX each.
func visibilityIndexStatements() []string {
	var out []string
	for line := range strings.Lines(visibilityIndexes) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			out = append(out, strings.TrimSuffix(line, ";"))
		}
	}
	return out
}

// dropVisibilityIndexes applies visibility-indexes.sql; each statement
// can run again, as it does at every start.
func dropVisibilityIndexes(cfg *config.SQL, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect to %s to drop unused visibility indexes: %w", cfg.DatabaseName, err)
	}
	defer conn.Close()
	for _, stmt := range visibilityIndexStatements() {
		if err := conn.Exec(stmt); err != nil {
			return fmt.Errorf("%s in %s: %w", stmt, cfg.DatabaseName, err)
		}
	}
	return nil
}

// forgetMembers empties the membership table (see the package
// documentation); the advisory lock proves no live server is in it.
func forgetMembers(cfg *config.SQL, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.DatabaseName, err)
	}
	defer conn.Close()
	if err := conn.Exec(`DELETE FROM cluster_membership`); err != nil {
		return fmt.Errorf("forget the cluster members of earlier runs: %w", err)
	}
	return nil
}

// lockPostgres takes the server's advisory lock on a connection of its
// own, held until the returned function runs or the process dies (the
// server then drops the connection and the lock with it).
func lockPostgres(ctx context.Context, dsn string) (func() error, error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(postgresLockKey)).Scan(&locked); err != nil {
		_ = conn.Close()
		_ = db.Close()
		return nil, fmt.Errorf("lock the database: %w", err)
	}
	if !locked {
		_ = conn.Close()
		_ = db.Close()
		return nil, errors.New("another temporal server uses this database")
	}
	return func() error {
		// Closing the connection releases the session's lock.
		return errors.Join(conn.Close(), db.Close())
	}, nil
}
