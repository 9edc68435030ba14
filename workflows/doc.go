// Package workflows holds the attempt workflow: one Temporal workflow
// execution per authentication attempt, which alone decides the attempt's
// outcome (authenticated, expired, locked, denied); and the credential link
// workflow, which delivers one welcome (later reset or verification) link.
//
// Workflow code is deterministic: no I/O, clocks, randomness or goroutines
// of its own. Every effect (store, policy, plugins, audit) is an activity in
// package activities; secrets appear here only as keyed digests.
package workflows
