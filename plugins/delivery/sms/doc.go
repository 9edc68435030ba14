// Package sms is the delivery plugin that sends sign-in codes and links as
// text messages through Twilio's Messages REST API, or any provider that
// speaks the same API at another base URL.
//
// The package owns turning a sdk.SendRequest into one HTTP request, and
// turning the provider's answer into "sent", "retry" (network errors, 429,
// 5xx) or "permanent" (a bad number, bad credentials, bad configuration).
// It does not retry by itself: the host's caller (Temporal) does, and the
// plugin only makes sure a message it already saw accepted is not sent again
// by the same process.
//
// It is served as the standalone executable in cmd/flexauth-sms and depends
// on plugins/sdk only, never on the rest of flexauth. The auth token, codes
// and links are secrets: they never appear in a log line or in an error.
package sms
