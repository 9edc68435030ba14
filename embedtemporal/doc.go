// Package embedtemporal runs a complete Temporal server (frontend, history,
// matching and worker services) inside the current process, persisted to one
// SQLite file, for `flexauth dev`.
//
// Unlike go.temporal.io/server/temporaltest, which is in memory, state lives
// in Config.DatabasePath: workflows started before a stop, or before the
// process was killed with SIGKILL, carry on after the next Start on the same
// file. The file is opened in WAL mode with synchronous=NORMAL, which keeps
// every committed transaction across a process crash (only an operating
// system crash or power loss may drop the last ones). The schema is created
// on the first Start; the namespace is registered when missing.
//
// Ports: the frontend listens on Config.Addr or, when empty, on a free port of
// 127.0.0.1 chosen at each Start. The other services use free loopback ports
// chosen at each Start. Temporal records the frontend address in the cluster
// metadata of the database, but it overwrites that record when the configured
// address changes, so a restart on another port works and no port is kept
// beside the database. Metrics and pprof are off.
//
// Temporal's own logs go to Config.Logger at warn level and above.
//
// This package owns the server's lifecycle only: it registers no workflows,
// runs no worker and hands out no client; callers dial HostPort with the SDK.
// One history shard on one SQLite connection is fine for development, not for
// load: production uses a real Temporal cluster.
package embedtemporal
