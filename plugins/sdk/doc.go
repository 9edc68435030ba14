// Package sdk is everything a plugin author imports, and the contract the
// flexauth host speaks to plugins through.
//
// There are two plugin kinds, and a plugin process serves exactly one: a
// delivery plugin implements Delivery and calls ServeDelivery from main; an
// identity plugin implements IdentityProvider and calls ServeIdentity. They
// never touch protobuf or go-plugin. The host side (package plugins/host)
// uses the same Go types: the adapters in this package turn them into gRPC
// calls (plugins/proto) and back, and turn errors into gRPC status codes so
// that "permanent" (do not retry) survives the process boundary. The kind is
// the gRPC service a process answers on, so a plugin used as the wrong kind
// fails with ErrWrongKind instead of misbehaving.
//
// This package must stay small and stable: every external plugin is compiled
// against it. It must not import anything else from flexauth.
package sdk
