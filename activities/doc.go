// Package activities holds every effect of the attempt workflow and of the
// credential link workflow: store reads and writes, policy evaluation,
// secret generation, plugin delivery and the audit trail. The workflows
// call them through a nil *Activities.
//
// Activities are idempotent (Temporal retries them) and never return a
// secret in clear: what they hand back to the workflow, and so to its
// history, is a keyed digest.
package activities
