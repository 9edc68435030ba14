// Package pgtest gives tests (and benchmarks) throw-away PostgreSQL databases: one server per
// test binary (the one named by FLEXAUTH_TEST_DATABASE_URL, or a cluster it
// makes with the system's initdb and pg_ctl), and a fresh, empty database per
// test, dropped when the test ends.
//
// A cluster it makes lives in a temporary folder, listens on a free port of
// 127.0.0.1 and a socket in that folder, trusts every local connection and
// runs with fsync off: for tests only, never for data worth keeping. When the
// test binary runs as root, initdb and postgres (which refuse root) run as
// the postgres user. A watchdog process stops the cluster and removes the
// folder if the test binary dies without calling Stop.
//
// It owns no schema: callers migrate the databases they get.
package pgtest
