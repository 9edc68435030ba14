// Package testplugin is a delivery plugin whose destination is a directory,
// with one deliberate defect per Fault. The conformance kit's own tests run
// it (through the host, as a real plugin process) to prove that each check
// passes on a correct plugin and fails on the defect it exists to catch.
//
// The destination is the directory given as Config["dir"]:
//
//	delivered    one line per delivered message ID
//	unavailable  while this file exists, the destination fails temporarily
//	slow         while this file exists, the destination hangs
//
// Serve runs it as a plugin process: through sdk.ServeDelivery, except for
// the faults about repeated IDs, which the SDK's ledger would hide; those
// are served over the protocol directly, as a plugin written without the
// SDK would be.
//
// It is test code: it must not be used by anything but plugintest's tests.
package testplugin
