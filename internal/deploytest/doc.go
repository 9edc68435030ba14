// Package deploytest runs one flexauth deployment inside a test, as the
// api and e2e suites drive it: a Temporal test server, the worker started
// by worker.Start with the options production starts it with, the API
// behind httptest, the caller's store and delivery plugins, and an account
// with an app key and an admin key.
//
// It owns what the suites share; each suite keeps a thin harness of its own
// around a Deployment (the api suite records deliveries in memory on
// SQLite, the e2e suite runs real plugin processes on PostgreSQL). It must
// not hold suite-specific helpers, nor start anything production does not
// start the same way.
package deploytest
