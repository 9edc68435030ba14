package deploy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// drainGrace is the API's and the worker's default --shutdown-grace; a
// replica stopped with SIGTERM must be gone within it (plus the time its
// process needs to close what it holds).
const drainGrace = 10 * time.Second

// TestSIGTERMDrains stops replicas as `docker stop` does (SIGTERM to the
// process): an API replica refuses new connections at once, answers the
// request in flight and exits; a worker turns unready, lets the delivery it
// is making finish, and exits; what they were doing completes.
func TestSIGTERMDrains(t *testing.T) {
	n := startNative(t)
	rec := &recorder{}

	t.Run("api finishes the request in flight", func(t *testing.T) {
		api := n.apis[1]
		n.addUser("drain-api", "pin")
		hostPort := strings.TrimPrefix(api.URL, "http://")
		// A client on a slow link: the start request's headers and half its
		// body are in, the rest comes after the SIGTERM.
		body := `{"system":"shop","authid":"drain-api"}`
		conn, err := net.Dial("tcp", hostPort)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := fmt.Fprintf(conn, "POST /v1/start HTTP/1.1\r\nHost: %s\r\nApikey: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			hostPort, n.appKey, len(body), body[:len(body)/2]); err != nil {
			t.Fatal(err)
		}
		// In flight means read by the server, not merely queued for it.
		if err := waitRead(conn, time.Minute); err != nil {
			t.Fatal(err)
		}
		termAt := time.Now()
		if err := api.Terminate(); err != nil {
			t.Fatal(err)
		}
		// New connections are refused (a load balancer moves on).
		for {
			c, err := net.DialTimeout("tcp", hostPort, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Since(termAt) > 5*time.Second {
				t.Fatal("still accepting connections 5 s after SIGTERM")
			}
			time.Sleep(20 * time.Millisecond)
		}
		refusedAfter := time.Since(termAt)
		if !api.Running() {
			t.Fatal("the API exited with a request in flight")
		}
		if _, err := io.WriteString(conn, body[len(body)/2:]); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(drainGrace))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the request in flight got no answer: %v", err)
		}
		raw, _ := io.ReadAll(res.Body)
		var started struct{ Result, Attempt string }
		_ = json.Unmarshal(raw, &started)
		if res.StatusCode != http.StatusOK || started.Result != "success" {
			t.Fatalf("the request in flight = %d %s, want 200 success", res.StatusCode, raw)
		}
		if err := api.WaitExit(drainGrace); err != nil {
			t.Fatal(err)
		}
		exitedAfter := time.Since(termAt)
		if err := api.ExitError(); err != nil {
			t.Errorf("the API exited with %v after SIGTERM, want status 0", err)
		}
		// The attempt it started completes through the other replica.
		msg, ok := n.mail.wait("drain-api@example.com", 30*time.Second)
		if !ok {
			t.Fatal("no message for the attempt started while draining")
		}
		code := pin(msg.Text)
		other := 0
		a, err := n.jsonCall(rec, &other, http.MethodPost, "/v1/check", n.appKey,
			map[string]any{"system": "shop", "authid": "drain-api", "attempt": started.Attempt, "pin": code}, time.Now().Add(30*time.Second))
		if err != nil || a.status != http.StatusOK || a.result() != "authenticated" {
			t.Fatalf("code of the attempt started while draining = %d %s %v", a.status, a.body, err)
		}
		t.Logf("api SIGTERM: refusing connections after %v, exited after %v (grace %v); the request in flight answered 200 and its sign-in completed",
			refusedAfter.Round(time.Millisecond), exitedAfter.Round(time.Millisecond), drainGrace)
	})

	t.Run("worker finishes its delivery", func(t *testing.T) {
		const email = "drain-worker@example.com"
		// A slow mail server: the reply to DATA comes 3 s late.
		const slow = 3 * time.Second
		n.mail.SetDelay(email, slow)
		n.addUser("drain-worker", "pin")
		// The start answers once the challenge is delivered (the delivery
		// runs inside the attempt's first workflow task), so it is still
		// waiting while the workers stop.
		first := 0
		type startAnswer struct {
			a   answer
			err error
		}
		startDone := make(chan startAnswer, 1)
		go func() {
			a, err := n.jsonCall(rec, &first, http.MethodPost, "/v1/start", n.appKey,
				map[string]any{"system": "shop", "authid": "drain-worker"}, time.Now().Add(30*time.Second))
			startDone <- startAnswer{a, err}
		}()
		// Wait until a worker is in the middle of the delivery.
		timeout := time.After(30 * time.Second)
	waitData:
		for {
			select {
			case rcpt := <-n.mail.InData():
				if rcpt == email {
					break waitData
				}
			case <-timeout:
				t.Fatal("no delivery began within 30 s")
			}
		}
		termAt := time.Now()
		for _, w := range n.workers {
			if err := w.Terminate(); err != nil {
				t.Fatal(err)
			}
		}
		// While they drain, their /readyz answers 503 (once the process has
		// taken the signal, and readiness's last checks, cached for a
		// second, are stale), never 200 again.
		var mu sync.Mutex
		seen := map[string]map[int]int{}
		backToReady := map[string]bool{}
		var wg sync.WaitGroup
		for _, w := range n.workers {
			seen[w.Name] = map[int]int{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for w.Running() {
					res, err := httpClient.Get(w.Health)
					if err == nil {
						_ = res.Body.Close()
						mu.Lock()
						if res.StatusCode == http.StatusOK && seen[w.Name][http.StatusServiceUnavailable] > 0 {
							backToReady[w.Name] = true
						}
						seen[w.Name][res.StatusCode]++
						mu.Unlock()
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
		for _, w := range n.workers {
			if err := w.WaitExit(drainGrace + 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := w.ExitError(); err != nil {
				t.Errorf("%s exited with %v after SIGTERM, want status 0", w.Name, err)
			}
		}
		exitedAfter := time.Since(termAt)
		wg.Wait()
		unready := 0
		for name, codes := range seen {
			if backToReady[name] {
				t.Errorf("%s answered /readyz 200 again after 503 while draining: %v", name, codes)
			}
			unready += codes[http.StatusServiceUnavailable]
		}
		if unready == 0 {
			t.Errorf("no worker answered /readyz 503 while draining: %v", seen)
		}
		// The worker that was delivering finished the task: the start
		// answered.
		var started struct{ Attempt string }
		select {
		case st := <-startDone:
			if st.err != nil || st.a.status != http.StatusOK {
				t.Fatalf("start = %d %s %v", st.a.status, st.a.body, st.err)
			}
			_ = json.Unmarshal(st.a.body, &started)
		case <-time.After(30 * time.Second):
			t.Fatal("the start made while the workers stopped never answered")
		}
		// The delivery finished before the worker went: one message, whose
		// DATA was answered before the exit.
		got := n.mail.To(email)
		if len(got) != 1 {
			t.Fatalf("%d messages after the drain, want exactly 1", len(got))
		}
		if got[0].At.After(termAt.Add(exitedAfter)) {
			t.Errorf("the workers exited before the delivery finished")
		}
		// Started again, the workers carry the attempt to its end.
		for _, w := range n.workers {
			n.startService(w)
		}
		for _, w := range n.workers {
			n.waitHealthy(w, time.Minute)
		}
		code := pin(n.mail.To(email)[0].Text)
		a, err := n.jsonCall(rec, &first, http.MethodPost, "/v1/check", n.appKey,
			map[string]any{"system": "shop", "authid": "drain-worker", "attempt": started.Attempt, "pin": code}, time.Now().Add(30*time.Second))
		if err != nil || a.status != http.StatusOK || a.result() != "authenticated" {
			t.Fatalf("code after the workers' restart = %d %s %v", a.status, a.body, err)
		}
		if got := n.mail.To(email); len(got) != 1 {
			t.Errorf("%d messages after the restart, want exactly 1", len(got))
		}
		t.Logf("worker SIGTERM: both exited after %v with a %v delivery under way (grace %v); /readyz while draining: %v; one message, sign-in completed after restart",
			exitedAfter.Round(time.Millisecond), slow, drainGrace, seen)
	})
}

// waitRead waits until the server has read everything conn sent: the
// server's end of the connection (in /proc/net/tcp) has nothing left in its
// receive queue.
func waitRead(conn net.Conn, timeout time.Duration) error {
	local := conn.LocalAddr().(*net.TCPAddr)
	remote := conn.RemoteAddr().(*net.TCPAddr)
	// The server's end: local address the server's, remote ours.
	want := fmt.Sprintf("%s %s", procAddr(remote), procAddr(local))
	deadline := time.Now().Add(timeout)
	for {
		raw, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return fmt.Errorf("read /proc/net/tcp: %w", err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[1]+" "+f[2] == want && strings.HasSuffix(f[4], ":00000000") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server has not read the request within %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procAddr is how /proc/net/tcp writes an IPv4 address and port.
func procAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}
