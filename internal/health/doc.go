// Package health answers the probes of load balancers and orchestrators:
// /healthz (the process is alive) and /readyz (what it depends on answers).
// It owns no checks; its callers name them. Anyone may call the probes, so
// an answer carries only check names and fixed words, never error text,
// and the errors go to the log, once per change.
package health
