package sms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAccountSID = "AC00000000000000000000000000000001"
	testAuthToken  = "test-auth-token-do-not-log"
	testFrom       = "+15005550006"
	testService    = "MG00000000000000000000000000000002"
)

// Twilio's magic test numbers: with test credentials, sending to them
// produces these refusals. The fake answers them the same way.
const (
	numberInvalid      = "+15005550001" // 21211
	numberNoRegion     = "+15005550003" // 21408
	numberUnsubscribed = "+15005550004" // 21610
	numberNotMobile    = "+15005550009" // 21614
)

// accepted is one message the fake accepted.
type accepted struct {
	SID, To, From, MessagingServiceSid, Body string
}

// fakeTwilio speaks the part of Twilio's Messages API the plugin uses,
// checking every request the way Twilio would: path, basic auth, form
// fields.
type fakeTwilio struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	requests int
	messages []accepted
	// status, when set, is answered to every request instead of handling
	// it, with body (Twilio's JSON error unless given) and header.
	status int
	body   string
	header http.Header
	// delay is waited before answering, or until the client gives up.
	delay time.Duration
}

func newFakeTwilio(t testing.TB) *fakeTwilio {
	f := &fakeTwilio{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// config is a valid plugin configuration pointing at the fake.
func (f *fakeTwilio) config() map[string]string {
	return map[string]string{
		"account_sid": testAccountSID,
		"auth_token":  testAuthToken,
		"from":        testFrom,
		"base_url":    f.srv.URL,
	}
}

// fail makes the fake answer status to every request from now on; 0
// restores normal service.
func (f *fakeTwilio) fail(status int, body string, header http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body, f.header = status, body, header
}

func (f *fakeTwilio) slow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// requestCount is how many requests reached the fake, accepted or not.
func (f *fakeTwilio) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeTwilio) accepted() []accepted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]accepted(nil), f.messages...)
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	status, body, header, delay := f.status, f.body, f.header, f.delay
	f.mu.Unlock()

	// Reading the body first lets the server notice a client that gives
	// up during the delay (it only watches the connection once the body
	// is consumed), so the handler ends and Close does not wait for it.
	formErr := r.ParseForm()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		for k, v := range header {
			w.Header()[k] = v
		}
		if body == "" {
			body = twilioError(20000+status, status, "simulated failure")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}

	wantPath := "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != wantPath {
		f.t.Errorf("fake twilio: %s %s, want POST %s", r.Method, r.URL.Path, wantPath)
		answer(w, http.StatusNotFound, twilioError(20404, 404, "The requested resource "+r.URL.Path+" was not found"))
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testAccountSID || pass != testAuthToken {
		answer(w, http.StatusUnauthorized, twilioError(20003, 401, "Authenticate"))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("fake twilio: content type %q", ct)
	}
	if formErr != nil {
		answer(w, http.StatusBadRequest, twilioError(20001, 400, "bad form"))
		return
	}
	msg := accepted{
		To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSid: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body"),
	}
	for k := range r.PostForm {
		if k != "To" && k != "From" && k != "MessagingServiceSid" && k != "Body" {
			f.t.Errorf("fake twilio: unexpected form field %q", k)
		}
	}
	switch {
	case msg.To == "":
		answer(w, http.StatusBadRequest, twilioError(21604, 400, "A 'To' phone number is required."))
		return
	case (msg.From == "") == (msg.MessagingServiceSid == ""):
		f.t.Errorf("fake twilio: want exactly one of From and MessagingServiceSid, got %q and %q", msg.From, msg.MessagingServiceSid)
		answer(w, http.StatusBadRequest, twilioError(21603, 400, "A 'From' phone number is required."))
		return
	case msg.Body == "":
		answer(w, http.StatusBadRequest, twilioError(21602, 400, "Message body is required."))
		return
	}
	switch msg.To {
	case numberInvalid:
		answer(w, http.StatusBadRequest, twilioError(21211, 400, "The 'To' number "+msg.To+" is not a valid phone number."))
		return
	case numberNoRegion:
		answer(w, http.StatusBadRequest, twilioError(21408, 400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+msg.To+"."))
		return
	case numberUnsubscribed:
		answer(w, http.StatusBadRequest, twilioError(21610, 400, "Attempt to send to unsubscribed recipient"))
		return
	case numberNotMobile:
		answer(w, http.StatusBadRequest, twilioError(21614, 400, "'To' number is not a valid mobile number"))
		return
	}

	f.mu.Lock()
	msg.SID = fmt.Sprintf("SM%032x", len(f.messages)+1)
	f.messages = append(f.messages, msg)
	f.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"sid": msg.SID, "account_sid": testAccountSID, "to": msg.To, "from": msg.From,
		"messaging_service_sid": msg.MessagingServiceSid, "body": msg.Body, "status": "queued",
		"num_segments": "1", "error_code": nil, "error_message": nil,
	})
	answer(w, http.StatusCreated, string(b))
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// twilioError is Twilio's error body.
func twilioError(code, status int, message string) string {
	b, _ := json.Marshal(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
	return string(b)
}

// hasSecret reports whether s holds something that must never be logged
// or returned: the auth token, the code, the link or the whole number.
func hasSecret(s string, secrets ...string) string {
	for _, v := range append([]string{testAuthToken}, secrets...) {
		if v != "" && strings.Contains(s, v) {
			return v
		}
	}
	return ""
}
