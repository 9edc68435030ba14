// Package workflows holds the attempt workflow: one Temporal workflow
// execution per authentication attempt, which alone decides the attempt's
// outcome (authenticated, expired, locked, denied); and the credential link
// workflow, which delivers one welcome (later reset or verification) link.
//
// Workflow code is deterministic: no I/O, clocks, randomness or goroutines
// of its own. Every effect (store, policy, plugins, audit) is an activity in
// package activities; secrets appear here only as keyed digests.
//
// An attempt of the current shape (ShapeLean) costs two workflow tasks
// when it is answered at the first try: the first runs Begin and the
// delivery as local activities and answers the start's update; the second
// takes the submission, checks it and completes. Attempts keep the shape
// they started with (AttemptInput.Shape), so a deployment never replays a
// running attempt against commands it did not record.
package workflows
