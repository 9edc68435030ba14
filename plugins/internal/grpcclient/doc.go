// Package grpcclient is the host's end of the plugin protocol: the go-plugin
// plugin sets a host launches plugin processes with, and the sdk.Delivery
// and sdk.IdentityProvider they dispense, which call the process over gRPC
// (plugins/proto) and turn its statuses back into the SDK's errors
// (sdk.ErrPermanent, sdk.ErrRefused, sdk.ErrWrongKind, sdk.ErrPluginExited).
//
// plugins/host is its user; plugin authors never see it (plugins/sdk is
// their end). It is internal to plugins/ so that the SDK's tests can
// dispense what the SDK serves.
package grpcclient
