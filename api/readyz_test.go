package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// healthyTemporal answers health checks; every other call fails.
type healthyTemporal struct{ brokenTemporal }

func (healthyTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

func TestReadyz(t *testing.T) {
	unreachable := brokenTemporal{err: serviceerror.NewUnavailable("dial tcp 10.0.0.9:7233: connection refused")}
	tests := []struct {
		name       string
		wf         workflowClient
		closeStore bool
		plugins    func(context.Context) error
		code       int
		want       map[string]string
	}{
		{"store and temporal answering is ready", healthyTemporal{}, false, nil, http.StatusOK,
			map[string]string{"store": "ok", "temporal": "ok", "plugins": "ok"}},
		{"temporal unreachable is unavailable", unreachable, false, nil, http.StatusServiceUnavailable,
			map[string]string{"store": "ok", "temporal": "unreachable", "plugins": "ok"}},
		{"a closed store is unavailable", healthyTemporal{}, true, nil, http.StatusServiceUnavailable,
			map[string]string{"store": "unreachable", "temporal": "ok", "plugins": "ok"}},
		{"plugins not launched is unavailable", healthyTemporal{}, false, func(context.Context) error { return errors.New("plugin \"mail\" exited") },
			http.StatusServiceUnavailable, map[string]string{"store": "ok", "temporal": "ok", "plugins": "not launched"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			s := newServer(Config{PublicURL: "http://example.com", PluginsReady: tt.plugins}, f.st, tt.wf, f.keys)
			if tt.closeStore {
				must(t, f.st.Close())
			}
			rec := httptest.NewRecorder()
			// Probes come by IP address: any Host is answered.
			r := httptest.NewRequest(http.MethodGet, "/readyz", nil)
			r.Host = "10.1.2.3:8080"
			s.Handler().ServeHTTP(rec, r)
			var got struct {
				Status string
				Checks map[string]string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("readyz = %d %s: %v", rec.Code, rec.Body, err)
			}
			wantStatus := map[int]string{http.StatusOK: "ready", http.StatusServiceUnavailable: "unavailable"}[tt.code]
			if rec.Code != tt.code || got.Status != wantStatus || len(got.Checks) != len(tt.want) {
				t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
			}
			for k, v := range tt.want {
				if got.Checks[k] != v {
					t.Errorf("check %s = %q, want %q (%s)", k, got.Checks[k], v, rec.Body)
				}
			}
			if strings.Contains(rec.Body.String(), "10.0.0.9") || strings.Contains(rec.Body.String(), "closed") {
				t.Errorf("the answer says why a check failed: %s", rec.Body)
			}
		})
	}
}

func TestReadyzWithoutTemporalIsUnavailable(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.server(nil).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"temporal":"unreachable"`) {
		t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
	}
}
