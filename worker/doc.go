// Package worker wires the attempt workflow and its activities into a
// Temporal worker. Register is the one registration used by `flexauth
// worker`, `flexauth dev` and the tests alike, so what is tested is what
// runs.
package worker
