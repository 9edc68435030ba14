// Package webhook is the delivery plugin for channels an operator builds
// themselves: it POSTs every message, signed, to one URL, and the
// operator's receiver sends it on (a chat bot, a pager, an in-house SMS
// gateway).
//
// # Configuration
//
//	url      required; http or https. Redirects are not followed.
//	secret   required; at least 32 characters, shared with the receiver.
//	timeout  optional Go duration bounding one POST; 10s by default.
//
// An empty value is the same as an absent key. Unknown keys are refused,
// like every other mistake, with a permanent error.
//
// # The call
//
// The body is a JSON object with the fields id, channel, to, subject, text,
// html, link, code, attempt, metadata (an object) and timestamp (Unix
// seconds, equal to the timestamp header). The headers are:
//
//	Content-Type:          application/json
//	X-Flexauth-Delivery:   the message ID, the same on every retry (the body's signed "id"; Verify checks they agree)
//	X-Flexauth-Timestamp:  Unix seconds at signing
//	X-Flexauth-Signature:  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A 2xx answer means delivered. 408, 429, 5xx and network errors are
// temporary: flexauth retries the message later with the same ID. Any
// other answer (3xx, other 4xx) is permanent: the message is given up. The
// plugin process remembers the last 10,000 IDs it delivered and does not
// post them again (sdk.ServeDelivery does this for every plugin), but it
// forgets them when it restarts, so a receiver must also drop a delivery
// ID it has already handled.
//
// # Receiving
//
// A receiver verifies every call with Verify on the raw body before
// trusting anything in it:
//
//	func receive(secret []byte) http.Handler {
//		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//			if err != nil {
//				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
//				return
//			}
//			if err := webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
//				http.Error(w, "bad signature", http.StatusUnauthorized)
//				return
//			}
//			var msg struct {
//				ID, Channel, To, Text, Link, Code string
//			}
//			if err := json.Unmarshal(body, &msg); err != nil {
//				http.Error(w, "bad body", http.StatusBadRequest)
//				return
//			}
//			if alreadyHandled(msg.ID) { // flexauth retried: answer as before
//				w.WriteHeader(http.StatusNoContent)
//				return
//			}
//			if err := forward(r.Context(), msg); err != nil {
//				http.Error(w, "try later", http.StatusServiceUnavailable) // retried
//				return
//			}
//			w.WriteHeader(http.StatusNoContent)
//		})
//	}
//
// Answer 4xx only when retrying cannot help (an unknown recipient): the
// sign-in then fails at once instead of after the retries.
//
// # What the plugin must not do
//
// The body carries a one-time code or a sign-in link, and the secret
// proves the calls: neither appears in a log line or an error, nor does the
// recipient, the answer's body, or the URL's query and user information.
// The package depends on plugins/sdk only, never on the rest of flexauth.
package webhook
