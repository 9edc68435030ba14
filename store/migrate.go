package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migrations are plain SQL written once for both dialects; the few type
// names that differ are placeholders. Never edit a released migration: add
// a new one.
func migrations(postgres bool) *migrate.Migrations {
	types := strings.NewReplacer(
		"{{time}}", pick(postgres, "timestamptz", "timestamp"),
		"{{bytes}}", pick(postgres, "bytea", "blob"),
		"{{json}}", pick(postgres, "jsonb", "text"),
		"{{serial}}", pick(postgres, "bigserial primary key", "integer primary key autoincrement"),
	)
	m := migrate.NewMigrations()
	m.Add(migrate.Migration{
		Name:    "20261123000001",
		Comment: "initial_schema",
		Up: func(ctx context.Context, mg *migrate.Migrator, _ *migrate.Migration) error {
			return mg.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return execAll(ctx, tx, types.Replace(initialSchema))
			})
		},
	})
	m.Add(migrate.Migration{
		Name:    "20261123000002",
		Comment: "attempt_rate_indexes",
		Up: func(ctx context.Context, mg *migrate.Migrator, _ *migrate.Migration) error {
			return mg.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return execAll(ctx, tx, attemptRateIndexes)
			})
		},
	})
	// Later schema steps, each in its own file next to the code it serves.
	for _, step := range []struct{ name, comment, script string }{
		{"20261123000003", "sso_sign_on", ssoSchema},
		{"20261123000004", "console_sessions_recovery_codes", consoleSchema},
		{"20261123000005", "account_policies", policySchema},
		{"20261123000006", "account_settings", accountSchema},
		{"20261130000001", "factor_lockouts_effects_recovery_digests", lockoutSchema},
		{"20261207000001", "email_password_switches_credential_links", passwordLoginSchema},
		{"20261210000001", "sign_in_methods_sso_profile", signInMethodsSchema},
		{"20261214000001", "credential_link_notices", resetSchema},
		{"20261214000002", "password_attempts_return_url", passwordAttemptSchema},
		{"20261221000001", "self_service_sessions_verification_notices", selfServiceSchema},
		{"20261228000001", "organisation_tree", organisationSchema},
		{"20261230000001", "message_templates", messageSchema},
		{"20261231000001", "start_counts", startCountSchema},
		{"20261231000002", "deleted_organisations", deletedOrganisationSchema},
	} {
		script := types.Replace(step.script)
		m.Add(migrate.Migration{
			Name:    step.name,
			Comment: step.comment,
			Up: func(ctx context.Context, mg *migrate.Migrator, _ *migrate.Migration) error {
				return mg.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					return execAll(ctx, tx, script)
				})
			},
		})
	}
	return m
}

// attemptRateIndexes serve the start rate limits: attempts per user and
// per account in a recent window.
const attemptRateIndexes = `
CREATE INDEX attempts_user_recent ON attempts (account_id, authid, started_at);
CREATE INDEX attempts_account_recent ON attempts (account_id, started_at)
`

func pick(postgres bool, pg, lite string) string {
	if postgres {
		return pg
	}
	return lite
}

func execAll(ctx context.Context, db bun.IDB, script string) error {
	for _, stmt := range strings.Split(script, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("exec %q: %w", firstLine(stmt), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

const initialSchema = `
CREATE TABLE accounts (
	id text PRIMARY KEY,
	name text NOT NULL,
	parent_id text REFERENCES accounts(id),
	created_at {{time}} NOT NULL
);
CREATE TABLE api_keys (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name text NOT NULL,
	scope text NOT NULL,
	hash text NOT NULL UNIQUE,
	created_at {{time}} NOT NULL,
	last_used_at {{time}},
	revoked_at {{time}}
);
CREATE TABLE systems (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name text NOT NULL,
	methods {{json}} NOT NULL,
	sensitivity text NOT NULL,
	ttl_seconds integer NOT NULL,
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE users (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	authid text NOT NULL,
	name text NOT NULL,
	email text NOT NULL,
	phone text NOT NULL,
	status text NOT NULL,
	totp_secret {{bytes}},
	totp_pending {{bytes}},
	totp_enabled boolean NOT NULL DEFAULT false,
	totp_last_step bigint NOT NULL DEFAULT 0,
	failed_count integer NOT NULL DEFAULT 0,
	last_failure_at {{time}},
	last_login_at {{time}},
	login_count integer NOT NULL DEFAULT 0,
	last_ip text NOT NULL DEFAULT '',
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL,
	UNIQUE (account_id, authid)
);
CREATE TABLE assignments (
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	system_id text NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
	method text NOT NULL,
	PRIMARY KEY (user_id, system_id)
);
CREATE TABLE user_ips (
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	ip text NOT NULL,
	first_seen {{time}} NOT NULL,
	last_seen {{time}} NOT NULL,
	PRIMARY KEY (user_id, ip)
);
CREATE TABLE attempts (
	id text PRIMARY KEY,
	account_id text NOT NULL,
	system text NOT NULL,
	authid text NOT NULL,
	workflow_id text NOT NULL,
	run_id text NOT NULL,
	state text NOT NULL,
	method text NOT NULL,
	link_digest text UNIQUE,
	challenge {{bytes}},
	ip text NOT NULL,
	user_agent text NOT NULL,
	started_at {{time}} NOT NULL,
	expires_at {{time}},
	completed_at {{time}},
	updated_at {{time}} NOT NULL
);
CREATE INDEX attempts_subject ON attempts (account_id, system, authid, started_at);
CREATE TABLE audit_events (
	id {{serial}},
	account_id text NOT NULL,
	at {{time}} NOT NULL,
	type text NOT NULL,
	system text NOT NULL,
	authid text NOT NULL,
	attempt_id text NOT NULL,
	ip text NOT NULL,
	reasons {{json}},
	detail {{json}}
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);
CREATE INDEX audit_events_authid ON audit_events (account_id, authid, id);
CREATE INDEX audit_events_attempt ON audit_events (attempt_id)
`

// migrateLockKey is the PostgreSQL advisory lock that serializes migrations
// ("flexmigr").
const migrateLockKey = 0x666c65786d696772

// Migrate brings the schema up to date. It is safe to run at every start and
// from several processes at once (every replica runs it when it starts): on
// PostgreSQL they wait in turn for an advisory lock, which the server
// releases with the session even when a process is killed mid-way; on
// SQLite bun/migrate's lock table serializes them.
func (s *Store) Migrate(ctx context.Context) error {
	if s.postgres {
		conn, err := s.root.Conn(ctx)
		if err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", int64(migrateLockKey)); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		//nolint:errcheck // closing the session releases the lock anyway
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", int64(migrateLockKey))
		return s.migrate(ctx, false)
	}
	return s.migrate(ctx, true)
}

// migrate creates bun/migrate's tables and applies what is missing, taking
// bun/migrate's lock table when lockTable.
func (s *Store) migrate(ctx context.Context, lockTable bool) error {
	m := migrate.NewMigrator(s.root, migrations(s.postgres))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if lockTable {
		if err := m.Lock(ctx); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer m.Unlock(ctx) //nolint:errcheck // unlock failure leaves a stale lock row that the next Lock reports
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
