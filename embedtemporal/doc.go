// Package embedtemporal runs a complete Temporal server (frontend, history,
// matching and worker services) inside the current process, persisted to one
// SQLite file, for `flexauth dev`.
//
// Unlike go.temporal.io/server/temporaltest, which is in memory, state lives
// in Config.DatabasePath: workflows started before a Stop, or before the
// process was killed with SIGKILL, carry on after the next Start on the same
// file. The file is opened in WAL mode with synchronous=NORMAL, which keeps
// every committed transaction across a process crash (only an operating
// system crash or power loss may drop the last ones). The schema is created
// on the first Start; the namespace is registered when missing and kept
// (same ID) afterwards. An advisory lock on "<db>.lock" keeps a second server
// off the same file; the kernel releases it when the process dies.
//
// Ports: the frontend listens on Config.Addr or, when empty, on a free port of
// 127.0.0.1 chosen at each Start; the other services take free loopback ports
// at each Start. Ports are picked below 32768: outside the kernel's ephemeral
// range, which outgoing connections draw from, and small enough for the
// PostgreSQL schema's smallint columns. No port is kept beside the database, because none needs to
// be: Temporal stores the frontend address in the cluster metadata but
// overwrites it when the configured one differs. What does break a restart is
// the membership table: every service records its address there, and a new
// start tries to join the members seen in the last 20 s, all dead after a
// Stop or a kill, which stalls it for 30 s and more. Start therefore empties
// that table before starting (the lock proves no live server is in it).
// Metrics and pprof are off.
//
// Temporal's own logs go to Config.Logger at warn level and above. Temporal
// calls Fatal only where it cannot go on; as with its own logger, that exits
// the process.
//
// StartPostgres runs the same server on PostgreSQL instead (the postgres12_pgx
// plugin, Temporal's schema created and upgraded with its own schema tool as
// temporalio/auto-setup does), for tests and benchmarks of the production
// topology; there an advisory lock stands in for the file lock.
//
// This package owns the server's lifecycle only: it registers no workflows,
// runs no worker and hands out no client; callers dial HostPort with the SDK.
// One history shard on one SQLite connection is fine for development, not for
// load: production uses a real Temporal cluster.
package embedtemporal
