package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&pluginBin: "github.com/flexauth/flexauth/plugins/examples/chat"}))
}

// chatServer is the test's chat: it counts posts per idempotency key.
type chatServer struct {
	*httptest.Server
	mu                sync.Mutex
	posts             map[string]int
	unavailable, slow bool
}

func newChatServer(t *testing.T) *chatServer {
	c := &chatServer{posts: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		unavailable, slow := c.unavailable, c.slow
		c.mu.Unlock()
		if slow {
			time.Sleep(5 * time.Second)
		}
		var msg struct{ Text string }
		if unavailable || json.NewDecoder(r.Body).Decode(&msg) != nil || msg.Text == "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		c.mu.Lock()
		c.posts[r.Header.Get("Idempotency-Key")]++
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func TestConformance(t *testing.T) {
	chat := newChatServer(t)
	plugintest.Run(t, plugintest.Target{
		Name:    "chat",
		Command: []string{pluginBin},
		Config:  map[string]string{"url": chat.URL},
		Valid:   sdk.SendRequest{Channel: "email", To: "alice", Text: "Your code is 12345678", Code: "12345678"},
		Invalid: sdk.SendRequest{Channel: "email", To: ""},
		Delivered: func(_ testing.TB, id string) int {
			chat.mu.Lock()
			defer chat.mu.Unlock()
			return chat.posts[id]
		},
		Unavailable: func(_ testing.TB, on bool) { chat.mu.Lock(); chat.unavailable = on; chat.mu.Unlock() },
		Slow:        func(_ testing.TB, on bool) { chat.mu.Lock(); chat.slow = on; chat.mu.Unlock() },
	})
}
