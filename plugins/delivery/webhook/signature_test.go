package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The signature is a contract with receivers in any language: pin it to
// an independent computation of the documented formula.
func TestSignIsTheDocumentedHMAC(t *testing.T) {
	secret, ts, body := []byte(testSecret), "1700000000", []byte(`{"id":"att-1"}`)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign(secret, ts, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte(testSecret)
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"att-1","code":"123456"}`)
	const window = 5 * time.Minute

	// signed returns headers as the plugin sends them, signed at sent.
	signed := func(sent time.Time) http.Header {
		ts := strconv.FormatInt(sent.Unix(), 10)
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, Sign(secret, ts, body))
		h.Set(HeaderDelivery, "att-1")
		return h
	}
	with := func(h http.Header, key, value string) http.Header {
		h = h.Clone()
		h.Set(key, value)
		return h
	}
	good := signed(now)
	otherSig := Sign([]byte("another-secret-another-secret-xx"), good.Get(HeaderTimestamp), body)

	tests := []struct {
		name   string
		secret []byte
		header http.Header
		body   []byte
		want   error // nil: accepted
	}{
		{name: "a call as sent is accepted", header: good},
		{name: "a call signed at the window's edge is accepted", header: signed(now.Add(-window))},
		{name: "a clock slightly ahead is accepted", header: signed(now.Add(time.Minute))},
		{name: "one valid signature among several is accepted", header: with(good, HeaderSignature, otherSig+", v2=abcd,"+good.Get(HeaderSignature))},
		{name: "tampered body is rejected", header: good, body: []byte(`{"id":"att-1","code":"654321"}`), want: ErrSignatureMismatch},
		{name: "wrong secret is rejected", header: good, secret: []byte("not-the-secret-not-the-secret-xx"), want: ErrSignatureMismatch},
		{name: "another secret's signature is rejected", header: with(good, HeaderSignature, otherSig), want: ErrSignatureMismatch},
		{name: "stale timestamp is rejected", header: signed(now.Add(-window - time.Second)), want: ErrTimestampOutOfWindow},
		{name: "future timestamp is rejected", header: signed(now.Add(window + time.Second)), want: ErrTimestampOutOfWindow},
		{name: "timestamp changed after signing is rejected", header: with(good, HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), want: ErrSignatureMismatch},
		{name: "missing timestamp is rejected", header: with(good, HeaderTimestamp, ""), want: ErrMalformedHeader},
		{name: "timestamp in milliseconds is rejected", header: with(good, HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10)), want: ErrMalformedHeader},
		{name: "signed timestamp is rejected", header: with(good, HeaderTimestamp, "+"+good.Get(HeaderTimestamp)), want: ErrMalformedHeader},
		{name: "timestamp as a date is rejected", header: with(good, HeaderTimestamp, now.Format(time.RFC3339)), want: ErrMalformedHeader},
		{name: "missing signature is rejected", header: with(good, HeaderSignature, ""), want: ErrMalformedHeader},
		{name: "signature without scheme is rejected", header: with(good, HeaderSignature, strings.TrimPrefix(good.Get(HeaderSignature), "v1=")), want: ErrMalformedHeader},
		{name: "signature that is not hex is rejected", header: with(good, HeaderSignature, "v1=zz"+good.Get(HeaderSignature)[5:]), want: ErrMalformedHeader},
		{name: "a replay under another delivery header is rejected", header: with(good, HeaderDelivery, "att-2"), want: ErrMalformedHeader},
		{name: "missing delivery header is rejected", header: with(good, HeaderDelivery, ""), want: ErrMalformedHeader},
		{name: "truncated signature is rejected", header: with(good, HeaderSignature, good.Get(HeaderSignature)[:40]), want: ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := secret, body
			if tt.secret != nil {
				s = tt.secret
			}
			if tt.body != nil {
				b = tt.body
			}
			err := Verify(s, tt.header, b, now, window)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("repeated timestamp header is rejected", func(t *testing.T) {
		h := good.Clone()
		h.Add(HeaderTimestamp, good.Get(HeaderTimestamp))
		if err := Verify(secret, h, body, now, window); !errors.Is(err, ErrMalformedHeader) {
			t.Fatalf("Verify = %v, want ErrMalformedHeader", err)
		}
	})
	t.Run("misuse fails closed", func(t *testing.T) {
		if err := Verify(nil, good, body, now, window); err == nil {
			t.Error("Verify accepted an empty secret")
		}
		if err := Verify(secret, good, body, now, 0); err == nil {
			t.Error("Verify accepted a zero window")
		}
	})
}
