package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/health"
)

// A grace that does not parse, or is not positive, stops the start of
// both api and worker before anything opens.
func TestShutdownGraceIsChecked(t *testing.T) {
	runs := map[string]func(context.Context, []string, *slog.Logger) error{"api": runAPI, "worker": runWorker}
	for name, run := range runs {
		for _, grace := range []string{"0s", "-1s", "soon"} {
			err := run(context.Background(), []string{"--shutdown-grace", grace}, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), "--shutdown-grace") {
				t.Errorf("%s --shutdown-grace %s: %v, want an error naming the flag", name, grace, err)
			}
		}
	}
}

func TestDrainDelayIsChecked(t *testing.T) {
	for _, delay := range []string{"-1s", "soon"} {
		err := runAPI(context.Background(), []string{"--drain-delay", delay}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "--drain-delay") {
			t.Errorf("api --drain-delay %s: %v, want an error naming the flag", delay, err)
		}
	}
}

// drainingReadiness is the API's part in the stop: /readyz and Shutdown.
type drainingReadiness struct{ *health.Readiness }

func (drainingReadiness) Shutdown(context.Context) error { return nil }

// Once stopping, a server with a drain delay keeps serving with /readyz
// answering 503 for the delay, and only then closes its listener.
func TestDrainDelayAnswersUnreadyThenCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ready := drainingReadiness{health.NewReadiness(nil)}
	mux := http.NewServeMux()
	mux.Handle("/readyz", ready)
	ctx, cancel := context.WithCancel(context.Background())
	const delay = 1500 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		done <- serveHTTPGrace(ctx, newHTTPServer(addr, mux), stopping{drainDelay: delay, grace: time.Second}, ready)
	}()
	probe := func() (int, error) {
		c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, err := probe()
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never answered ready: %d %v", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	stopAt := time.Now()
	cancel()
	time.Sleep(100 * time.Millisecond)
	code, err := probe()
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("while draining /readyz = %d %v, want 503 from a server still serving", code, err)
	}
	select {
	case err := <-done:
		t.Fatalf("the server stopped %v after the signal, inside its drain delay of %v (%v)", time.Since(stopAt), delay, err)
	default:
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("stop: %v", err)
	}
	if waited := time.Since(stopAt); waited < delay {
		t.Fatalf("the listener closed %v after the signal, before the drain delay of %v", waited, delay)
	}
	if _, err := probe(); err == nil {
		t.Fatal("the server still accepts connections after it stopped")
	}
}
