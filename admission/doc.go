// Package admission decides what a start must pass before an attempt runs,
// reading the store: the start limits ([Limits]) and the sign-in the policy
// is asked about ([ResolveInput], which has policies.BuildInput build the
// input). The worker's Begin (package activities) and the API (before it
// starts a console or security settings sign-in, and for "what would the
// policy decide") share it, so that both judge a start alike.
//
// It reads and never writes; it sends nothing and asks no plugin (the
// directory is the worker's, in Begin). It must not import the API, the
// activities or the workflows.
package admission
