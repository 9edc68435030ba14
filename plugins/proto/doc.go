// Package proto holds the wire protocol between flexauth and its plugins:
// delivery.proto and identity.proto, one gRPC service per plugin kind, and
// the Go code generated from them (go generate).
//
// Only the adapters in plugins/sdk import this package. Plugin authors and
// the rest of flexauth use the Go types in plugins/sdk, so the protocol can
// change shape without touching them. Do not edit the .pb.go files by hand.
package proto
