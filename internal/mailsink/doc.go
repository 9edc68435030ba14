// Package mailsink is a mail server that keeps what it receives, standing
// in for Mailpit where flexauth's production topology runs as processes
// (the deploy tests, the topology benchmark): a real SMTP server on
// loopback that accepts mail only after STARTTLS, with a self-signed
// certificate the smtp plugin trusts as its ca_file. It also reads the
// one-time code and the link out of flexauth's messages.
//
// It keeps every message in memory and forwards nothing: for tests and
// benchmarks only.
package mailsink
