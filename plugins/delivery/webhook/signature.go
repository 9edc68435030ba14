package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook call. They are part of the contract with every
// operator's receiver.
const (
	// HeaderDelivery carries the message ID: the same on every retry of
	// one message, so a receiver can drop duplicates. The signed body's "id"
	// has the same value.
	HeaderDelivery = "X-Flexauth-Delivery"
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "X-Flexauth-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256 of
	// timestamp + "." + body under the shared secret.
	HeaderSignature = "X-Flexauth-Signature"
)

// signatureScheme prefixes a signature. A new scheme would get a new
// prefix, and a sender could send both while receivers upgrade.
const signatureScheme = "v1="

var (
	// ErrMalformedHeader is returned by Verify when the timestamp or
	// signature header is missing or not in the expected form.
	ErrMalformedHeader = errors.New("malformed webhook signature header")
	// ErrTimestampOutOfWindow is returned by Verify when the timestamp is
	// too far from the receiver's clock: a replayed or badly delayed call.
	ErrTimestampOutOfWindow = errors.New("webhook timestamp outside the accepted window")
	// ErrSignatureMismatch is returned by Verify when no signature matches
	// the body: a tampered body, a forged call or the wrong secret.
	ErrSignatureMismatch = errors.New("webhook signature does not match")
)

// Sign returns the HeaderSignature value for body sent with timestamp (the
// HeaderTimestamp value, Unix seconds). The plugin signs every call with
// it; receivers can use it to build signed requests in their own tests.
func Sign(secret []byte, timestamp string, body []byte) string {
	return signatureScheme + hex.EncodeToString(mac(secret, timestamp, body))
}

// checkDelivery requires HeaderDelivery, which is not signed, to be the
// signed body's id, so that receivers can drop duplicates by it.
func checkDelivery(header http.Header, body []byte) error {
	delivery, err := single(header, HeaderDelivery)
	if err != nil {
		return err
	}
	var msg struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return fmt.Errorf("%w: the signed body is not a JSON message: %w", ErrMalformedHeader, err)
	}
	if delivery != msg.ID { // no secret: the body, id included, is signed
		return fmt.Errorf("%w: %s is not the signed body's id", ErrMalformedHeader, HeaderDelivery)
	}
	return nil
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks that a webhook call came from flexauth: that the signature
// header holds a valid HMAC of the timestamp and body under secret, and
// that the timestamp is within window of now, either way. Call it on the
// raw body, before decoding it.
//
// The timestamp is signed, so an attacker who captured a call cannot
// refresh it; the window bounds how long a captured call can be replayed.
// Within the window, drop duplicates by HeaderDelivery, which Verify
// requires to be the signed body's "id": a replay under another delivery
// header is refused (ErrMalformedHeader), not taken for a new message. A
// few minutes is a good window; it must cover the clock skew between the
// two machines.
//
// The signature header may list several comma-separated signatures; one
// valid "v1=" signature is enough, and other schemes are ignored.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, window time.Duration) error {
	if len(secret) == 0 {
		return errors.New("verify webhook: empty secret")
	}
	if window <= 0 {
		return fmt.Errorf("verify webhook: window %v is not positive", window)
	}
	timestamp, err := single(header, HeaderTimestamp)
	if err != nil {
		return err
	}
	sent, err := parseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if skew := now.Sub(sent); skew > window || skew < -window {
		return fmt.Errorf("%w: sent %s, now %s, window ±%v", ErrTimestampOutOfWindow,
			sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), window)
	}

	signatures, err := single(header, HeaderSignature)
	if err != nil {
		return err
	}
	want := mac(secret, timestamp, body)
	found := false
	for sig := range strings.SplitSeq(signatures, ",") {
		sig = strings.TrimSpace(sig)
		hexSig, ok := strings.CutPrefix(sig, signatureScheme)
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err != nil || len(got) != sha256.Size {
			return fmt.Errorf("%w: %s is not a hex SHA-256 MAC", ErrMalformedHeader, HeaderSignature)
		}
		found = true
		// Constant time: a timing difference would let an attacker
		// guess a valid MAC byte by byte.
		if hmac.Equal(got, want) {
			return checkDelivery(header, body)
		}
	}
	if !found {
		return fmt.Errorf("%w: %s has no %q signature", ErrMalformedHeader, HeaderSignature, signatureScheme)
	}
	return ErrSignatureMismatch
}

// single returns the one value of header name.
func single(header http.Header, name string) (string, error) {
	values := header.Values(name)
	switch {
	case len(values) == 0 || values[0] == "":
		return "", fmt.Errorf("%w: missing %s", ErrMalformedHeader, name)
	case len(values) > 1:
		return "", fmt.Errorf("%w: %s given %d times", ErrMalformedHeader, name, len(values))
	}
	return values[0], nil
}

// maxTimestampDigits keeps parsing and time arithmetic far from overflow;
// Unix seconds have 10 digits until the year 2286.
const maxTimestampDigits = 12

// parseTimestamp accepts Unix seconds as plain decimal digits: no sign, no
// spaces, no fraction. The exact string is what was signed, so any looser
// form would only invite confusion about what to hash.
func parseTimestamp(s string) (time.Time, error) {
	if len(s) > maxTimestampDigits || strings.TrimLeft(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%w: %s is not Unix seconds", ErrMalformedHeader, HeaderTimestamp)
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrMalformedHeader, HeaderTimestamp, err)
	}
	return time.Unix(sec, 0), nil
}
