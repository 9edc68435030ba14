// Package attempt is the vocabulary an attempt is spoken in by the API that
// receives it, the workflow that runs it, the activities that carry out its
// effects and the store that keeps its row: the verification methods and
// the factors they lock, the keyed digests of codes and tokens (so that
// what the API digests from a user and what an activity drew agree), the
// paths where tokens are served, the sealed single sign-on request and its
// round trip (sso.go), the TOTP parameters, the reserved systems and the
// audit event types.
//
// It sits beneath every other package of flexauth but secret: it must not
// import the store, the policies, the activities, the workflows or the API,
// and it does no I/O. Anything that reads or writes belongs to its callers;
// a new word of the vocabulary (a method, a digest purpose, a path, an
// event) is added here once and used everywhere by name.
package attempt
