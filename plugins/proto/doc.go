// Package proto holds the wire protocol between flexauth and its plugins:
// delivery.proto and the Go code generated from it (go generate).
//
// Only the adapters in plugins/sdk import this package. Plugin authors and
// the rest of flexauth use the Go types in plugins/sdk, so the protocol can
// change shape without touching them. Do not edit the .pb.go files by hand.
package proto
