// Package secret owns flexauth's cryptographic primitives: one-time secrets
// (link tokens, PINs, API keys) drawn from crypto/rand, keyed digests that
// stand in for secrets wherever they must be stored or compared (workflow
// history, the attempt read model), and authenticated encryption for secrets
// that must be recovered (TOTP seeds, a challenge awaiting delivery).
//
// It must not log, persist or cache anything: callers decide where digests
// and sealed values live. The one file it touches is the master key of
// `flexauth dev` (LoadOrCreateMasterKey), which it refuses to read when
// anyone but its owner could.
package secret
