// Package messages owns the wording of every message flexauth sends: the
// sign-in link, single sign-on link and sign-in code of an attempt, the
// credential links of the organisation product (welcome, reset,
// verify_email, recover) and the frame of its security notices. Each
// message has parts (an email subject, text and HTML, and for sign-in
// messages an SMS text); each part is a template with built-in defaults
// (embedded, in defaults/) that an account, and beyond it a system, can
// override part by part: the system's override wins over the account's,
// which wins over the built-in one.
//
// Templates are written by tenants and run inside flexauth, so the package
// refuses anything but field access, if/else/with and a few vetted
// functions (see Validate), bounds their size and what they render, and
// checks with sample data that a message still carries its link or code.
//
// Rendering happens in the host, in the activity that sends: the rendered
// text contains the secret and must never enter workflow history or a
// log. The package sits beneath the activities and the API, like package
// attempt: it does no I/O, and must not import the store, the activities,
// the workflows or the API; its callers read overrides from the store and
// pass them in.
package messages
