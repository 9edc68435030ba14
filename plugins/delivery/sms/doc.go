// Package sms is the delivery plugin that sends sign-in codes and links as
// text messages through Twilio's Messages REST API, or any provider that
// speaks the same API at another base URL.
//
// The package owns turning a sdk.SendRequest into one HTTP request, and
// turning the provider's answer into "sent", "retry" (network errors,
// timeouts, 429, 5xx) or "permanent" (a bad number, an unsubscribed
// recipient, bad credentials, bad configuration). It does not retry by
// itself: the host's caller (Temporal) does, and sdk.ServeDelivery makes
// sure that a message the provider accepted is not sent again by the same
// process (the retry gets the first message's SID back). Twilio's Messages
// API takes no idempotency key, so nothing helps across a plugin restart,
// nor when the provider accepted a message but its answer was lost (a
// timeout): the retry then texts the same code again, which confuses
// nobody since the host resends the same secret.
//
// Configuration keys:
//
//	account_sid  required; the account SID, also the basic-auth user
//	auth_token   required; the basic-auth password
//	from         required; an E.164 number (+15555550100), or a Messaging
//	             Service SID (MG...), sent as MessagingServiceSid
//	base_url     default https://api.twilio.com; https is required except
//	             for localhost; may carry a path prefix
//	timeout      default 10s; per request, within the caller's deadline
//
// The message is the host's SendRequest.Text, which flexauth rendered from
// the SMS part of its message templates (package messages; set per account
// and system with the admin API at /v1/admin/messages) and which holds the
// code or link; it is sent as it is, trimmed, and refused when empty or
// longer than Twilio's 1,600 characters. The "template" key of version 1
// is refused with an error that says so.
//
// Unknown keys are refused, so a misspelt one fails at start.
//
// It is served as the standalone executable in cmd/flexauth-sms and depends
// on plugins/sdk only, never on the rest of flexauth. The auth token, codes
// and links are secrets and phone numbers are personal data: none of them
// appears whole in a log line or in an error.
package sms
