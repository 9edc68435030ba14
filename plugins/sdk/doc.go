// Package sdk is everything a plugin author imports: the interfaces a plugin
// implements, their request and response types, the errors that decide
// retries, and the one call its main function makes.
//
// There are two plugin kinds, and a plugin process serves exactly one: a
// delivery plugin implements Delivery and calls ServeDelivery from main; an
// identity plugin implements IdentityProvider and calls ServeIdentity. They
// never touch protobuf or go-plugin: the server in this package turns the
// gRPC calls of plugins/proto into calls of the author's code, and its
// errors into gRPC statuses, so that "permanent" (do not retry) survives
// the process boundary. The kind is the gRPC service a process answers on,
// so a plugin used as the wrong kind fails with ErrWrongKind instead of
// misbehaving.
//
// ServeDelivery also makes delivery exactly-once per process, so that no
// plugin has to: a repeat of a delivered SendRequest.ID is answered with
// the first response, and concurrent sends of one ID are collapsed (see
// Delivery for the bounds of that promise).
//
// The host's end of the protocol (the gRPC clients and the plugin sets a
// host launches plugins with) is in plugins/internal/grpcclient, used by
// plugins/host; what both ends agree on (handshake, protocol version,
// error details) is in plugins/internal/wire.
//
// This package must stay small and stable: every external plugin is
// compiled against it. Of flexauth it imports only plugins/proto and
// plugins/internal/wire.
package sdk
