// Package smtp is the delivery plugin that sends sign-in links and codes as
// email through an SMTP server (a relay such as Postfix, or a provider's
// submission endpoint). It runs as its own process (cmd/flexauth-smtp, or
// the flexauth binary re-executing itself) and depends on plugins/sdk only,
// never on the rest of flexauth.
//
// # Configuration
//
//	host                  server name (required)
//	port                  default 587 for starttls, 465 for tls, 25 for none
//	tls                   starttls (default): upgrade with STARTTLS, and refuse
//	                      to send if the server does not offer it;
//	                      tls: implicit TLS (port 465);
//	                      none: clear text, only to localhost or a loopback
//	                      address (a mail catcher on the developer's machine)
//	username, password    AUTH PLAIN; both or neither, and only over TLS
//	from                  sender, RFC 5322: "Acme <no-reply@acme.example>" (required)
//	ca_file               PEM file with the CAs that replace the system roots
//	                      (a private CA; tests); not with tls = none
//	insecure_skip_verify  refused unless tls = none; use ca_file instead
//	helo                  name sent in EHLO (default "localhost")
//
// An empty value is the same as an absent key. Unknown keys and bad values
// are refused by Configure with a permanent error naming the key
// (sdk.ConfigureRequest.Decode).
//
// # Messages
//
// The plugin sends what flexauth rendered: SendRequest.Subject, Text and
// HTML (a text-only message when HTML is empty). The wording, per account
// and per system, and the brand are flexauth's (package messages, set with
// the admin API at /v1/admin/messages). The template.* and brand.* keys of
// version 1 are refused with an error that says so.
//
// # Delivery
//
// The SMTP dialogue and the message are go-mail's
// (github.com/wneessen/go-mail): its smtp client connects, secures and
// authenticates (the checks above are made by this package, so that each
// refusal names what the server lacks), its client runs the mail
// transaction, and its Msg writes one multipart/alternative message (text
// and HTML, quoted-printable, UTF-8). The Message-ID is derived from the
// request ID, so a retried delivery carries the same one. Request IDs
// already delivered by this process are acknowledged without sending again
// (by sdk.ServeDelivery, in memory, bounded); after a restart the same
// Message-ID lets receivers drop the duplicate.
//
// Connections are reused: up to 4 authenticated connections wait for the
// next message, each closed after 30 s unused or 100 messages, and all of
// them (with QUIT) when the plugin stops or is configured anew. A send
// takes an idle connection, checks it with RSET, and sends; concurrent
// sends use different connections. If a reused connection fails before the
// server can have accepted the message (RSET, MAIL FROM, RCPT TO failing
// with a dropped connection or a 421), the message is sent once more on a
// new connection; a failure after the data was sent is reported, and the
// connection dropped.
//
// 5xx replies and unusable servers (no STARTTLS, no AUTH PLAIN, a
// certificate that does not verify) are permanent errors; 4xx replies,
// network errors and timeouts are temporary. The connection's deadline is
// the context's.
//
// The plugin must never log the password, a code or a link, and must never
// send a code or link in clear text across the network.
package smtp
