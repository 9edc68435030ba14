// Package workflows holds the attempt workflow: one Temporal workflow
// execution per authentication attempt, which alone decides the attempt's
// outcome (authenticated, expired, locked, denied); and the credential link
// workflow, which delivers one welcome (later reset or verification) link.
//
// Workflow code is deterministic: no I/O, clocks, randomness or goroutines
// of its own. Every effect (store, policy, plugins, audit) is an activity in
// package activities; secrets appear here only as keyed digests.
//
// Attempts keep the shape they started with (AttemptInput.Shape), so a
// deployment never replays a running attempt against commands it did not
// record. The shapes, for a PIN sign-in answered at the first try:
//
//   - 0, the original: Begin as a local activity, the delivery as a regular
//     activity, codes checked under a version marker, Finish, the expiry
//     timer cancelled at the end.
//   - ShapeLean: two workflow tasks, 17 history events. The first runs Begin
//     and IssueChallenge as local activities (the delivery goes on as a
//     regular activity only when that fails) and answers the start's
//     update; the second takes the code, has it checked (CheckCode) and
//     the final state published (Finish), and completes. Three store
//     transactions (Begin, the check, Finish) and three statements outside
//     them (the delivery's read of the user, its challenge, its audit
//     event).
//   - ShapeCompact, the current one: the same two tasks, 16 events. The
//     first is the lean one's. The second runs CheckCode, whose
//     transaction also publishes the success (the state, the user's
//     login, the audit event) when the code is right: no Finish. Two
//     transactions and three statements outside them. Wrong codes,
//     lock-outs, expiry and denials still end with Finish. A right code's
//     success is committed by its check: should the attempt expire in the
//     workflow while the code is checked, the expiry's Finish finds the
//     attempt ended and the workflow takes the check's outcome, so the
//     store and the workflow agree.
//
// The begin and the delivery stay two local activities: the start's update
// is answered once Begin has decided, while a slow mail server holds only
// the delivery (the workflow task is heartbeated past its timeout and the
// API answers within about four seconds; the message follows). Folding
// the delivery into the begin saved one event and one transaction but made
// the start wait for the whole delivery, up to the API's Temporal bound.
package workflows
