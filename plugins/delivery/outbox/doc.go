// Package outbox is the development delivery plugin: instead of sending
// email or SMS it appends each message as one JSON object per line to a file,
// where a developer (or a test) reads the link or code.
//
// It is served both built into the flexauth binary ("flexauth plugin serve
// outbox") and as the standalone executable in cmd/flexauth-outbox, which is
// also the example of an external plugin. It depends on plugins/sdk only,
// never on the rest of flexauth.
//
// The file holds one-time codes and links: it is created with mode 0600 and
// is not meant for production.
package outbox
