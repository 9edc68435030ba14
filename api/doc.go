// Package api is flexauth's HTTP surface, built on Gin: the app API that
// applications call (POST /v1/start, POST /v1/check, wire-compatible with
// FlexSecure), the admin API (/v1/admin/...), the end-user link pages
// (/l/<token>) and welcome pages (/w/<token>, where a user creates a
// password), /openapi.json and /healthz.
//
// It owns the mapping from errors and attempt states to HTTP statuses and
// bodies, and nothing else: it never decides an attempt's outcome. Starting
// an attempt and submitting a code or a link go to the attempt workflow as
// Temporal updates (attempts.go); check answers from the attempt read model
// in the store, never by querying the workflow. Credential links (welcome
// links) are requested in the store and their delivery workflows started
// after the commit (credential_links.go). Secrets (PINs, TOTP codes, link
// tokens, passwords) are reduced to keyed digests or hashes before they
// leave a handler, and never appear in logs.
//
// In front of every handler: the Host check (hosts.go: only the configured
// names are served, against DNS rebinding) and, on the routes anyone can
// call, per-client-IP limits (ratelimit.go) that refuse before any work.
package api
