// Package store owns flexauth's persistent state through bun: accounts, API
// keys, systems, users, assignments, credential links, the attempt read
// model and the audit trail, on PostgreSQL (pgdialect) in production and SQLite for `flexauth dev`.
//
// It holds no business rules: which method a user may use, whether a code is
// right, or what an attempt's state should be are decided by its callers (the
// workflow through activities, the admin API, package admin). The one
// invariant it keeps itself, like a constraint, is that an account with an
// active console administrator keeps one (console_admins.go): only inside
// the write transaction can two administrators removing each other at once
// not both pass. Secrets arrive here only hashed or sealed.
package store
