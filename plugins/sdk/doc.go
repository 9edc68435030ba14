// Package sdk is everything a delivery plugin author imports, and the
// contract the flexauth host speaks to plugins through.
//
// A plugin implements Delivery with plain Go types and calls ServeDelivery
// from main; it never touches protobuf or go-plugin. The host side (package
// plugins/host) uses the same Go types: the adapters in this package turn
// them into gRPC calls (plugins/proto) and back, and turn errors into gRPC
// status codes so that "permanent" (do not retry) survives the process
// boundary.
//
// This package must stay small and stable: every external plugin is compiled
// against it. It must not import anything else from flexauth.
package sdk
