package webhook_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/flexauth/flexauth/plugins/delivery/webhook"
)

// A receiver verifies each call on the raw body before trusting it, and
// answers 401 to anything else.
func ExampleVerify() {
	secret := []byte("a-secret-of-at-least-32-characters")
	receive := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := webhook.Verify(secret, r.Header, body.Bytes(), time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Decode the body, drop a delivery ID already handled (Verify
		// checked the header is the signed body's id), forward.
		w.WriteHeader(http.StatusNoContent)
	})

	// A call signed as flexauth signs it, and a forged one.
	body := []byte(`{"id":"att-1","channel":"sms","to":"+41790000000","code":"123456"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for _, key := range [][]byte{secret, []byte("a-guess-at-the-secret-a-guess-at")} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/flexauth", bytes.NewReader(body))
		req.Header.Set(webhook.HeaderDelivery, "att-1")
		req.Header.Set(webhook.HeaderTimestamp, ts)
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(key, ts, body))
		rec := httptest.NewRecorder()
		receive.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 204
	// 401
}
