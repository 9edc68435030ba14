// Package proto holds the wire protocol between flexauth and its plugins:
// delivery.proto and identity.proto, one gRPC service per plugin kind, and
// the Go code generated from them (go generate).
//
// Only the adapters import this package: the plugin's end in plugins/sdk,
// the host's in plugins/internal/grpcclient. Plugin authors and the rest of
// flexauth use the Go types in plugins/sdk, so the protocol can change
// shape without touching them. What else the two ends agree on (handshake,
// protocol version, the ErrorInfo on a plugin's errors) is in
// plugins/internal/wire. Do not edit the .pb.go files by hand.
package proto
