package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testSecret is the secret tests share with their receiver.
const testSecret = "0123456789abcdef0123456789abcdef-test"

// unknownRecipient is refused by the receiver with 422, as a real one
// refuses an address it cannot deliver to.
const unknownRecipient = "nobody@example.invalid"

// receiver is an operator's receiver as the package documents it: it
// verifies every call with Verify and counts the accepted ones per
// delivery ID. Its handler runs on server goroutines, so it records
// problems instead of failing the test.
type receiver struct {
	*httptest.Server
	secret []byte

	mu          sync.Mutex
	delivered   map[string]int // accepted (2xx) calls per HeaderDelivery
	posts       int            // every call, accepted or not
	rejected    []error        // calls that failed verification
	status      int            // answer instead of accepting, if not 0
	unavailable bool           // answer 503
	delay       time.Duration  // sleep before answering
	hang        chan struct{}  // while non-nil, hang until closed
	last        *http.Request
	lastBody    []byte
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{secret: []byte(testSecret), delivered: make(map[string]int)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		// Hanging handlers would keep Close waiting.
		r.setHang(false)
		r.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.posts++
	r.last, r.lastBody = req, body
	status, unavailable, delay, hang := r.status, r.unavailable, r.delay, r.hang
	r.mu.Unlock()

	if err := Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
		r.reject(err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg struct {
		ID string `json:"id"`
		To string `json:"to"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		r.reject(fmt.Errorf("decode body: %w", err))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if id := req.Header.Get(HeaderDelivery); msg.ID != id {
		r.reject(fmt.Errorf("body id %q, header %s %q", msg.ID, HeaderDelivery, id))
		http.Error(w, "id mismatch", http.StatusBadRequest)
		return
	}

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if hang != nil {
		select {
		case <-hang:
		case <-req.Context().Done():
			return // the sender gave up: nothing was delivered
		}
	}
	switch {
	case unavailable:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case status != 0:
		w.WriteHeader(status)
		return
	case msg.To == unknownRecipient:
		http.Error(w, "unknown recipient", http.StatusUnprocessableEntity)
		return
	}
	r.mu.Lock()
	r.delivered[msg.ID]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) reject(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, err)
}

// Delivered has plugintest.Target's signature.
func (r *receiver) Delivered(_ testing.TB, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered[id]
}

// Unavailable has plugintest.Target's signature: 503 while on.
func (r *receiver) Unavailable(_ testing.TB, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unavailable = on
}

// Slow has plugintest.Target's signature: hang while on.
func (r *receiver) Slow(_ testing.TB, on bool) { r.setHang(on) }

func (r *receiver) setHang(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case on && r.hang == nil:
		r.hang = make(chan struct{})
	case !on && r.hang != nil:
		close(r.hang)
		r.hang = nil
	}
}

func (r *receiver) setStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

func (r *receiver) setDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func (r *receiver) postCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// lastCall returns the last request's headers and body.
func (r *receiver) lastCall(t testing.TB) (http.Header, []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		t.Fatal("the receiver got no call")
	}
	return r.last.Header, r.lastBody
}

// rejections returns every verification failure so far.
func (r *receiver) rejections() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.rejected...)
}
