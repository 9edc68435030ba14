package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)

	t.Run("a 2xx answer passes", func(t *testing.T) {
		status = http.StatusOK
		if err := runProbe(context.Background(), []string{srv.URL + "/readyz"}, io.Discard); err != nil {
			t.Fatalf("probe: %v", err)
		}
	})
	t.Run("a 503 answer fails", func(t *testing.T) {
		status = http.StatusServiceUnavailable
		if err := runProbe(context.Background(), []string{srv.URL + "/readyz"}, io.Discard); err == nil {
			t.Fatal("probe of a 503 passed")
		}
	})
	t.Run("no listener fails", func(t *testing.T) {
		if err := runProbe(context.Background(), []string{"--timeout", "1s", "http://127.0.0.1:1/healthz"}, io.Discard); err == nil {
			t.Fatal("probe of a closed port passed")
		}
	})
	t.Run("without a URL it is a usage error", func(t *testing.T) {
		if err := runProbe(context.Background(), nil, io.Discard); err == nil {
			t.Fatal("probe without URL passed")
		}
	})
}
