// Package payloadcodec keeps personal data out of Temporal's database: it
// encrypts every payload a flexauth client or worker hands to Temporal
// (attempt inputs such as the authid, IP and user agent, activity inputs
// and results, update arguments and results, query results) and every
// failure message and stack trace, with AES-256-GCM under keys from the
// secret.Keyring.
//
// Each encrypted payload names its key ("encryption-key-id" in its
// metadata), so the master key can rotate: payloads are written with the
// current key and read with any key the keyring holds. Payloads without
// encryption metadata (histories recorded before the codec) are read as
// they are; an encrypted payload that does not open is an error, never
// passed on as ciphertext.
//
// ClientOptions and ReplayerOptions are the one place the data converter is
// built: the API, the worker, `flexauth dev`, the replay tests and the test
// harnesses all use them. NewHandler serves the Temporal remote codec
// protocol (`flexauth codec-server`) so that an operator holding the key
// can read histories in the Temporal UI or CLI.
//
// It must not log payloads, and it never decides what a workflow does: it
// only changes how values are stored.
package payloadcodec
