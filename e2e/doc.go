// Package e2e drives flexauth end to end through HTTP with every part real:
// a Temporal server (temporaltest), PostgreSQL (a throw-away cluster or
// FLEXAUTH_TEST_DATABASE_URL), the outbox delivery plugin in its own
// process, the default Rego policy and the Gin API. It holds tests only.
package e2e
