package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHTTPMetrics(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	s := newServer(Config{PublicURL: "http://example.com", Metrics: reg}, f.st, healthyTemporal{}, f.keys)
	h := s.Handler()
	serve := func(method, target, host string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		if host != "" {
			r.Host = host
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	serve(http.MethodGet, "/v1/admin/users/alice?email=alice@example.com", "")
	serve(http.MethodGet, "/v1/admin/users/bob", "")
	link := serve(http.MethodGet, "/l/secret-link-token", "").Code
	serve(http.MethodGet, "/no/such/route", "")
	serve("BREW", "/healthz", "")

	t.Run("requests are counted by route template, method and status", func(t *testing.T) {
		for _, tt := range []struct {
			labels []string
			want   float64
		}{
			{[]string{"/v1/admin/users/:authid", "GET", "401"}, 2},
			{[]string{"/l/:token", "GET", strconv.Itoa(link)}, 1},
			{[]string{"unmatched", "GET", "404"}, 1},
			{[]string{"unmatched", "other", "405"}, 1},
		} {
			got := testutil.ToFloat64(s.metrics.requests.WithLabelValues(tt.labels...))
			if got != tt.want {
				t.Errorf("requests%v = %v, want %v", tt.labels, got, tt.want)
			}
		}
		if n := testutil.CollectAndCount(s.metrics.duration); n != 4 {
			t.Errorf("%d duration series, want 4 (one per route and method)", n)
		}
	})
	t.Run("/metrics answers any Host and names no user, token or address", func(t *testing.T) {
		rec := serve(http.MethodGet, "/metrics", "10.1.2.3:8080")
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "flexauth_http_requests_total{") ||
			!strings.Contains(body, "flexauth_http_request_duration_seconds_bucket{") {
			t.Fatalf("metrics = %d\n%s", rec.Code, body)
		}
		for _, leak := range []string{"alice", "bob", "secret-link-token", "no/such", "BREW", "192.0.2.1"} {
			if strings.Contains(body, leak) {
				t.Errorf("metrics carry %q:\n%s", leak, body)
			}
		}
	})
}
