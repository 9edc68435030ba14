package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/api"
)

// TestAppMetrics: /metrics counts the app API's answers by route and
// result, the attempts begun by method, and the calls a per-IP limit
// refused, with no user or address in any label.
func TestAppMetrics(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{configure: func(cfg *api.Config) {
		limit, err := api.ParseIPLimit("1/m,3")
		if err != nil {
			t.Fatal(err)
		}
		cfg.AppIPLimit = limit
	}})
	h.Setup("vpn", []string{"pin"}, "low", "bob", "pin")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "bob"}, http.StatusOK, "success")
	h.Expect("/v1/check", req{"system": "vpn", "authid": "bob"}, http.StatusAccepted, "pending")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "nobody"}, http.StatusForbidden, "security error")
	if res := h.App("/v1/check", req{"system": "vpn", "authid": "bob"}); res.Status != http.StatusTooManyRequests {
		t.Fatalf("fourth app call = %d, want 429 over the 3-call burst", res.Status)
	}

	res, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for _, want := range []string{
		`flexauth_attempts_started_total{method="pin"} 1`,
		`flexauth_app_results_total{result="success",route="/v1/start"} 1`,
		`flexauth_app_results_total{result="security error",route="/v1/start"} 1`,
		`flexauth_app_results_total{result="pending",route="/v1/check"} 1`,
		`flexauth_rate_limited_total{limit="app"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"bob", "nobody", "127.0.0.1"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics name %q", leak)
		}
	}
}
