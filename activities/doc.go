// Package activities holds every effect of the attempt workflow and of the
// credential link workflow: store reads and writes, policy evaluation,
// secret generation, plugin delivery and the audit trail. The workflows
// call them through a nil *Activities.
//
// What the API shares with them lives elsewhere, so that the API never
// imports this package: the attempt's vocabulary (methods, digests, paths,
// the sealed sign-on request, TOTP parameters, event types) in package
// attempt, the start limits and the policy input in package admission.
//
// Activities never return a secret in clear: what they hand back to the
// workflow, and so to its history, is a keyed digest.
//
// Temporal runs an activity again after a failure or a lost answer, and
// each activity is written for it, but not all in the same way:
//
//   - Keyed effects answer a second run as the first. Begin records its
//     verdict with the attempt (effect "begin"); a run after the verdict
//     was published answers from it and changes nothing. A run that failed
//     before publishing (with a directory plugin the attempt is recorded,
//     and the subject's other attempts superseded, in a transaction of its
//     own before the plugin call) leaves no verdict, and the next run
//     decides afresh, at its own time. CheckCode, CheckPassword,
//     ConfirmEnrolment, RecoverByEmail and RecordFailure are keyed by the
//     workflow update that carries the submission: a code is counted and
//     spent once.
//   - Final states are taken once: Finish changes only a pending attempt,
//     FailCredentialLink only a link not used or voided meanwhile.
//   - Deliveries are at least once: IssueChallenge and
//     DeliverCredentialLink keep the drawn secret sealed so that a retry
//     sends the same one under the same delivery id, by which delivery
//     plugins drop duplicates; each send is audited.
//   - Single sign-on is not repeatable: AuthorizeSSO draws a new request
//     on every run (the latest replaces the others, and each is audited),
//     and ExchangeSSO spends the code, so a run after the redemption finds
//     none and refuses. The workflow accepts only the state of the run it
//     got the answer of (see package attempt, sso.go).
//   - VerifyTOTP serves histories from before CheckCode, unkeyed.
package activities
