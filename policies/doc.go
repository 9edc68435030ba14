// Package policies owns the risk policy: the Rego modules that decide how a
// login attempt is verified, the engine that compiles and evaluates them, and
// the runner for their Rego tests.
//
// A policy sees an [Input] and answers with a [Decision]. [BuildInput] makes
// the input of a sign-in from plain data its caller loaded (package
// admission reads it from the store); the methods a decision may choose are
// package attempt's. The engine fails closed: a policy that does not
// compile, errors, is undefined or answers with something that is not a
// usable decision denies, and says why in Decision.Reasons so the audit log
// can show it.
//
// The package must not do I/O of its own, and imports no persistence: it
// sends nothing and keeps no state between calls beyond compiled policies.
// The one thing it reads is, through the small [ActiveVersions] interface
// its caller provides (the store satisfies it), which policy version an
// account uses and its Rego source: [Registry] decides with each
// account's active policy, and [ReviewUpload] checks an uploaded one
// (compiled, its tests run) before it may become active. Callers build a
// new [Engine] when a policy changes; a decision takes at most
// [EvaluationTimeout] and [EvaluationSteps], less if the caller's context
// says so.
//
// Accounts may upload their own policies, and stored ones are evaluated in
// the API's and the worker's processes, so a policy may call only the
// built-ins of an allow-list (builtins.go): none reads files, reaches the
// network, reads the process or is random. The allowed built-ins that can
// build large values are bounded before they build them
// ([MaxBuiltinString], [MaxBuiltinCollection], [MaxBuiltinMemory] per
// evaluation), and a policy that goes over a bound fails closed
// ([ErrBuiltinBound]) rather than taking the process's memory.
//
// The one exception to "no I/O" is [Reviewer]: an uploaded policy is code
// from a tenant, and its tests run without a step budget, so the API
// reviews uploads in a child process (the flexauth binary again, serving
// [ServeReviewChild]) under memory, CPU-time and wall-clock limits, with an
// empty environment.
package policies
