package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func passing(context.Context) error { return nil }

func TestReadiness(t *testing.T) {
	// hang ignores its context, as a stuck driver call would.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := func(context.Context) error { <-release; return nil }
	tests := []struct {
		name   string
		checks []Check
		code   int
		want   Report
	}{
		{"every check passing is ready", []Check{
			{Name: "store", Failure: "unreachable", Run: passing},
			{Name: "temporal", Failure: "unreachable", Run: passing},
		}, http.StatusOK, Report{Status: StatusReady, Checks: map[string]string{"store": OK, "temporal": OK}}},
		{"a failing check is named with its word", []Check{
			{Name: "store", Failure: "unreachable", Run: passing},
			{Name: "temporal", Failure: "unreachable", Run: func(context.Context) error { return errors.New("connection refused") }},
		}, http.StatusServiceUnavailable, Report{Status: StatusUnavailable, Checks: map[string]string{"store": OK, "temporal": "unreachable"}}},
		{"a hanging check fails within the timeout", []Check{
			{Name: "store", Failure: "unreachable", Run: hang},
			{Name: "plugins", Failure: "not launched", Run: passing},
		}, http.StatusServiceUnavailable, Report{Status: StatusUnavailable, Checks: map[string]string{"store": "unreachable", "plugins": OK}}},
		{"a panicking check fails without taking the process down", []Check{
			{Name: "store", Failure: "unreachable", Run: func(context.Context) error { panic("nil store") }},
		}, http.StatusServiceUnavailable, Report{Status: StatusUnavailable, Checks: map[string]string{"store": "unreachable"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReadiness(nil, tt.checks...)
			r.timeout = 50 * time.Millisecond
			rec := httptest.NewRecorder()
			began := time.Now()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if took := time.Since(began); took > time.Second {
				t.Errorf("answered in %v", took)
			}
			var got Report
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.code || got.Status != tt.want.Status || len(got.Checks) != len(tt.want.Checks) {
				t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
			}
			for k, v := range tt.want.Checks {
				if got.Checks[k] != v {
					t.Errorf("check %s = %q, want %q", k, got.Checks[k], v)
				}
			}
		})
	}
}

func TestReadinessSharesARecentReport(t *testing.T) {
	runs := 0
	r := NewReadiness(nil, Check{Name: "store", Failure: "unreachable", Run: func(context.Context) error { runs++; return nil }})
	now := time.Now()
	r.now = func() time.Time { return now }
	for range 5 {
		r.Report(context.Background())
	}
	if runs != 1 {
		t.Fatalf("5 probes within a second ran the check %d times", runs)
	}
	now = now.Add(2 * time.Second)
	r.Report(context.Background())
	if runs != 2 {
		t.Fatalf("a probe after a second did not run the check again (%d runs)", runs)
	}
}

func TestDrainingIsNeverReady(t *testing.T) {
	r := NewReadiness(nil, Check{Name: "store", Failure: "unreachable", Run: func(context.Context) error { return nil }})
	if !r.Report(context.Background()).Ready() {
		t.Fatal("a passing check is not ready")
	}
	r.Drain()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("draining /readyz = %d, want 503", rec.Code)
	}
	var got Report
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusUnavailable || got.Checks[CheckShutdown] != Draining {
		t.Fatalf("draining report = %+v", got)
	}
}
